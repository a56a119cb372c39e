"""Records of episodes: their economic summary, metrics rows and evaluation results.

* :class:`EpisodeStats` - what one rollout (or a mean of several) looked
  like: the outcome :class:`~pbt_econ.outcomes.Descriptors` plus end-of-episode
  budgets. Produced by :func:`pbt_econ.rollout.rollout`.
* :class:`MetricsRow` - one row of ``metrics.parquet``: a member's means over
  ``training.log_every`` episodes, with learning diagnostics. Built by
  :func:`metrics_row` from a window of episodes.
* :class:`EvalResult` - evaluation rollouts: per-economy returns (for means
  and confidence intervals) and the mean statistics.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields

from pbt_econ.episode import AGENT_TYPES, EpisodeSpec
from pbt_econ.outcomes import Descriptors

__all__ = ["EpisodeStats", "EvalResult", "LossStats", "MetricsRow", "metrics_row"]


@dataclass(frozen=True)
class EpisodeStats:
    """Economic summary of rollouts (means over batch, agents and steps).

    Rewards in ``descriptors`` are mean *per-agent episode returns* as the
    agents were trained on them (unscaled, no-Ponzi penalty included when
    enabled); welfare is the government's episode return. Budgets are money
    at episode end.
    """

    descriptors: Descriptors
    consumer_budget: float
    firm_budget: float

    @property
    def trivial(self) -> bool:
        return self.descriptors.trivial

    @staticmethod
    def mean(items: list[EpisodeStats]) -> EpisodeStats:
        n = len(items)
        return EpisodeStats(
            descriptors=Descriptors.mean([s.descriptors for s in items]),
            consumer_budget=sum(s.consumer_budget for s in items) / n,
            firm_budget=sum(s.firm_budget for s in items) / n,
        )


@dataclass(frozen=True)
class LossStats:
    """Means over one update's minibatch steps (CleanRL's names); NaN where not computed."""

    pg_loss: float = math.nan
    v_loss: float = math.nan
    entropy: float = math.nan
    approx_kl: float = math.nan
    explained_variance: float = math.nan
    """``1 - Var(returns - values) / Var(returns)`` of the rollout's value predictions (1: perfect critic)."""
    value_mean: float = math.nan
    """Mean value prediction of the rollout, in the units the critic learns (scaled, normalised)."""
    return_mean: float = math.nan
    """Mean GAE return target, same units."""
    advantage_std: float = math.nan
    """Standard deviation of the advantages before standardisation, same units."""
    return_scale: float = math.nan
    """Divisor applied after ``reward_scale`` (the running return std; 1 without normalisation)."""


LOSS_KEYS = tuple(f.name for f in fields(LossStats))


@dataclass(frozen=True)
class MetricsRow:
    """One row of ``metrics.parquet``: a member's means over ``log_every`` episodes."""

    member_id: str
    episode: int
    """Episodes completed when the row was written."""
    niche: str
    curriculum: str
    seed: int
    stats: EpisodeStats
    """Flattened into the descriptor and budget columns when written."""
    theta_scale: float
    is_trivial: bool
    learns_consumer: bool
    learns_firm: bool
    learns_government: bool
    entropy_consumer: float
    entropy_firm: float
    entropy_government: float
    pg_loss_consumer: float
    pg_loss_firm: float
    pg_loss_government: float
    v_loss_consumer: float
    v_loss_firm: float
    v_loss_government: float
    approx_kl_consumer: float
    approx_kl_firm: float
    approx_kl_government: float
    explained_variance_consumer: float
    explained_variance_firm: float
    explained_variance_government: float
    value_mean_consumer: float
    value_mean_firm: float
    value_mean_government: float
    return_mean_consumer: float
    return_mean_firm: float
    return_mean_government: float
    advantage_std_consumer: float
    advantage_std_firm: float
    advantage_std_government: float
    return_scale_consumer: float
    return_scale_firm: float
    return_scale_government: float
    mask_progress_firm: float
    """Fraction of the way from the firm mask's start values to the full grid (last episode of the row)."""
    mask_progress_government: float
    lr_consumer: float
    lr_firm: float
    lr_government: float
    multiplier_consumer: float
    multiplier_firm: float
    episodes_per_s: float


def metrics_row(
    window: list[tuple[EpisodeStats, dict[str, LossStats], EpisodeSpec]],
    *,
    member_id: str,
    episode: int,
    niche: str,
    curriculum: str,
    seed: int,
    lrs: dict[str, float],
    multipliers: dict[str, float],
    episodes_per_s: float,
) -> MetricsRow:
    """The :class:`MetricsRow` of a window of ``(stats, losses, spec)`` episodes (means; the last spec)."""
    stats = EpisodeStats.mean([w[0] for w in window])
    spec = window[-1][2]
    extra: dict[str, float | bool] = {}
    for t in AGENT_TYPES:
        for key in LOSS_KEYS:
            values = [getattr(w[1][t], key) for w in window if t in w[1] and not math.isnan(getattr(w[1][t], key))]
            extra[f"{key}_{t}"] = sum(values) / len(values) if values else math.nan
        extra[f"learns_{t}"] = spec.agent(t).learns
        if t != "consumer":
            extra[f"mask_progress_{t}"] = spec.agent(t).mask_progress
        extra[f"lr_{t}"] = lrs[t]
    return MetricsRow(
        member_id=member_id, episode=episode, niche=niche, curriculum=curriculum, seed=seed, stats=stats,
        theta_scale=spec.theta_scale, is_trivial=stats.trivial,
        multiplier_consumer=multipliers["consumer"], multiplier_firm=multipliers["firm"],
        episodes_per_s=episodes_per_s, **extra,
    )


@dataclass(frozen=True)
class EvalResult:
    """Evaluation rollouts: per-economy episode returns and the economic summary.

    ``returns[type]`` is a list of mean per-agent episode returns, one per
    economy copy and episode (``episodes * B`` samples).
    """

    returns: dict[str, list[float]] = field(default_factory=dict)
    stats: EpisodeStats | None = None

    def mean(self, agent_type: str) -> float:
        values = self.returns[agent_type]
        return sum(values) / len(values)

    def ci95(self, agent_type: str) -> float:
        """Half-width of the normal 95% confidence interval of :meth:`mean`."""
        values = self.returns[agent_type]
        n = len(values)
        if n < 2:
            return math.nan
        m = sum(values) / n
        var = sum((v - m) ** 2 for v in values) / (n - 1)
        return 1.96 * math.sqrt(var / n)
