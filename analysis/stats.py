"""Small statistics used by benchmarks and reports: Wilson, t and bootstrap intervals.

Quantiles come from SciPy (``scipy.stats``, already required by
scikit-learn). The Wilson interval and the percentile bootstrap are a few
lines each, written here so that they work on plain Python lists with a
seeded ``random.Random`` (reproducible reports); the tests check them
against published values.
"""

from __future__ import annotations

import math
import random
import statistics
from collections.abc import Callable, Sequence

__all__ = ["bootstrap_ci", "chao1", "mean_ci", "newcombe_difference", "t_quantile", "wilson_interval"]


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion ``successes / n``; ``(nan, nan)`` when ``n == 0``."""
    if n == 0:
        return math.nan, math.nan
    z = statistics.NormalDist().inv_cdf(0.5 + confidence / 2)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def newcombe_difference(s1: int, n1: int, s2: int, n2: int, confidence: float = 0.95) -> tuple[float, float, float]:
    """Difference of two proportions ``s1/n1 - s2/n2`` with Newcombe's (1998, method 10) hybrid score
    interval, built from the two Wilson intervals; ``(nan, nan, nan)`` when either ``n`` is 0."""
    if n1 == 0 or n2 == 0:
        return math.nan, math.nan, math.nan
    p1, p2 = s1 / n1, s2 / n2
    l1, u1 = wilson_interval(s1, n1, confidence)
    l2, u2 = wilson_interval(s2, n2, confidence)
    d = p1 - p2
    low = d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return d, low, high


def t_quantile(p: float, df: int) -> float:
    """Quantile ``p`` of Student's t with ``df`` degrees of freedom."""
    from scipy.stats import t

    return float(t.ppf(p, df))


def mean_ci(values: Sequence[float], confidence: float = 0.95) -> tuple[float, float]:
    """Mean and the half-width of its t interval (``nan`` half-width for fewer than 2 values)."""
    xs = [float(v) for v in values if v is not None and math.isfinite(v)]
    if not xs:
        return math.nan, math.nan
    m = sum(xs) / len(xs)
    if len(xs) < 2:
        return m, math.nan
    sd = statistics.stdev(xs)
    return m, t_quantile(0.5 + confidence / 2, len(xs) - 1) * sd / math.sqrt(len(xs))


def bootstrap_ci(data: Sequence, statistic: Callable[[Sequence], float], resamples: int = 2000,
                 confidence: float = 0.95, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of ``statistic(data)`` (resampling items of ``data`` with replacement)."""
    rng = random.Random(seed)
    n = len(data)
    stats = []
    for _ in range(resamples):
        sample = [data[rng.randrange(n)] for _ in range(n)]
        value = statistic(sample)
        if value is not None and math.isfinite(value):
            stats.append(value)
    if not stats:
        return math.nan, math.nan
    stats.sort()
    lo = stats[int(math.floor((1 - confidence) / 2 * (len(stats) - 1)))]
    hi = stats[int(math.ceil((1 + confidence) / 2 * (len(stats) - 1)))]
    return lo, hi


def chao1(counts: list[int]) -> tuple[float, float, float]:
    """Estimated total number of classes, with a 95% interval, from how often each seen class was seen.

    ``counts[i]`` = how many outcomes fell into seen equilibrium ``i``. Bias-corrected Chao1:
    ``S = S_obs + f1 (f1 - 1) / (2 (f2 + 1))``; interval by Chao's (1987) log-normal method, whose
    lower end is never below ``S_obs``. Returns ``(estimate, low, high)``.
    """
    counts = [c for c in counts if c > 0]
    s_obs = len(counts)
    f1 = sum(1 for c in counts if c == 1)
    f2 = sum(1 for c in counts if c == 2)
    estimate = s_obs + f1 * (f1 - 1) / (2 * (f2 + 1))
    unseen = estimate - s_obs
    if unseen <= 0:
        return float(s_obs), float(s_obs), float(s_obs)
    # Variance of the bias-corrected estimator (Chao 2005)
    var = (f1 * (f1 - 1) / (2 * (f2 + 1)) + f1 * (2 * f1 - 1) ** 2 / (4 * (f2 + 1) ** 2)
           + f1**2 * f2 * (f1 - 1) ** 2 / (4 * (f2 + 1) ** 4))
    c = math.exp(1.96 * math.sqrt(math.log(1 + var / unseen**2)))
    return float(estimate), float(s_obs + unseen / c), float(s_obs + unseen * c)
