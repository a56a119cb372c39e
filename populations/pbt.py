"""Population Based Training decisions as pure functions (no Ray, no files, no Optuna).

Between segments the driver calls :func:`plan_exploits` with each member's
fitness and niche; within every niche the bottom ``quantile`` of members copy
a member of the top ``quantile`` (exploit). Explore then changes the copied
hyperparameters, either by Optuna's sampler (done by the driver) or by
:func:`perturb` below, which borrows Ray Tune's rule (multiply by a factor,
or resample with some probability) but, unlike Tune, keeps every value inside
its declared range, and returns a readable description of what it did for the
lineage log (``training.<type>.lr: 0.001 --(*0.8)--> 0.0008``).

Why our own PBT: Ray Tune's PBT scheduler refuses any search algorithm
(Optuna included) and its mutations can leave the declared ranges; the rules
themselves are a few lines, kept here testable without a cluster.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Protocol

from pbt_econ.config.load import SearchParam
from pbt_econ.equilibrium.score import rank_key
from populations.archive import Restart

__all__ = ["Exploit", "MemberPlan", "Trials", "perturb", "plan_exploits", "plan_step", "quantile_split"]


@dataclass(frozen=True)
class Exploit:
    """``child`` copies weights, optimiser state and hyperparameters of ``parent``."""

    child: str
    parent: str
    niche: str
    child_fitness: float
    parent_fitness: float
    child_score: float = math.nan
    """The child's exploitability score when the population ranks by equilibrium (NaN otherwise)."""
    parent_score: float = math.nan


