"""The paper's five claims measured on a reproduction's runs, each with an interval and a verdict.

Pure functions over the rows of ``reproduction.parquet`` (plain dicts). Every
claim row carries the paper's figure, ours with its 95% interval, the number
of runs it rests on, a verdict and the rule that gave it. The rules
(:data:`VERDICT_RULES`) are stated once here and printed in the report:

* **more / greater** (claims 1, 3, 5): *reproduced* when the interval lies
  above the null value; *not reproduced* when it lies below ``null + margin``
  (the data exclude an effect of the claimed size ``margin``); otherwise
  *inconclusive*.
* **at most** (claim 2): *reproduced* when the interval's upper end is at or
  below the paper's bound; *not reproduced* when its lower end is above it;
  otherwise *inconclusive*. For a worst case (the largest gain over runs) the
  bootstrap interval's upper end is the observed maximum, so one run over the
  bound already withholds "reproduced", and several make it "not reproduced".
* **consistent with a value** (claim 4's r²): *not reproduced* when the
  paper's value lies outside our interval; *reproduced* when our whole
  interval lies within the paper's value ± 0.15 (equivalence); otherwise
  *inconclusive* (too few outcomes to tell).
* **spectrum** (claim 4): *reproduced* with at least two equilibria distinct
  beyond evaluation noise, each with bootstrap stability >= 0.6, in at least
  two regimes (qualitatively distinct, as the paper claims); *not reproduced*
  with a single equilibrium or a single regime among stable ones; otherwise
  *inconclusive*.

Intervals: Wilson for proportions, Newcombe's hybrid score interval for a
difference of proportions, percentile bootstrap (2000 resamples, seed 0) for
medians, maxima, ratios and r² (:mod:`analysis.stats`).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from analysis.stats import bootstrap_ci, newcombe_difference, wilson_interval

__all__ = ["INCONCLUSIVE", "NOT_REPRODUCED", "REPRODUCED", "VERDICT_RULES", "ClaimRow", "TableThreeRow",
           "evaluate_claims", "fixed_tax_table", "table_three", "verdict_at_most", "verdict_consistent",
           "verdict_greater", "verdict_spectrum"]

REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE = "reproduced", "not reproduced", "inconclusive"

VERDICT_RULES = {
    "greater": "reproduced if the 95% interval lies above the null value; not reproduced if it lies below "
               "null + margin (an effect of the claimed size is excluded); else inconclusive",
    "at_most": "reproduced if the 95% interval's upper end is at or below the paper's bound; not reproduced if "
               "its lower end is above it; else inconclusive",
    "consistent": "not reproduced if the paper's value is outside our 95% interval; reproduced if our whole "
                  "interval lies within the paper's value ± 0.15; else inconclusive",
    "spectrum": "reproduced with >= 2 equilibria distinct beyond evaluation noise, each with bootstrap stability "
                ">= 0.6, spanning >= 2 regimes; not reproduced with 1 equilibrium, or stable equilibria all in one "
                "regime; else inconclusive",
}
PAPER_TOLERANCE = {"consumer": 0.03, "firm": 0.10, "government": 0.01}
"""The paper's worst-case best-response gains (relative)."""
PAPER_TYPICAL = {"consumer": 0.002, "firm": 0.05, "government": 0.001}
"""The paper's typical best-response gains (relative)."""
PAPER_R2 = {"price~consumption": 0.73, "wage~hours": 0.19, "reward_consumer~reward_firm": 0.25,
            "income_tax~welfare": 0.06}
PAPER_WELFARE_RATIO = 1.15
EPSILON_CAP = 1e6
"""Relative gains above this (or infinite ones: a reward of exactly 0 before) count as this."""
RESAMPLES = 2000


def verdict_greater(low: float, high: float, null: float, margin: float = 0.0) -> str:
    if not (math.isfinite(low) and math.isfinite(high)):
        return INCONCLUSIVE
    if low > null:
        return REPRODUCED
    if high < null + margin:
        return NOT_REPRODUCED
    return INCONCLUSIVE


def verdict_at_most(low: float, high: float, bound: float) -> str:
    if math.isnan(low) or math.isnan(high):
        return INCONCLUSIVE
    if high <= bound:
        return REPRODUCED
    if low > bound:
        return NOT_REPRODUCED
    return INCONCLUSIVE


def verdict_consistent(low: float, high: float, value: float, margin: float = 0.15) -> str:
    if not (math.isfinite(low) and math.isfinite(high)):
        return INCONCLUSIVE
    if not low <= value <= high:
        return NOT_REPRODUCED
    return REPRODUCED if value - margin <= low and high <= value + margin else INCONCLUSIVE


