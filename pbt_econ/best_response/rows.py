"""Rows of ``best_response.parquet`` and what one best-response check returns."""

from __future__ import annotations

from dataclasses import dataclass

from pbt_econ.records import EvalResult

__all__ = ["BestResponseReport", "BestResponseRow"]


@dataclass(frozen=True)
class BestResponseRow:
    """One row of ``best_response.parquet``: one (member, type, start) deviation.

    Rewards are mean per-agent episode returns of ``agent_type`` (the economy's reward descriptor); ``*_ci95`` are half-widths of normal 95% intervals.
    """

    member_id: str
    agent_type: str
    start: str
    """``learned`` (continue from the member's policy), ``scratch`` (fresh policy) or ``constant``
    (an exact certificate: one constant action, no training)."""
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
    """Half-width of the 95% interval of ``epsilon_abs`` from the paired per-economy differences
    (common random numbers); NaN when not computable."""
    verdict: str = ""
    """``verified`` (interval of the relative gain below the tolerance), ``violated`` (above it) or
    ``inconclusive`` (docs/model.md §6)."""


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
