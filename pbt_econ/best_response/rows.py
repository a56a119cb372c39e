"""Rows of ``best_response.parquet`` and what one best-response check returns."""

from __future__ import annotations

from dataclasses import dataclass

from pbt_econ.records import EvalResult

__all__ = ["BestResponseReport", "BestResponseRow"]


@dataclass(frozen=True)
class BestResponseRow:
    """One row of ``best_response.parquet``: one (member, type, start) deviation.

    Rewards are mean per-agent episode returns of ``agent_type`` (welfare for
    the government); ``*_ci95`` are half-widths of normal 95% intervals.
    """

    member_id: str
    agent_type: str
    start: str
    """``learned`` (continue from the member's policy) or ``scratch`` (fresh policy)."""
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
