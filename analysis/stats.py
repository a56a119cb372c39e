"""Small statistics used by benchmarks and reports: Wilson, t and bootstrap intervals.

Written here rather than imported from SciPy because each is a few lines and
SciPy is not otherwise a dependency; the t quantile comes from
``statistics.NormalDist`` with a Cornish-Fisher correction, accurate to
about 1e-3 for ``df >= 3`` (checked against tables in the tests).
"""

from __future__ import annotations

import math
import random
import statistics
from collections.abc import Callable, Sequence

__all__ = ["bootstrap_ci", "mean_ci", "t_quantile", "wilson_interval"]


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


def t_quantile(p: float, df: int) -> float:
    """Quantile ``p`` of Student's t with ``df`` degrees of freedom (Cornish-Fisher expansion)."""
    z = statistics.NormalDist().inv_cdf(p)
    g1 = (z**3 + z) / 4
    g2 = (5 * z**5 + 16 * z**3 + 3 * z) / 96
    g3 = (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / 384
    g4 = (79 * z**9 + 776 * z**7 + 1482 * z**5 - 1920 * z**3 - 945 * z) / 92160
    return z + g1 / df + g2 / df**2 + g3 / df**3 + g4 / df**4


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
