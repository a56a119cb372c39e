"""Refinement by iterated best response: turn a near-equilibrium into a verified one, or say why not.

An outcome whose check is ``violated`` (by any deviation, unilateral or certified included) adopts its
most improving trained type-level deviation (the deviating type's policy, optimiser and counters become
the member's), then every type is checked again; up to ``rounds`` rounds (``population.refine``).
Unilateral deviations are not adopted: giving one agent's best reply to its whole type was tried and
measured worse (on the default search the largest relative ε grew from 0.35 to 66 in three rounds: a
policy trained on one consumer's data does not suit the other consumers; docs/benchmarks.md). Each round is a best-response step of the
meta-game over agent types, so it can converge (no type-level deviation violates any more), cycle
(the same types take turns without the largest gain shrinking) or run out of rounds; :func:`refine`
says which. The refined outcome is a new outcome (``<member>~r``); the original row stays.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from pbt_econ.equilibrium.best_response import assess_outcome, deviate
from pbt_econ.equilibrium.verdicts import CERTIFICATES, relative_epsilon

__all__ = ["RefineResult", "RefineRound", "adoptable", "classify", "refine"]


@dataclass(frozen=True)
class RefineRound:
    """One round: which type's type-level deviation was adopted and the largest relative ε before it."""

    adopted: str
    epsilon_before: float


@dataclass(frozen=True)
class RefineResult:
    """What refinement did: the rounds, how it ended, and the final assessment ``(descriptors, se, rows)``."""

    rounds: list[RefineRound] = field(default_factory=list)
    ending: str = "not needed"
    """``not needed`` (no violation), ``not adoptable`` (only certificates are violated: a constant action
    is no policy to adopt), ``converged`` (no violation left), ``stuck`` (only certificate violations left), ``cycling`` (the same types alternate and the largest ε did not shrink
    over the last two rounds) or ``rounds exhausted``."""
    final: tuple | None = None
    epsilon_after: float = math.nan


def _best(rows):
    if not _violated(rows):
        return None
    candidates = [r for r in rows if r.start not in CERTIFICATES and r.deviation == "type"
                  and r.epsilon_abs > 0]
    return max(candidates, key=relative_epsilon) if candidates else None


def adoptable(rows) -> str | None:
    """For a violated outcome, the type whose trained type-level deviation improves most (relative gain);
    ``None`` if the outcome is not violated or no trained type-level deviation improves."""
    best = _best(rows)
    return None if best is None else best.agent_type


def _largest(rows) -> float:
    values = [relative_epsilon(r) for r in rows]
    return max(values, default=math.nan)


def _violated(rows) -> bool:
    return any(r.verdict == "violated" for r in rows)


def classify(rounds: list[RefineRound], violated_left: bool, adoptable_left: bool) -> str:
    """How a refinement ended (see :attr:`RefineResult.ending`); pure, for tests."""
    if not rounds:
        return "not adoptable" if violated_left else "not needed"
    if not violated_left:
        return "converged"
    if not adoptable_left:
        return "stuck"
    if len(rounds) >= 3:
        a, b, c = rounds[-3:]
        alternates = a.adopted == c.adopted and a.adopted != b.adopted
        if alternates and c.epsilon_before >= a.epsilon_before:
            return "cycling"
    return "rounds exhausted"


def refine(member, config, rounds: int, episodes: int, eval_seeds: int, start=None) -> RefineResult:
    """Refine ``member`` in place (its state becomes the refined one). ``start``: its assessment if known."""
    assessment = start or assess_outcome(member, config, eval_seeds)
    history: list[RefineRound] = []
    for _ in range(rounds):
        rows = assessment[2]
        best = _best(rows)
        if best is None:
            break
        history.append(RefineRound(adopted=best.agent_type, epsilon_before=_largest(rows)))
        clone = deviate(member, best.agent_type, episodes)
        member.set_state(clone.get_state())
        assessment = assess_outcome(member, config, eval_seeds)
    rows = assessment[2]
    ending = classify(history, _violated(rows), adoptable(rows) is not None)
    return RefineResult(rounds=history, ending=ending, final=assessment, epsilon_after=_largest(assessment[2]))
