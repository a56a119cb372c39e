"""Population Based Training decisions as pure functions (no Ray, no files, no Optuna).

Between segments the driver calls :func:`plan_exploits` with each member's
fitness and niche; within every niche the bottom ``quantile`` of members copy
a member of the top ``quantile`` (exploit). Explore then changes the copied
hyperparameters, either by Optuna's sampler (done by the driver) or by
:func:`perturb` below, which borrows Ray Tune's rule (multiply by a factor,
or resample with some probability) but, unlike Tune, keeps every value inside
its declared range, and returns a readable description of what it did for the
lineage log (``training.consumer.lr: 0.001 --(*0.8)--> 0.0008``).

Why our own PBT: Ray Tune's PBT scheduler refuses any search algorithm
(Optuna included) and its mutations can leave the declared ranges; the rules
themselves are a few lines, kept here testable without a cluster.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from pbt_econ.config import SearchParam

__all__ = ["Exploit", "perturb", "plan_exploits", "quantile_split"]


@dataclass(frozen=True)
class Exploit:
    """``child`` copies weights, optimiser state and hyperparameters of ``parent``."""

    child: str
    parent: str
    niche: str
    child_fitness: float
    parent_fitness: float


def quantile_split(fitness: dict[str, float], quantile: float) -> tuple[list[str], list[str]]:
    """``(bottom, top)`` member ids of one niche; NaN fitness ranks lowest.

    ``n = floor(quantile * size)``, at least 1 when the niche has two or more
    members and ``quantile > 0``; ties are broken by member id so the result
    is deterministic.
    """
    ids = sorted(fitness, key=lambda m: (-math.inf if math.isnan(fitness[m]) else fitness[m], m))
    size = len(ids)
    if size < 2 or quantile <= 0:
        return [], []
    n = max(1, math.floor(quantile * size))
    n = min(n, size // 2)
    return ids[:n], ids[-n:][::-1]


def plan_exploits(
    fitness: dict[str, float], niches: dict[str, str], quantile: float, rng: random.Random
) -> list[Exploit]:
    """Exploit decisions for one PBT step; members only copy within their own niche."""
    decisions = []
    for niche in sorted(set(niches.values())):
        members = {m: fitness[m] for m in sorted(fitness) if niches[m] == niche}
        bottom, top = quantile_split(members, quantile)
        for child in bottom:
            parent = rng.choice(top)
            if members[parent] > members[child] or math.isnan(members[child]):
                decisions.append(Exploit(child, parent, niche, members[child], members[parent]))
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