def verdict_spectrum(stabilities: Sequence[float], regimes: Sequence[str]) -> str:
    """``stabilities[i]`` and ``regimes[i]`` of equilibrium ``i`` (its centroid's regime)."""
    if len(stabilities) == 0:
        return INCONCLUSIVE
    if len(stabilities) == 1:
        return NOT_REPRODUCED
    stable = [g for s, g in zip(stabilities, regimes) if math.isfinite(s) and s >= 0.6]
    if len(stable) >= 2:
        return REPRODUCED if len(set(stable)) >= 2 else NOT_REPRODUCED
    return INCONCLUSIVE


@dataclass(frozen=True)
class ClaimRow:
    """One row of the report's claims table."""

    claim: str
    """``1`` ... ``5`` (a letter for sub-rows)."""
    statement: str
    paper: str
    ours: str
    estimate: float
    low: float
    high: float
    n: int
    """Runs the row rests on."""
    verdict: str
    rule: str
    """Key of :data:`VERDICT_RULES`, with its parameters."""


def _fmt(x: float, pct: bool = False) -> str:
    if not math.isfinite(x):
        return "–" if math.isnan(x) else ("∞" if x > 0 else "-∞")
    return f"{100 * x:.3g}%" if pct else f"{x:.3g}"


def _interval(est: float, low: float, high: float, pct: bool = False) -> str:
    return f"{_fmt(est, pct)} [{_fmt(low, pct)}, {_fmt(high, pct)}]"


def _eps(row: dict[str, Any], agent_type: str) -> float:
    v = row.get(f"epsilon_rel_{agent_type}")
    if v is None or math.isnan(v):
        return math.nan
    return min(float(v), EPSILON_CAP)


def _boot(values: Sequence[float], stat: Callable[[Sequence[float]], float]) -> tuple[float, float, float]:
    values = [v for v in values if not math.isnan(v)]
    if not values:
        return math.nan, math.nan, math.nan
    low, high = bootstrap_ci(values, stat, resamples=RESAMPLES)
    return stat(values), low, high


def learned(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in rows if r["experiment"] == "curricula"]


# ---------------------------------------------------------------- claim 2: Table 3
@dataclass(frozen=True)
class TableThreeRow:
    """The paper's Table 3 layout: one agent type in one economy, over the non-collapsed learned runs."""

    agent_type: str
    economy: str
    n: int
    worst: float
    worst_low: float
    worst_high: float
    median: float
    median_low: float
    median_high: float
    passing: int
    """Runs whose gain is within the paper's worst-case tolerance."""


def table_three(rows: list[dict[str, Any]]) -> list[TableThreeRow]:
    out = []
    ok = [r for r in learned(rows) if not r["collapsed"]]
    for t in PAPER_TOLERANCE:
        for economy in ("open", "closed"):
            eps = [_eps(r, t) for r in ok if r["economy"] == economy]
            eps = [e for e in eps if not math.isnan(e)]
            worst = _boot(eps, max)
            median = _boot(eps, statistics.median)
            out.append(TableThreeRow(t, economy, len(eps), *worst, *median,
                                     sum(e <= PAPER_TOLERANCE[t] for e in eps)))
    return out


# ---------------------------------------------------------------- claim 3: fixed taxes
def fixed_points(rows: list[dict[str, Any]]) -> dict[tuple[float, float], list[float]]:
    """Welfare of the finished fixed-tax runs, by (income tax, corporate tax) point."""
    points: dict[tuple[float, float], list[float]] = {}
    for r in rows:
        if r["experiment"] == "fixed_tax" and r["status"] == "ok":
            points.setdefault((r["fixed_income_tax"], r["fixed_corporate_tax"]), []).append(r["welfare"])
    return points


def learned_welfare(rows: list[dict[str, Any]], curriculum: str) -> list[float]:
    """Welfare of the finished open-economy runs in which the government learned, with ``curriculum``:
    the counterpart of the fixed-tax runs."""
    return [r["welfare"] for r in learned(rows) if r["economy"] == "open" and r["curriculum"] == curriculum
            and r["status"] == "ok"]


