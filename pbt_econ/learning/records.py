"""Records of episodes: their economic summary, metrics rows and evaluation results.

* :class:`Descriptors` - what an economy looks like, by descriptor name (the
  economy declares the names: :attr:`~pbt_econ.economies.Economy.descriptors`).
* :class:`EpisodeStats` - what one rollout (or a mean of several) looked
  like: the descriptors plus end-of-episode budgets of the types that have them.
  Produced by :func:`pbt_econ.learning.rollout.rollout`.
* :class:`MetricsRow` - one row of ``metrics.parquet``: a member's means over
  ``training.log_every`` episodes, with learning diagnostics per agent type.
  Built by :func:`metrics_row` from a window of episodes.
* :class:`EvalResult` - evaluation rollouts: per-economy returns (for means
  and confidence intervals) and the mean statistics.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, fields

from pbt_econ.config.episode import EpisodeSpec
from pbt_econ.core import stats
from pbt_econ.core.tables import ColumnGroup

__all__ = ["Descriptors", "EpisodeStats", "EvalResult", "LossStats", "MetricsRow", "PerType", "metrics_row"]


class Descriptors(ColumnGroup):
    """Descriptor values by name, in the economy's schema order (flattened into columns of the same names)."""

    __slots__ = ()

    @staticmethod
    def mean(items: list[Descriptors]) -> Descriptors:
        """Field-wise mean of ``items`` (all with the same names)."""
        return Descriptors({k: sum(d[k] for d in items) / len(items) for k in items[0]})


class PerType(ColumnGroup):
    """Per-agent-type columns (``<quantity>_<type>``), written in place."""

    __slots__ = ()


@dataclass(frozen=True)
class EpisodeStats:
    """Economic summary of rollouts (means over batch, agents and steps).

    Rewards in ``descriptors`` are mean *per-agent episode returns* as the
    agents were trained on them (unscaled, no-Ponzi penalty included when
    enabled). ``budgets`` holds ``<type>_budget``: mean money at episode end
    of each type the economy gives a budget (empty when it has none).
    """

    descriptors: Descriptors
    budgets: PerType = field(default_factory=PerType)

    @staticmethod
    def mean(items: list[EpisodeStats]) -> EpisodeStats:
        n = len(items)
        return EpisodeStats(
            descriptors=Descriptors.mean([s.descriptors for s in items]),
            budgets=PerType({k: sum(s.budgets[k] for s in items) / n for k in items[0].budgets}),
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
METRIC_COLUMN_ORDER = ("learns", "entropy") + tuple(k for k in LOSS_KEYS if k != "entropy")


@dataclass(frozen=True)
class MetricsRow:
    """One row of ``metrics.parquet``: a member's means over ``log_every`` episodes.

    ``per_type`` holds, for every agent type ``t`` of the economy: ``learns_t``,
    each :class:`LossStats` field as ``<field>_t``, ``lr_t``; ``mask_progress_t``
    for types with a curriculum mask; ``multiplier_t`` (no-Ponzi) for types with budgets.
    """

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
    per_type: PerType
    episodes_per_s: float

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self.__dict__["per_type"][name]
        except KeyError:
            raise AttributeError(f"MetricsRow has no column {name!r}") from None


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
    masked: tuple[str, ...],
    episodes_per_s: float,
    trivial: Callable[[Descriptors], bool],
) -> MetricsRow:
    """The :class:`MetricsRow` of a window of ``(stats, losses, spec)`` episodes (means; the last spec).

    ``masked``: the types with a curriculum mask; ``multipliers``: the no-Ponzi multipliers of the
    types with budgets; ``trivial``: the economy's trivial-outcome rule (applied to the mean descriptors).
    """
    stats = EpisodeStats.mean([w[0] for w in window])
    spec = window[-1][2]
    columns: dict[str, float | bool] = {}
    for t in spec.types:
        columns[f"learns_{t}"] = spec.agent(t).learns
    for key in METRIC_COLUMN_ORDER[1:]:
        for t in spec.types:
            values = [getattr(w[1][t], key) for w in window if t in w[1] and not math.isnan(getattr(w[1][t], key))]
            columns[f"{key}_{t}"] = sum(values) / len(values) if values else math.nan
    for t in masked:
        columns[f"mask_progress_{t}"] = spec.agent(t).mask_progress
    for t in spec.types:
        columns[f"lr_{t}"] = lrs[t]
    for t, m in multipliers.items():
        columns[f"multiplier_{t}"] = m
    return MetricsRow(
        member_id=member_id, episode=episode, niche=niche, curriculum=curriculum, seed=seed, stats=stats,
        theta_scale=spec.theta_scale, is_trivial=trivial(stats.descriptors), per_type=PerType(columns), episodes_per_s=episodes_per_s,
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
        return stats.mean(self.returns[agent_type])
