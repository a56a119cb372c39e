"""A cheap exploitability score: how far from equilibrium a member is, between training segments.

The population ranks members by it (``population.rank_by: equilibrium``; docs/model.md §12) so that PBT
copies the member closer to equilibrium, not only the one with the higher welfare. The score reuses the
exact certificates (:mod:`pbt_econ.equilibrium.best_response.certificates`) at a small budget: every
constant action of every certifiable type, type-level and for ``unilateral_agents`` single agents, each
evaluated on ``eval_episodes`` episodes (one by default), with no sequential looks and no end game.
Trained deviations are not part of it: they cost a deviation's training per type.

.. math::

    \\mathrm{score} = \\max_{\\text{rows}} \\frac{\\varepsilon_{\\mathrm{rel}}}{\\mathrm{tol}_{\\mathrm{type}}}

the largest rank (:func:`pbt_econ.equilibrium.verdicts.rank`: relative gain over the type's tolerance, 1 =
exactly at it) of the best constant deviation of each type and scope, over the rows of the chosen sense
(:data:`SCOPES`: single-agent, type-level or both; a Cournot market at its Nash quantity gains by a
type-level deviation, collusion, so it scores low only in the ``nash`` sense). Below 1, no constant deviation gains
its tolerance on this (noisy, point-estimate) evaluation. It is a ranking signal, never a verdict: the
verdicts come from the full check after training (docs/model.md §6).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from pbt_econ.config.episode import evaluation_spec, with_fixed
from pbt_econ.equilibrium.best_response.certificates import Befores, certifiable, certificate_rows
from pbt_econ.equilibrium.best_response.unilateral import spread_agents
from pbt_econ.equilibrium.verdicts import rank

__all__ = ["SCOPES", "Score", "exploitability_score", "rank_key"]


@dataclass(frozen=True)
class Score:
    """A member's exploitability score and what it rests on."""

    score: float
    """The largest rank over the rows (NaN when no type is certifiable)."""
    by_type: dict[str, float]
    """The largest rank per agent type."""
    evaluations: int
    """Candidate evaluations spent (episodes of ``batch_size`` copies, "before" not counted)."""


SCOPES = ("both", "nash", "meta")
"""Which rows the score reads: every row (``both``), single-agent deviations (``nash``; a type of one agent
by its type-level rows) or type-level deviations (``meta``, the paper's sense)."""


def _in_scope(row, scope: str, counts: dict[str, int]) -> bool:
    if scope == "both":
        return True
    if scope == "meta":
        return row.deviation == "type"
    return row.deviation == "unilateral" or counts[row.agent_type] == 1


def exploitability_score(member, config, eval_episodes: int = 1, unilateral_agents: int | None = None,
                         scope: str = "both") -> Score:
    """The score of ``member`` (module docstring) under best-response ``config`` (its tolerances,
    ``eval_seed`` and ``certificate_max_actions``); ``unilateral_agents`` defaults to the config's;
    ``scope``: which deviations count (:data:`SCOPES`)."""
    if scope not in SCOPES:
        raise ValueError(f"scope = {scope!r}: must be one of {', '.join(SCOPES)}")
    cfg = dataclasses.replace(config, eval_episodes=eval_episodes, sequential_cap=1, endgame_steps=0,
                              unilateral_agents=config.unilateral_agents if unilateral_agents is None
                              else unilateral_agents)
    grids = certifiable(member, cfg.certificate_max_actions, cfg.check_fixed)
    if not grids or cfg.certificate_max_actions <= 0:
        return Score(math.nan, {}, 0)
    before = member.evaluate(eval_episodes, seed=cfg.eval_seed)
    untrained = member.untrained().evaluate(eval_episodes, seed=cfg.eval_seed)
    reference = {t: before.mean(t) - untrained.mean(t) for t in grids}
    befores = Befores(member, with_fixed(evaluation_spec(member.types, member.episode), member.fixed))
    counts = {a.name: a.count for a in member.economy.agent_types}
    rows = [r for r in certificate_rows(member, cfg, reference, befores=befores) if _in_scope(r, scope, counts)]
    by_type: dict[str, float] = {}
    for r in rows:
        by_type[r.agent_type] = max(by_type.get(r.agent_type, 0.0), rank(r))
    spent = sum(len(actions) * (1 + len(spread_agents(counts[t], cfg.unilateral_agents)))
                for t, actions in grids.items())
    return Score(max(by_type.values()) if by_type else math.nan, by_type, spent)


def rank_key(fitness: float, score: float | None) -> tuple[float, float]:
    """The sort key PBT ranks members by (larger is better): with a score, first ``-max(score, 1)`` (members
    within every tolerance tie; a NaN score ranks lowest), then the fitness (NaN lowest)."""
    f = -math.inf if math.isnan(fitness) else fitness
    if score is None:
        return (0.0, f)
    return (-math.inf if math.isnan(score) else -max(score, 1.0), f)
