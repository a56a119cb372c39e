"""Rows of ``best_response.parquet`` and what one best-response check returns."""

from __future__ import annotations

import math
from dataclasses import dataclass

from pbt_econ.core.stats import Z95, ci95, paired_gain, skewed_interval
from pbt_econ.equilibrium.sequential import power as power_at
from pbt_econ.equilibrium.verdicts import CERTIFICATES, relative, verdict
from pbt_econ.learning.records import EvalResult

__all__ = ["BestResponseReport", "BestResponseRow", "make_row"]


@dataclass(frozen=True)
class BestResponseRow:
    """One row of ``best_response.parquet``: one (member, type, start) deviation.

    Rewards are mean per-agent episode returns of ``agent_type`` (the economy's reward descriptor); ``*_ci95`` are half-widths of normal 95% intervals.
    """

    member_id: str
    agent_type: str
    start: str
    """``learned`` (continue from the member's policy), ``scratch`` (fresh policy), ``constant``
    (an exact certificate: one constant action, no training) or ``endgame`` (a certificate: one action at
    one of the last steps, ``action = "step=<s>:..."``)."""
    episodes: int
    reward_before: float
    reward_before_ci95: float
    reward_after: float
    reward_after_ci95: float
    reward_untrained: float
    """The type's reward under the untrained policies (start of the member's training)."""
    epsilon_abs: float
    epsilon_rel: float
    """``epsilon_abs / |reward_before|``."""
    epsilon_rel_improvement: float
    """``epsilon_abs / (reward_before - reward_untrained)``; NaN if training did not improve."""
    tolerance: float
    passes: bool
    """``epsilon_rel_improvement <= tolerance`` (``epsilon_rel`` when that is NaN)."""
    member_episode: int
    eval_seed: int
    deviation: str = "type"
    """``type`` (every agent of the type deviates together) or ``unilateral`` (one agent, ``agent``)."""
    agent: int = -1
    """The deviating agent's index for a unilateral deviation (-1: type-level)."""
    action: str = ""
    """The constant action of a certificate (``start = constant``), as ``name=value`` pairs."""
    gain_ci95: float = float("nan")
    """``z`` times the standard error of the paired per-economy differences (common random numbers), in
    reward units: the interval's half-width before its skewness correction (``gain_low``, ``gain_high``);
    NaN when not computable."""
    verdict: str = ""
    """``verified`` (interval of the relative gain below the tolerance), ``violated`` (above it) or
    ``inconclusive`` (docs/model.md §6); a trained deviation that had not converged is never ``verified``."""
    gain_quarter: float = float("nan")
    """Trained deviations: the gain (after - before) after a quarter of ``episodes``; NaN for certificates."""
    gain_half: float = float("nan")
    """Trained deviations: the gain after half of ``episodes``."""
    eval_episodes: int = 0
    """Evaluation episodes (of ``batch_size`` copies) behind ``reward_before``/``reward_after``: more than
    ``best_response.eval_episodes`` when sequential evaluation had to add episodes to decide the verdict."""
    converged: bool = True
    """Trained deviations: the last half of the budget added less than half the tolerance (relative to
    the same reference as ``epsilon_rel_improvement``); certificates are exact, so always true."""
    gain_low: float = float("nan")
    """Lower end of the gain's interval the verdict reads (reward units; corrected for skewness, so not
    always ``gain - gain_ci95``)."""
    gain_high: float = float("nan")
    """Upper end of that interval."""
    z: float = Z95
    """The normal quantile of the interval: ``Φ⁻¹(1 - 0.05 / (2 K))`` with ``K`` the most looks of
    sequential evaluation (1.96 without it), so that the verdict holds at 95% over every look."""
    half_width_rel: float = float("nan")
    """``gain_ci95`` relative to the same reference as ``epsilon_rel_improvement``."""
    interval_verdict: str = ""
    """The verdict of the interval alone (``verdict`` differs only for an unconverged trained deviation)."""
    power: float = float("nan")
    """P(decided) at this row's standard error for a true relative gain half a tolerance from the
    tolerance: ``Φ(tol / (2 se) - z)``."""
    candidates_open: int = 0
    """Certificates: the candidates other than the chosen one whose upper bound still reached the
    tolerance at the last look (a certificate is ``verified`` only when none is left); 0 for trained rows."""
    selection_seed: int = -1
    """Certificates: the evaluation seed the best action was chosen on (``eval_seed`` is the fresh one its
    verdict was decided on); -1 for trained deviations, whose training chose them."""