def fixed_tax_table(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mean welfare (with a t interval) per fixed (income, corporate) tax point."""
    from analysis.stats import mean_ci

    out = []
    for (income, corporate), values in sorted(fixed_points(rows).items()):
        mean, half = mean_ci(values)
        out.append({"income_tax": income, "corporate_tax": corporate, "n": len(values), "welfare": mean,
                    "ci95": half})
    return out


def welfare_ratio(learned_welfare: list[float], fixed: dict[tuple[float, float], list[float]],
                  alpha: float = 0.05) -> tuple[float, float, float, tuple[float, float]]:
    """Learned mean welfare / the best fixed point's mean welfare, its simultaneous 95% interval, and the
    best point.

    The statistic is ``min_k L / F_k`` over the fixed points ``k``: the learned policy against the best
    fixed one is the learned policy against every fixed one. Each ratio gets a delta-method t interval on
    its log, ``log(L / F_k) ± t sqrt(s_L² / (n_L L²) + s_p² / (n_k F_k²))``, with the fixed points' seed
    variance pooled (``s_p²``, the same economy at each point; two seeds a point leave one degree of
    freedom each otherwise), Welch-Satterthwaite degrees of freedom, and the t quantile at
    ``1 - alpha / (2 K)`` for ``K`` points (Bonferroni), so that every ratio is inside its interval with
    probability >= 95% at once, and then ``min_k`` of them is inside ``[min_k lo_k, min_k hi_k]``.

    Until 2026-12-04 this was a percentile bootstrap resampling each point's seeds and re-choosing the best
    point: the maximum of noisy means is not a smooth statistic, and two seeds a point understate each
    mean's spread, so simulated with the small scale's layout (6 learned seeds, 9 points x 2 seeds) it
    covered the true ratio 84% of the time when the points' welfare differed by one standard deviation of
    a seed, and 28% of the time when they were equal; this interval covers it 98-100% (decision 54).
    """
    from analysis.stats import t_quantile

    if not learned_welfare or not fixed:
        return math.nan, math.nan, math.nan, (math.nan, math.nan)
    best_point = max(fixed, key=lambda k: statistics.fmean(fixed[k]))
    n_l, big_l = len(learned_welfare), statistics.fmean(learned_welfare)
    ratio = big_l / statistics.fmean(fixed[best_point]) if statistics.fmean(fixed[best_point]) > 0 else math.nan
    df_pooled = sum(len(v) - 1 for v in fixed.values())
    if n_l < 2 or df_pooled < 1 or big_l <= 0 or any(statistics.fmean(v) <= 0 for v in fixed.values()):
        return ratio, math.nan, math.nan, best_point
    pooled = sum(sum((x - statistics.fmean(v)) ** 2 for x in v) for v in fixed.values()) / df_pooled
    var_l = statistics.variance(learned_welfare) / n_l / big_l ** 2
    lows, highs = [], []
    for values in fixed.values():
        f = statistics.fmean(values)
        var_f = pooled / len(values) / f ** 2
        var = var_l + var_f
        if var == 0:
            lows.append(big_l / f)
            highs.append(big_l / f)
            continue
        df = var ** 2 / (var_l ** 2 / (n_l - 1) + var_f ** 2 / df_pooled)
        q = t_quantile(1 - alpha / (2 * len(fixed)), df)
        centre = math.log(big_l / f)
        lows.append(math.exp(centre - q * math.sqrt(var)))
        highs.append(math.exp(centre + q * math.sqrt(var)))
    return ratio, min(lows), min(highs), best_point


# ---------------------------------------------------------------- all claims
def evaluate_claims(rows: list[dict[str, Any]], analysis_config=None, fixed_curriculum: str = "paper") -> list[ClaimRow]:
    """Every claim row, in the paper's order (see the module docstring for the rules)."""
    from analysis.cluster import cluster_outcomes
    from analysis.plots import fit_r2, relation_r2
    from pbt_econ.economies.rbc.plugin import RELATIONS  # the paper's claims are about the RBC

    claims: list[ClaimRow] = []
    cur = learned(rows)

    # 1. collapse without curricula
    def rate(curriculum: str, economies: tuple[str, ...]) -> tuple[int, int]:
        group = [r for r in cur if r["curriculum"] == curriculum and r["economy"] in economies]
        return sum(bool(r["collapsed"]) for r in group), len(group)

    for tag, economies in (("1", ("open", "closed")), ("1a", ("open",)), ("1b", ("closed",))):
        (s_none, n_none), (s_paper, n_paper) = rate("none", economies), rate("paper", economies)
        d, lo, hi = newcombe_difference(s_none, n_none, s_paper, n_paper)
        where = "both economies" if len(economies) == 2 else f"{economies[0]} economy"
        claims.append(ClaimRow(
            tag, f"Without curricula training collapses more often ({where}): collapse rate none − paper",
            "more often (no rate given)",
            f"{s_none}/{n_none} vs {s_paper}/{n_paper}; difference {_interval(d, lo, hi)}", d, lo, hi,
            n_none + n_paper, verdict_greater(lo, hi, 0.0), "greater (null 0, margin 0)"))

    # 2. best-response gains (Table 3), pooled over economies per type
    ok = [r for r in cur if not r["collapsed"]]
    for t in PAPER_TOLERANCE:
        eps = [e for e in (_eps(r, t) for r in ok) if not math.isnan(e)]
        worst, wl, wh = _boot(eps, max)
        claims.append(ClaimRow(
            f"2-{t}", f"Worst-case best-response gain of {t}s", f"< {_fmt(PAPER_TOLERANCE[t], True)}",
            _interval(worst, wl, wh, True), worst, wl, wh, len(eps),
            verdict_at_most(wl, wh, PAPER_TOLERANCE[t]), f"at_most ({_fmt(PAPER_TOLERANCE[t], True)})"))
        med, ml, mh = _boot(eps, statistics.median)
        claims.append(ClaimRow(
            f"2-{t}-typical", f"Typical (median) best-response gain of {t}s", f"< {_fmt(PAPER_TYPICAL[t], True)}",
            _interval(med, ml, mh, True), med, ml, mh, len(eps),
            verdict_at_most(ml, mh, PAPER_TYPICAL[t]), f"at_most ({_fmt(PAPER_TYPICAL[t], True)})"))

    # 3. learned vs best fixed tax
    lw, fixed = learned_welfare(rows, fixed_curriculum), fixed_points(rows)
    ratio, lo, hi, best = welfare_ratio(lw, fixed)
    claims.append(ClaimRow(
        "3", "Learned tax policy vs the best fixed tax rate: welfare ratio (open economy)",
        f"≈ {PAPER_WELFARE_RATIO:.2f} (about 15% more)",
        f"{_interval(ratio, lo, hi)} (best fixed: income {best[0]:g}, corporate {best[1]:g})", ratio, lo, hi,
        len(lw) + sum(len(v) for v in fixed.values()), verdict_greater(lo, hi, 1.0, 0.05),
        "greater (null 1, margin 0.05)"))

    # 4. spectrum and relations, open economy
    open_rows = [r for r in cur if r["economy"] == "open" and r["status"] == "ok"]
    if open_rows:
        clustering = cluster_outcomes(open_rows, analysis_config)
        stabilities = [q.stability for q in clustering.equilibria]
        from analysis.schema import regime_of
        from pbt_econ.economies.rbc.plugin import REGIMES

        regimes = sorted({regime_of(r, REGIMES) for r in open_rows})
        sizes = ", ".join(str(q.size) for q in clustering.equilibria)
        claims.append(ClaimRow(
            "4", "The open economy has a spectrum of distinct equilibria", "several distinct ε-meta-equilibria",
            f"{len(stabilities)} equilibria (sizes {sizes}; stabilities "
            f"{', '.join(_fmt(s) for s in stabilities)}) in {len(regimes)} regime(s) ({', '.join(regimes)}) "
            f"from {len(open_rows)} outcomes", float(len(stabilities)), math.nan, math.nan, len(open_rows),
            verdict_spectrum(stabilities, [q.regime for q in clustering.equilibria]), "spectrum"))
    for i, (xk, yk, caption) in enumerate(RELATIONS):
        key = f"{xk}~{yk}"
        r2, lo, hi = relation_r2(open_rows, xk, yk, resamples=RESAMPLES) if open_rows else (math.nan,) * 3
        slope = math.nan
        if open_rows:
            import numpy as np

            slope = fit_r2(np.array([r[xk] for r in open_rows], float), np.array([r[yk] for r in open_rows], float))[0]
        sign = "" if math.isnan(slope) else (" (slope +)" if slope > 0 else " (slope −)")
        claims.append(ClaimRow(
            f"4{'abcd'[i]}", f"Relation across open outcomes: {caption.split(' (')[0]}", f"r² = {PAPER_R2[key]:.2f}",
            f"r² = {_interval(r2, lo, hi)}{sign}", r2, lo, hi, len(open_rows),
            verdict_consistent(lo, hi, PAPER_R2[key]), "consistent (± 0.15)"))

    # 5. closed economy: mostly low-wage, low-production
    closed = [r for r in cur if r["economy"] == "closed"]
    low_outcomes = sum(r["regime"] in ("trivial", "low-activity", "diverged") for r in closed)
    lo, hi = wilson_interval(low_outcomes, len(closed))
    share = low_outcomes / len(closed) if closed else math.nan
    claims.append(ClaimRow(
        "5", "The closed economy mostly ends in low-wage, low-production outcomes (trivial or low-activity regime)",
        "mostly", f"{low_outcomes}/{len(closed)} = {_interval(share, lo, hi, True)}", share, lo, hi, len(closed),
        verdict_greater(lo, hi, 0.5), "greater (null 0.5, margin 0)"))
    return claims
