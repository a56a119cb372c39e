"""Outcome rows: what one trained member's economy looks like, and its best-response epsilons.

An outcome row describes a member's final policies by evaluation rollouts
(full action grids, full theta, seeds never used for training) plus its
best-response epsilons. The population search writes one per member to
``outcomes.parquet``; :mod:`analysis` clusters them into equilibria. The
descriptor columns and their units are the economy's
(:attr:`~pbt_econ.economies.Economy.descriptors`; docs/outputs.md lists the
RBC's); the per-type columns are named ``<quantity>_<type>`` for each of the
economy's agent types.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from pbt_econ.core.stats import standard_error
from pbt_econ.core.tables import ColumnGroup
from pbt_econ.equilibrium.verdicts import CERTIFICATES, relative_epsilon, worst_verdict
from pbt_econ.learning.records import Descriptors, PerType

__all__ = ["DescriptorSE", "OutcomeRow", "outcome_groups", "outcome_row", "summarise_evaluations"]

EPSILON_COLUMNS = ("epsilon_abs", "epsilon_rel", "passes", "epsilon_unilateral", "verdict_type", "verdict",
                   "undertrained", "converged")
"""Per-type outcome columns, in order (each as ``<name>_<type>``)."""


class DescriptorSE(ColumnGroup):
    """Standard error of each descriptor (columns ``<descriptor>_se``): the spread of the outcome's
    evaluations over ``analysis.eval_seeds`` seeds divided by the square root of their number (NaN with
    one seed)."""

    __slots__ = ()

    @staticmethod
    def nan(names: Iterable[str]) -> DescriptorSE:
        return DescriptorSE({f"{d}_se": math.nan for d in names})


def summarise_evaluations(evaluations: list[Descriptors]) -> tuple[Descriptors, DescriptorSE]:
    """Mean descriptors and their standard errors over evaluations on different seeds."""
    n = len(evaluations)
    mean = Descriptors.mean(evaluations)
    se = {}
    for d in mean:
        se[f"{d}_se"] = standard_error([e[d] for e in evaluations], center=mean[d]) if n >= 2 else math.nan
    return mean, DescriptorSE(se)


@dataclass(frozen=True)
class OutcomeRow:
    """One row of ``outcomes.parquet`` (columns and units: docs/outputs.md)."""

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
    epsilon: PerType
    """Per type ``t``: ``epsilon_abs_t`` (the largest type-level gain, trained or certified: the paper's
    meta-equilibrium ε), ``epsilon_rel_t`` (relative to the training improvement; to ``|before|`` if none),
    ``passes_t`` (type-level point estimates within tolerance), ``epsilon_unilateral_t`` (largest one-agent
    gain, NaN if not checked), ``verdict_type_t`` (worst verdict of the type-level deviations),
    ``verdict_t`` (the Nash verdict: worst over the unilateral deviations where the type has them, else
    ``verdict_type_t``), ``undertrained_t`` (a certificate beat the trained deviation), ``converged_t`` (every trained deviation
    of the type converged; False if unchecked)."""
    epsilon_max_rel: float
    """Largest relative epsilon over the checked types (NaN if none was checked)."""
    is_epsilon_equilibrium: bool
    """Every checked type passes its tolerance (False if none was checked)."""
    verdict: str = "inconclusive"
    """Worst per-type (Nash) verdict: ``verified``, ``inconclusive`` or ``violated`` (docs/model.md §6)."""
    fixed_types: str = ""
    """Agent types with a fixed policy (``,``-separated): not learned, so not checked by best response."""
    eval_seeds: int = 1
    """Evaluation seeds the descriptors and their standard errors come from."""
    refined_from: str = ""
    """For a refined outcome (``<member>~r``, :mod:`pbt_econ.equilibrium.refine`): the outcome it was refined from."""
    refine_rounds: int = 0
    """Deviations adopted by refinement."""
    refine_ending: str = ""
    """``converged``, ``cycling``, ``rounds exhausted`` or ``not needed`` (refined outcomes only)."""
    epsilon_max_rel_before: float = float("nan")
    """The largest relative type-level ε before refinement (``epsilon_max_rel`` is after it)."""

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self.__dict__["epsilon"][name]
        except KeyError:
            raise AttributeError(f"OutcomeRow has no column {name!r}") from None


def outcome_groups(descriptors: Iterable[str], types: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """The column groups of :class:`OutcomeRow` for :func:`pbt_econ.core.tables.unflatten`."""
    descriptors, types = tuple(descriptors), tuple(types)
    return {"descriptors": descriptors, "descriptor_se": tuple(f"{d}_se" for d in descriptors),
            "epsilon": tuple(f"{c}_{t}" for c in EPSILON_COLUMNS for t in types)}


def outcome_row(member_id: str, niche: str, curriculum: str, seed: int, episode: int,
                hyperparameters: dict[str, float], descriptors: Descriptors, best_response_rows, *,
                economy, fixed_types: tuple[str, ...] = (),
                descriptor_se: DescriptorSE | None = None, eval_seeds: int = 1) -> OutcomeRow:
    """Combine evaluation ``descriptors`` and best-response rows into an outcome.

    ``descriptors`` come from the best response's "before" evaluation, so an
    outcome is described by the very rollouts its epsilon was measured on.
    Per type (the economy's), the worst (largest) epsilon over starts counts; a type with
    no best-response row has NaN epsilons and ``passes_* = False``. ``economy``: the run's economy
    (:attr:`RunConfig.economy_model <pbt_econ.config.schema.RunConfig.economy_model>`): its agent types
    and trivial-outcome rule.
    """
    types = tuple(a.name for a in economy.agent_types)
    is_trivial = bool(economy.trivial(descriptors))
    eps_abs, eps_rel, passes, unilateral, verdicts, undertrained = {}, {}, {}, {}, {}, {}
    converged: dict[str, bool] = {}
    type_verdicts: dict[str, str] = {}
    for t in types:
        rows = [r for r in best_response_rows if r.agent_type == t]
        if not rows:
            eps_abs[t], eps_rel[t], passes[t] = math.nan, math.nan, False
            unilateral[t], verdicts[t], undertrained[t] = math.nan, "inconclusive", False
            type_verdicts[t] = "inconclusive"
            converged[t] = False
            continue
        converged[t] = all(r.converged for r in rows)
        uni_rows = [r for r in rows if r.deviation == "unilateral"]
        rows = [r for r in rows if r.deviation != "unilateral"]
        rel = [relative_epsilon(r) for r in rows]
        eps_abs[t] = max(r.epsilon_abs for r in rows)
        eps_rel[t] = max(rel)
        passes[t] = all(r.passes for r in rows)
        unilateral[t] = max(r.epsilon_abs for r in uni_rows) if uni_rows else math.nan
        type_verdicts[t] = worst_verdict(r.verdict for r in rows)
        verdicts[t] = worst_verdict(r.verdict for r in uni_rows) if uni_rows else type_verdicts[t]
        trained = [r.epsilon_abs for r in rows if r.start not in CERTIFICATES]
        certified = [r.epsilon_abs for r in rows if r.start in CERTIFICATES and r.deviation == "type"]
        undertrained[t] = bool(trained and certified and max(certified) > max(trained))
    checked = [t for t in types if not math.isnan(eps_abs[t])]
    columns = {}
    for name, values in zip(EPSILON_COLUMNS, (eps_abs, eps_rel, passes, unilateral, type_verdicts, verdicts,
                                                undertrained, converged)):
        columns.update({f"{name}_{t}": values[t] for t in types})
    return OutcomeRow(
        member_id=member_id, niche=niche, curriculum=curriculum, seed=seed, episode=episode,
        hyperparameters=";".join(f"{k}={v:.6g}" for k, v in sorted(hyperparameters.items())),
        descriptors=descriptors, descriptor_se=descriptor_se or DescriptorSE.nan(descriptors),
        is_trivial=is_trivial, epsilon=PerType(columns),
        epsilon_max_rel=max((eps_rel[t] for t in checked), default=math.nan),
        is_epsilon_equilibrium=bool(checked) and all(passes[t] for t in checked),
        verdict=worst_verdict(verdicts[t] for t in checked) if checked else "inconclusive",
        fixed_types=",".join(t for t in types if t in fixed_types), eval_seeds=eval_seeds,
    )
