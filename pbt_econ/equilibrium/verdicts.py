"""ε with error bars: paired intervals of a deviation's gain and the three verdicts (docs/model.md §6).

A deviation and its "before" are evaluated on the same seed with the same number of episodes, so the
``i``-th economy copy of both sees the same random numbers (common random numbers). The gain's
interval therefore comes from the paired differences ``d_i = after_i - before_i``: the mean, ``z`` standard
errors either side (``z`` widened for sequential looks, :mod:`pbt_econ.equilibrium.sequential`), both ends
corrected for the differences' skewness (:func:`pbt_econ.core.stats.skewed_interval`).

The relative gain divides by the reference (the training improvement, else ``|before|``), taken as
fixed. With ``[lo, hi]`` that interval of the relative gain and ``tol`` the type's tolerance:

* ``verified``: ``hi < tol``;
* ``violated``: ``lo > tol``;
* ``inconclusive``: otherwise (the interval contains the tolerance, or it is undefined).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

__all__ = ["CERTIFICATES", "VERDICTS", "nash_conv", "rank", "reference", "relative", "relative_epsilon", "verdict", "worst_verdict"]

VERDICTS = ("verified", "inconclusive", "violated")
"""From best to worst."""


def verdict(gain: float, ci95: float, reference: float, tolerance: float, upper: float | None = None) -> str:
    """The verdict of a relative gain ``gain / reference`` with half-width ``ci95 / reference`` (below the
    gain; ``upper``: a different half-width above it, for an interval corrected for skewness,
    :func:`pbt_econ.core.stats.skewed_interval`).

    ε is the gain clipped at 0 (a deviation that loses is no deviation), and clipping is monotone, so
    the interval ``[g - h, g + h]`` of the gain gives ``[max(0, g - h), max(0, g + h)]`` for ε with the
    same coverage; with a positive tolerance, ``ε <= tol`` exactly when the gain's upper end is. (Until
    2026-12-02 the upper end was ``max(g, 0) + h``: a deviation that lost 47% ± 13% of the reward was
    undecided against a 10% tolerance; decision 50.)"""
    if not (math.isfinite(reference) and reference > 0) or not math.isfinite(gain):
        return "inconclusive"
    half = ci95 if math.isfinite(ci95) else math.inf
    above = half if upper is None else (upper if math.isfinite(upper) else math.inf)
    lo, hi = (gain - half) / reference, (gain + above) / reference
    if hi < tolerance:
        return "verified"
    if lo > tolerance:
        return "violated"
    return "inconclusive"


def worst_verdict(verdicts: Iterable[str]) -> str:
    """The worst of ``verdicts`` (``inconclusive`` if there are none)."""
    seen = [v for v in verdicts if v in VERDICTS]
    return max(seen, key=VERDICTS.index) if seen else "inconclusive"


CERTIFICATES = ("constant", "endgame")
"""``start`` values of best-response rows found by enumeration, not training (exact certificates)."""


def relative_epsilon(row) -> float:
    """The one relative-ε rule: the gain over the training improvement, else over ``|reward before|``
    (``epsilon_rel_improvement``, or ``epsilon_rel`` when the improvement is not positive)."""
    return relative(row.epsilon_rel, row.epsilon_rel_improvement)


def relative(rel: float, rel_improvement: float) -> float:
    """The rule on the two numbers (a row's ``epsilon_rel`` and ``epsilon_rel_improvement``)."""
    return rel if math.isnan(rel_improvement) else rel_improvement


def rank(row) -> float:
    """The one scale on which deviations of different types are compared: the relative gain over the
    type's tolerance (``relative_epsilon(row) / tolerance``; 1 = exactly at the tolerance). Rounds of the
    solver are ranked and pool entries weighted on it."""
    tol = row.tolerance
    eps = max(0.0, relative_epsilon(row))
    if not math.isfinite(eps):
        return math.inf
    return eps / tol if tol > 0 else (0.0 if eps == 0 else math.inf)


def nash_conv(rows) -> dict[str, float]:
    """Per type, NashConv: the sum over the type's checked agents of each agent's best gain
    (``epsilon_abs``, reward units: the largest over that agent's unilateral rows, trained and certified).
    A type of one agent (no unilateral rows) counts its type-level rows as that agent's. OpenSpiel's
    ``nash_conv`` restricted to the agents checked."""
    out: dict[str, float] = {}
    for t in dict.fromkeys(r.agent_type for r in rows):
        mine = [r for r in rows if r.agent_type == t]
        uni = [r for r in mine if r.deviation == "unilateral"]
        best: dict[int, float] = {}
        for r in uni or mine:
            best[r.agent] = max(best.get(r.agent, 0.0), r.epsilon_abs)
        out[t] = sum(best.values())
    return out


def reference(row) -> float:
    """The denominator of a row's relative gain: the training improvement ``reward_before -
    reward_untrained`` when positive, else ``|reward_before|`` (NaN when neither is positive)."""
    improvement = row.reward_before - row.reward_untrained
    if improvement > 0:
        return improvement
    return abs(row.reward_before) if row.reward_before != 0 else math.nan