def quantile_split(fitness: dict[str, float], quantile: float,
                   scores: dict[str, float] | None = None) -> tuple[list[str], list[str]]:
    """``(bottom, top)`` member ids of one niche; NaN fitness ranks lowest.

    With ``scores`` (``population.rank_by: equilibrium``) members rank first by their exploitability
    score, members within every tolerance tying, then by fitness
    (:func:`pbt_econ.equilibrium.score.rank_key`).
    ``n = floor(quantile * size)``, at least 1 when the niche has two or more
    members and ``quantile > 0``; ties are broken by member id so the result
    is deterministic.
    """
    ids = sorted(fitness, key=lambda m: (*rank_key(fitness[m], None if scores is None else scores[m]), m))
    size = len(ids)
    if size < 2 or quantile <= 0:
        return [], []
    n = max(1, math.floor(quantile * size))
    n = min(n, size // 2)
    return ids[:n], ids[-n:][::-1]


def plan_exploits(
    fitness: dict[str, float], niches: dict[str, str], quantile: float, rng: random.Random,
    scores: dict[str, float] | None = None,
) -> list[Exploit]:
    """Exploit decisions for one PBT step; members only copy within their own niche, and only a member that
    ranks strictly better (by fitness, or with ``scores`` by :func:`pbt_econ.equilibrium.score.rank_key`)."""
    decisions = []
    for niche in sorted(set(niches.values())):
        members = {m: fitness[m] for m in sorted(fitness) if niches[m] == niche}
        mine = None if scores is None else {m: scores[m] for m in members}
        bottom, top = quantile_split(members, quantile, mine)

        key = {m: rank_key(members[m], None if mine is None else mine[m]) for m in members}
        for child in bottom:
            parent = rng.choice(top)
            if key[parent] > key[child] or math.isnan(members[child]):
                decisions.append(Exploit(child, parent, niche, members[child], members[parent],
                                         math.nan if mine is None else mine[child],
                                         math.nan if mine is None else mine[parent]))
    return decisions


def perturb(
    values: dict[str, float],
    space: dict[str, SearchParam],
    rng: random.Random,
    factors: tuple[float, ...] = (0.8, 1.25),
    resample_probability: float = 0.25,
) -> tuple[dict[str, float], list[str]]:
    """New values for every searched path in ``values``, and one description per change.

    Each value is either resampled from its range (probability
    ``resample_probability``; log-uniform for ``log`` ranges) or multiplied
    by a factor drawn from ``factors``; the result is clipped to ``[low, high]``.
    """
    new, notes = {}, []
    for path in sorted(values):
        param = space[path]
        old = values[path]
        if rng.random() < resample_probability:
            if param.log:
                value = math.exp(rng.uniform(math.log(param.low), math.log(param.high)))
            else:
                value = rng.uniform(param.low, param.high)
            how = "resample"
        else:
            factor = rng.choice(factors)
            value = old * factor
            how = f"*{factor:g}"
        value = param.clip(value)
        new[path] = value
        notes.append(f"{path}: {old:.6g} --({how})--> {value:.6g}")
    return new, notes


class Trials(Protocol):
    """What :func:`plan_step` needs of the Optuna study (:class:`populations.study.SegmentTrials`)."""

    def open(self, member: str, segment: int, niche: str, episode: int,
             fixed: dict[str, float]) -> tuple[int, dict[str, float]]: ...


@dataclass(frozen=True)
class MemberPlan:
    """What one member does after a PBT step: its trial and values for the next segment."""

    member_id: str
    trial: int
    hyperparameters: dict[str, float]
    """Searched values for the next segment (curriculum values stay the member's own)."""
    exploit: Exploit | Restart | None
    """The copy it makes first: a niche's top member (:class:`Exploit`), an archive elite
    (:class:`~populations.archive.Restart`, quality-diversity search), or ``None`` (it keeps its own state)."""
    explore: str
    """``optuna``, ``perturb`` or ``""`` (no exploit)."""
    notes: tuple[str, ...]
    """Readable ``path: old --(how)--> new`` descriptions of the explore (the lineage log)."""


def plan_step(
    members: list[tuple[str, str, dict[str, float]]],
    fitness: dict[str, float],
    niches: dict[str, str],
    space: dict[str, SearchParam],
    population,
    trials: Trials,
    rng: random.Random,
    segment: int,
    episode: int,
    restarts: list[Restart] | None = None,
    scores: dict[str, float] | None = None,
) -> list[MemberPlan]:
    """One PBT step as decisions: exploit within niches, explore, open each member's next trial.

    With ``restarts`` (the quality-diversity search, :func:`populations.archive.plan_restarts`) those
    replace the within-niche exploits: each stalled member copies an archive elite, then explores
    from the elite's hyperparameters. ``scores``: each member's exploitability score
    (``population.rank_by: equilibrium``), which ranks before fitness.

    ``members`` are ``(member_id, niche, hyperparameters)`` in a fixed order; ``population`` is the
    :class:`~pbt_econ.config.load.PopulationConfig`; ``trials`` (Optuna, passed in) draws sampler-driven
    explores and records each member's trial for ``segment + 1``. Touches no actor and no file; the
    driver applies the plans (state copies through Ray, new hyperparameters, lineage rows).
    """
    training_paths = sorted(p for p in space if p.startswith("training."))
    curriculum_paths = sorted(p for p in space if p.startswith("curriculum."))
    by_id = {m: values for m, _, values in members}
    copies = plan_exploits(fitness, niches, population.quantile, rng, scores) if restarts is None else restarts
    exploited: dict[str, Exploit | Restart] = {d.child: d for d in copies}
    plans = []
    for member_id, niche, values in members:
        curriculum_values = {p: values[p] for p in curriculum_paths if p in values}
        d = exploited.get(member_id)
        if d is None:
            trial, _ = trials.open(member_id, segment + 1, niche, episode, dict(values))
            plans.append(MemberPlan(member_id, trial, dict(values), None, "", ()))
            continue
        source = d.elite.hyperparameters if isinstance(d, Restart) else by_id[d.parent]
        parent_values = {p: source.get(p, values[p]) for p in training_paths}
        if population.explore == "optuna":
            trial, params = trials.open(member_id, segment + 1, niche, episode, curriculum_values)
            new_values = {p: params[p] for p in training_paths}
            notes = [f"{p}: {parent_values[p]:.6g} --(optuna)--> {new_values[p]:.6g}" for p in training_paths]
        else:
            new_values, notes = perturb(parent_values, space, rng, population.perturb_factors,
                                        population.resample_probability)
            trial, _ = trials.open(member_id, segment + 1, niche, episode, {**curriculum_values, **new_values})
        plans.append(MemberPlan(member_id, trial, {**curriculum_values, **new_values}, d, population.explore,
                                tuple(notes)))
    return plans
