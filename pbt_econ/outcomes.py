"""Outcome descriptors: what one trained member's economy looks like (one place).

An outcome row describes a member's final policies by evaluation rollouts
(full action grids, full theta, seeds never used for training) plus its
best-response epsilons. The population search writes one per member to
``outcomes.parquet``; :mod:`analysis` clusters them into equilibria.

Descriptors (units; means over economies, agents and steps of the evaluation):

=================  ===========================================================
``price``          money per unit, mean over firms
``wage``           money per hour, mean over firms
``hours``          hours per consumer per step
``consumption``    units per consumer per step (all goods)
``production``     units per firm per step
``exports``        units per firm per step sold to the importer
``stock``          units per firm in inventory
``income_tax``     rate in [0, 1]
``corporate_tax``  rate in [0, 1]
``welfare``        government reward: social welfare per episode
``reward_consumer`` mean consumer episode return (utility)
``reward_firm``    mean firm episode return (after-tax profit, money)
``gini``           Gini coefficient of consumer budgets at episode end
``export_share``   fraction of firms selling more to the importer than at home
=================  ===========================================================
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from pbt_econ.episode import AGENT_TYPES

__all__ = ["DESCRIPTORS", "TRIVIAL_HOURS", "TRIVIAL_PRODUCTION", "DescriptorSE", "Descriptors", "OutcomeRow",
           "outcome_row", "summarise_evaluations"]

TRIVIAL_HOURS = 1.0
"""Mean hours per consumer per step below which an economy counts as trivial."""
TRIVIAL_PRODUCTION = 1e-3
"""Mean units produced per firm per step below which an economy counts as trivial."""


@dataclass(frozen=True)
class Descriptors:
    """What an economy looks like: the one declaration of the descriptor columns.

    Episode statistics (:class:`pbt_econ.records.EpisodeStats`), metrics rows,
    outcome rows and equilibrium centroids all *contain* one of these; tables
    flatten it into columns of the same names when written (units: see the
    module docstring).
    """

    price: float
    wage: float
    hours: float
    consumption: float
    production: float
    exports: float
    stock: float
    income_tax: float
    corporate_tax: float
    welfare: float
    reward_consumer: float
    reward_firm: float
    gini: float
    export_share: float

    @property
    def trivial(self) -> bool:
        """No work or no production: the collapsed outcome the paper warns of."""
        return self.hours < TRIVIAL_HOURS or self.production < TRIVIAL_PRODUCTION

    def reward(self, agent_type: str) -> float:
        """Mean per-agent episode reward of ``agent_type`` (welfare for the government)."""
        return self.welfare if agent_type == "government" else getattr(self, f"reward_{agent_type}")

    @staticmethod
    def mean(items: list[Descriptors]) -> Descriptors:
        """Field-wise mean of ``items``."""
        return Descriptors(**{k: sum(getattr(d, k) for d in items) / len(items) for k in DESCRIPTORS})


DESCRIPTORS = tuple(f.name for f in dataclasses.fields(Descriptors))
"""Descriptor columns used for clustering, in order."""

DescriptorSE = dataclasses.make_dataclass(
    "DescriptorSE", [(f"{d}_se", float, dataclasses.field(default=math.nan)) for d in DESCRIPTORS], frozen=True)
DescriptorSE.__doc__ = """Standard error of each descriptor (columns ``<descriptor>_se``), derived from
:class:`Descriptors`: the spread of the outcome's evaluations over ``analysis.eval_seeds`` seeds divided
by the square root of their number (NaN with one seed or in tables written before it existed)."""


def summarise_evaluations(evaluations: list[Descriptors]) -> tuple[Descriptors, DescriptorSE]:
    """Mean descriptors and their standard errors over evaluations on different seeds."""
    n = len(evaluations)
    mean = Descriptors.mean(evaluations)
    se = {}
    for d in DESCRIPTORS:
        if n < 2:
            se[f"{d}_se"] = math.nan
            continue
        m = getattr(mean, d)
        var = sum((getattr(e, d) - m) ** 2 for e in evaluations) / (n - 1)
        se[f"{d}_se"] = math.sqrt(var / n)
    return mean, DescriptorSE(**se)


@dataclass(frozen=True)
class OutcomeRow:
    """One row of ``outcomes.parquet`` (see the module docstring for units)."""

    member_id: str
    niche: str
    curriculum: str
    seed: int
    episode: int
    hyperparameters: str
    """The member's final searched hyperparameters as ``path=value`` pairs, ``;``-separated."""
    descriptors: Descriptors
    """Flattened into one column per descriptor when written: the mean over ``eval_seeds`` evaluations,
    the first of which is the best response's "before" evaluation."""
    descriptor_se: DescriptorSE
    """Standard errors of the descriptors (columns ``<descriptor>_se``)."""
    is_trivial: bool
    epsilon_abs_consumer: float
    epsilon_abs_firm: float
    epsilon_abs_government: float
    epsilon_rel_consumer: float
    """Best-response gain relative to the training improvement (relative to ``|before|`` if none)."""
    epsilon_rel_firm: float
    epsilon_rel_government: float
    passes_consumer: bool
    passes_firm: bool
    passes_government: bool
    epsilon_max_rel: float
    """Largest relative epsilon over the checked types (NaN if none was checked)."""
    is_epsilon_equilibrium: bool
    """Every checked type passes its tolerance (False if none was checked)."""
    fixed_types: str = ""
    """Agent types with a fixed policy (``,``-separated): not learned, so not checked by best response."""
    eval_seeds: int = 1
    """Evaluation seeds the descriptors and their standard errors come from."""