@dataclass(frozen=True)
class BestResponseReport:
    """What :func:`best_response` measured: one row per deviation, and the shared evaluations.

    ``before`` describes the member's outcome (its ``stats.descriptors`` go
    into ``outcomes.parquet``); ``untrained`` is the same evaluation of the
    member's policies at episode 0.
    """

    rows: list[BestResponseRow]
    before: EvalResult
    untrained: EvalResult


def make_row(*, member_id: str, agent_type: str, start: str, episodes: int, before: list[float],
             after: list[float], untrained: float, tolerance: float, member_episode: int, eval_seed: int,
             deviation: str = "type", agent: int = -1, action: str = "",
             gains_along: tuple[float, float] = (math.nan, math.nan), eval_episodes: int = 0,
             z: float = Z95, selection_seed: int = -1) -> BestResponseRow:
    """One row from paired per-economy returns ``before`` and ``after`` (the deviating agents' own mean
    episode returns, common random numbers). ``untrained``: the reference policy's mean return (the
    relative gain divides by ``before - untrained`` when positive, else by ``|before|``);
    ``gains_along``: a trained deviation's gains at a quarter and half of its budget; ``z``: the quantile
    the verdict's interval is read with (:func:`pbt_econ.equilibrium.sequential.look_z`)."""
    r_before, r_after = sum(before) / len(before), sum(after) / len(after)
    eps = max(0.0, r_after - r_before)
    improvement = r_before - untrained
    rel = eps / abs(r_before) if r_before != 0 else (0.0 if eps == 0 else math.inf)
    rel_imp = eps / improvement if improvement > 0 else math.nan
    gain, ci = paired_gain(after, before)
    half = ci / Z95 * z if math.isfinite(ci) else math.nan
    _, below, above = skewed_interval([a - b for a, b in zip(after, before)], z)
    if not math.isfinite(below):  # fewer than 3 pairs: the symmetric interval (NaN with fewer than 2)
        below = above = half
    reference = improvement if improvement > 0 else abs(r_before)
    half_rel = half / reference if reference > 0 else math.nan
    trained = start not in CERTIFICATES
    converged = True
    if trained:
        last_half = r_after - r_before - gains_along[1]
        converged = bool(math.isfinite(last_half) and reference > 0 and last_half / reference < tolerance / 2)
    decided = verdict(gain, below, reference, tolerance, upper=above)
    final = "inconclusive" if decided == "verified" and not converged else decided
    return BestResponseRow(
        member_id=member_id, agent_type=agent_type, start=start, episodes=episodes,
        reward_before=r_before, reward_before_ci95=ci95(before), reward_after=r_after, reward_after_ci95=ci95(after),
        reward_untrained=untrained, epsilon_abs=eps, epsilon_rel=rel, epsilon_rel_improvement=rel_imp,
        tolerance=tolerance, passes=bool(relative(rel, rel_imp) <= tolerance),
        member_episode=member_episode, eval_seed=eval_seed, deviation=deviation, agent=agent, action=action,
        gain_ci95=half, gain_low=gain - below, gain_high=gain + above, verdict=final, gain_quarter=gains_along[0],
        gain_half=gains_along[1], eval_episodes=eval_episodes, converged=converged, z=z, half_width_rel=half_rel,
        interval_verdict=decided, power=power_at(half_rel / z, tolerance, z), selection_seed=selection_seed)
