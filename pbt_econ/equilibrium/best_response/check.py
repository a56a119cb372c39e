"""Approximate best response: is a learned outcome an ε-meta-equilibrium? (docs/model.md §6)

For each agent type ``k``: freeze the other types' policies bit for bit,
keep training ``k`` (from its learned policy and, optionally, from a fresh
one) with full action grids and full theta, and measure ``k``'s mean
per-agent episode reward with evaluation rollouts on a seed never used for
training, before and after:

.. math:: \\varepsilon_k = \\max(0, \\bar r_k^{after} - \\bar r_k^{before})

reported absolutely, relative to ``|before|``, and relative to the
improvement of ``k``'s reward during the member's training (the paper's
definition; ``before - untrained``). "Before", "after" and "untrained" (the
member's policies at episode 0, rebuilt from its seed) are measured with the
same :func:`~pbt_econ.config.episode.evaluation_spec`, the same number of episodes
and the same evaluation seed (common random numbers), so their differences
are not swamped by sampling noise. The outcome's descriptors are those of the
"before" evaluation: an outcome is described by the rollouts its epsilon was
measured on.

The deviation is trained by the member's own rollout and update code
(:meth:`pbt_econ.learning.member.Member.train` with specs from
:func:`~pbt_econ.config.episode.best_response_spec`), so best response optimises
exactly the objective training did; only the deviating type's policy,
optimiser and budget multiplier (for economies with budgets, e.g. the RBC's
no-Ponzi condition) change. Besides these type-level deviations come
unilateral ones (one agent of the type deviates, :mod:`.unilateral`) and exact
certificates over constant actions (:mod:`.certificates`, chosen on the evaluation seed and decided on
a fresh stream). An ``inconclusive`` verdict is evaluated again on planned, longer evaluations
(``best_response.sequential_cap``), every look's interval widened so that the verdict holds at 95% over
all of them (:mod:`pbt_econ.equilibrium.sequential`); a trained deviation that had not converged is
never ``verified``.

The command line is :mod:`pbt_econ.best_response.__main__`.
"""

from __future__ import annotations

import dataclasses
import math

from pbt_econ.config.episode import best_response_spec, evaluation_spec, with_fixed
from pbt_econ.config.load import BestResponseConfig
from pbt_econ.core.errors import ConfigError
from pbt_econ.core.seeds import stream_seed
from pbt_econ.core.stats import mean
from pbt_econ.equilibrium.best_response.certificates import Befores, certificate_rows, per_agent_returns
from pbt_econ.equilibrium.best_response.endgame import endgame_rows
from pbt_econ.equilibrium.best_response.rows import BestResponseReport, make_row
from pbt_econ.equilibrium.best_response.unilateral import deviate_unilateral, spread_agents
from pbt_econ.equilibrium.outcomes import summarise_evaluations
from pbt_econ.equilibrium.sequential import decide
from pbt_econ.learning.member import Member, build_policies
from pbt_econ.learning.ppo import make_optimizer
from pbt_econ.learning.records import EvalResult

__all__ = ["assess_outcome", "best_response", "cpu_state", "deviate"]


def deviate(member: Member, agent_type: str, episodes: int, start: str = "learned", progress=None,
            checkpoints=(), on_checkpoint=None) -> Member:
    """A copy of ``member`` in which only ``agent_type`` trained ``episodes`` more episodes.

    ``member`` itself is not changed. ``start="scratch"`` re-initialises the
    deviating policy (seed stream ``scratch``) and its optimiser first.
    ``on_checkpoint(done, clone)`` is called after each episode count in ``checkpoints``
    (training in chunks changes nothing: the same generator drives the same episodes).
    """
    if agent_type not in member.types:
        raise ConfigError(f"best-response type {agent_type!r}: must be one of {', '.join(member.types)}")
    if start not in ("learned", "scratch"):
        raise ConfigError(f"start = {start!r}: must be 'learned' or 'scratch'")
    clone = member.copy()
    if start == "scratch":
        fresh = build_policies(member.config, clone.economy, stream_seed(member.seed, "scratch"))[agent_type]
        clone.policies[agent_type].load_state_dict(fresh.state_dict())
        clone.optimizers[agent_type] = make_optimizer(clone.policies[agent_type], clone.training.agent(agent_type).lr)
    stops = sorted({c for c in checkpoints if 0 < c < episodes} | {episodes})
    done = 0
    for stop in stops:
        clone.train(stop - done, progress=progress,
                    schedule=lambda e: best_response_spec(clone.spec_at(e), agent_type))
        done = stop
        if on_checkpoint is not None and stop in checkpoints:
            on_checkpoint(stop, clone)
    return clone