def outcome_row(member_id: str, niche: str, curriculum: str, seed: int, episode: int,
                hyperparameters: dict[str, float], descriptors: Descriptors, best_response_rows,
                fixed_types: tuple[str, ...] = (), descriptor_se: DescriptorSE | None = None,
                eval_seeds: int = 1) -> OutcomeRow:
    """Combine evaluation ``descriptors`` and best-response rows into an outcome.

    ``descriptors`` come from the best response's "before" evaluation, so an
    outcome is described by the very rollouts its epsilon was measured on.
    Per type, the worst (largest) epsilon over starts counts; a type with no
    best-response row has NaN epsilons and ``passes_* = False``.
    """
    eps_abs, eps_rel, passes = {}, {}, {}
    for t in AGENT_TYPES:
        rows = [r for r in best_response_rows if r.agent_type == t]
        if not rows:
            eps_abs[t], eps_rel[t], passes[t] = math.nan, math.nan, False
            continue
        rel = [r.epsilon_rel if math.isnan(r.epsilon_rel_improvement) else r.epsilon_rel_improvement for r in rows]
        eps_abs[t] = max(r.epsilon_abs for r in rows)
        eps_rel[t] = max(rel)
        passes[t] = all(r.passes for r in rows)
    checked = [t for t in AGENT_TYPES if not math.isnan(eps_abs[t])]
    return OutcomeRow(
        member_id=member_id, niche=niche, curriculum=curriculum, seed=seed, episode=episode,
        hyperparameters=";".join(f"{k}={v:.6g}" for k, v in sorted(hyperparameters.items())),
        descriptors=descriptors, descriptor_se=descriptor_se or DescriptorSE(), is_trivial=descriptors.trivial,
        epsilon_abs_consumer=eps_abs["consumer"], epsilon_abs_firm=eps_abs["firm"],
        epsilon_abs_government=eps_abs["government"],
        epsilon_rel_consumer=eps_rel["consumer"], epsilon_rel_firm=eps_rel["firm"],
        epsilon_rel_government=eps_rel["government"],
        passes_consumer=passes["consumer"], passes_firm=passes["firm"], passes_government=passes["government"],
        epsilon_max_rel=max((eps_rel[t] for t in checked), default=math.nan),
        is_epsilon_equilibrium=bool(checked) and all(passes[t] for t in checked),
        fixed_types=",".join(t for t in AGENT_TYPES if t in fixed_types), eval_seeds=eval_seeds,
    )