def _milestones(episodes: int) -> tuple[int, int]:
    return max(1, episodes // 4), max(1, episodes // 2)


def best_response(
    member: Member,
    config: BestResponseConfig | None = None,
    types: tuple[str, ...] | None = None,
    episodes: int | None = None,
    progress=None,
    deviations: dict | None = None,
) -> BestResponseReport:
    """Best-response rows for ``member``; ``member`` is not changed.

    Per checked type and start: a trained type-level deviation; per type with several agents, trained
    unilateral deviations of ``unilateral_agents`` agents (:mod:`.unilateral`); then the exact
    certificates of small grids (:mod:`.certificates`). Trained gains are also measured at a quarter
    and half of the budget (convergence evidence). Called by the CLI and, on a Ray actor, by the
    population search at the end of training. ``progress(n)`` is called after every training episode.
    With no types to check (``types=()``) it still evaluates "before" and "untrained", which describe
    the outcome. ``deviations`` (optional): filled with every trained deviation's policy (a CPU state
    dict), keyed ``(type, deviation, agent, start)`` like its row, for the solver's pool.
    """
    cfg = config or member.config.best_response
    if not cfg.types or set(cfg.tolerance) < set(member.types):  # a config not resolved by a RunConfig
        by_name = {a.name: a for a in member.economy.agent_types}
        cfg = dataclasses.replace(cfg, types=cfg.types or member.types,
                                  tolerance={t: cfg.tolerance.get(t, by_name[t].tolerance) for t in member.types})
    types = cfg.types if types is None else types
    types = tuple(t for t in types if t not in member.fixed)  # a fixed type is reported as fixed, not checked
    episodes = episodes or cfg.episodes
    counts = {a.name: a.count for a in member.economy.agent_types}

    def evaluate(m: Member) -> EvalResult:
        return m.evaluate(cfg.eval_episodes, seed=cfg.eval_seed)

    before = evaluate(member)
    befores = {cfg.eval_episodes: before}

    base = with_fixed(evaluation_spec(member.types, member.episode), member.fixed)
    befores_agents = Befores(member, base)  # per-agent "before" returns, evaluated once per stream and length

    def before_at(n: int) -> EvalResult:
        """The undeviated evaluation on ``n`` episodes (sequential evaluation; the first is ``before``)."""
        if n not in befores:
            befores[n] = member.evaluate(n, seed=cfg.eval_seed)
        return befores[n]

    untrained = evaluate(member.untrained())
    reference = {t: before.mean(t) - untrained.mean(t) for t in member.types}
    starts = ("learned", "scratch") if cfg.from_scratch else ("learned",)
    quarter, half = _milestones(episodes)
    step = (lambda *_: progress(1)) if progress is not None else None
    common = {"member_id": member.member_id, "episodes": episodes, "member_episode": member.episode,
              "eval_seed": cfg.eval_seed}
    rows = []
    for agent_type in types:
        tol = cfg.tolerance.get(agent_type, math.inf)
        for start in starts:
            along: dict[int, float] = {}

            def record(done, clone, agent_type=agent_type, along=along):
                along[done] = evaluate(clone).mean(agent_type) - before.mean(agent_type)

            clone = deviate(member, agent_type, episodes, start, progress=step, checkpoints=(quarter, half),
                            on_checkpoint=record)
            if deviations is not None:
                deviations[agent_type, "type", -1, start] = cpu_state(clone.policies[agent_type])

            def trained_row(n, z, clone=clone, agent_type=agent_type, start=start, tol=tol, along=along):
                after = evaluate(clone) if n == cfg.eval_episodes else clone.evaluate(n, seed=cfg.eval_seed)
                return make_row(agent_type=agent_type, start=start, before=before_at(n).returns[agent_type],
                                after=after.returns[agent_type], untrained=untrained.mean(agent_type),
                                tolerance=tol, gains_along=(along.get(quarter, math.nan), along.get(half, math.nan)),
                                eval_episodes=n, z=z, **common)

            rows.append(decide(trained_row, cfg.eval_episodes, cfg.sequential_cap))
        if episodes and cfg.unilateral_agents:
            agents = spread_agents(counts[agent_type], cfg.unilateral_agents)
            before_own = befores_agents(cfg.eval_seed, cfg.eval_episodes)[agent_type] if agents else None
            untrained_own = (per_agent_returns(member.untrained(), base, cfg.eval_episodes, cfg.eval_seed)[agent_type]
                             if agents else None)
            for j in agents:
                along = {}

                def record_own(done, deviant, agent_type=agent_type, j=j, along=along, base=base, before_own=before_own):
                    own = per_agent_returns(member, base, cfg.eval_episodes, cfg.eval_seed, deviant)[agent_type]
                    along[done] = mean(own[:, j].tolist()) - mean(before_own[:, j].tolist())

                deviant = deviate_unilateral(member, agent_type, j, episodes, checkpoints=(quarter, half),
                                             on_checkpoint=record_own, progress=step)
                if deviations is not None:
                    deviations[agent_type, "unilateral", j, "learned"] = cpu_state(deviant.policy)

                def unilateral_row(n, z, agent_type=agent_type, j=j, deviant=deviant, base=base, tol=tol, along=along,
                                   before_own=before_own, untrained_own=untrained_own):
                    own_before = befores_agents(cfg.eval_seed, n)[agent_type]
                    own_after = per_agent_returns(member, base, n, cfg.eval_seed, deviant)[agent_type]
                    return make_row(agent_type=agent_type, start="learned", before=own_before[:, j].tolist(),
                                    after=own_after[:, j].tolist(), untrained=mean(untrained_own[:, j].tolist()),
                                    tolerance=tol, deviation="unilateral", agent=j,
                                    gains_along=(along.get(quarter, math.nan), along.get(half, math.nan)),
                                    eval_episodes=n, z=z, **common)

                rows.append(decide(unilateral_row, cfg.eval_episodes, cfg.sequential_cap))
    certified = tuple(types) + (tuple(member.fixed) if cfg.check_fixed else ())
    rows += certificate_rows(member, cfg, {t: reference[t] for t in certified}, befores=befores_agents)
    rows += endgame_rows(member, cfg, {t: reference[t] for t in types}, befores=befores_agents)
    return BestResponseReport(rows=rows, before=before, untrained=untrained)


def cpu_state(policy) -> dict:
    """A detached CPU copy of ``policy``'s state dict (what the solver's pool keeps)."""
    return {k: v.detach().to("cpu").clone() for k, v in policy.state_dict().items()}


def assess_outcome(member: Member, config: BestResponseConfig, eval_seeds: int, deviations: dict | None = None):
    """A final outcome as the search records it: ``(descriptors, descriptor_se, best-response rows)``.

    The descriptors are the mean over ``eval_seeds`` evaluations (seed stream ``eval``), the first of
    which is the best response's "before" evaluation; their spread gives the standard errors.
    ``deviations``: see :func:`best_response`.
    """
    report = best_response(member, config, deviations=deviations)
    evaluations = [report.before.stats.descriptors]
    for k in range(1, eval_seeds):
        seed = stream_seed(config.eval_seed, "eval", k)
        evaluations.append(member.evaluate(config.eval_episodes, seed=seed).stats.descriptors)
    mean, se = summarise_evaluations(evaluations)
    return mean, se, report.rows
