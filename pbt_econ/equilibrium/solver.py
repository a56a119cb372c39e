"""The deviation-aware solver: PSRO over best responses (docs/model.md §10).

Shared-policy PPO learns responses only to what happens on its own training path, so a deviation that
never happens there (one firm that pays nothing) meets no learned response. Equilibrium solvers avoid
that self-confirming trap by putting the deviations they find into the training of the others
(OpenSpiel's ``psro_v2``, fictitious play). One round of :func:`solve` is a PSRO iteration:

1. **update agents** (best responses): the outcome's check, type-level and unilateral, trained and
   certified (:func:`~pbt_econ.equilibrium.best_response.check.assess_outcome`); its gains are the
   round's exploitability (:class:`Exploitability`, on the verdict's scale);
2. **update the empirical game**: every *violated* deviation the Nash verdict rests on joins the pool of
   its type as a strategy (:class:`PoolEntry`): a certificate's constant action (at every step, or at one
   end-game step) or a trained deviation's *policy*, unilateral or type-level, consumers' included. Every
   entry already in the pool is played again against the current profile: its gain (over its type's
   tolerance, :func:`~pbt_econ.equilibrium.verdicts.rank`) is its payoff column of this round;
3. **update the meta-strategies**: ``regret`` is regret matching over the rounds: each entry's cumulative
   regret ``R(e) = sum_t gain_t(e)`` against the learned policy (the baseline strategy, gain 0), the
   mixture ``[R]^+ / sum [R]^+`` (:func:`pbt_econ.equilibrium.metasolve.matched`); an entry that stops
   paying keeps what it earned until later losses cancel it. ``uniform`` weights every entry alike;
4. **train** against the mixture: every learning type trains on; in a share of each batch's economy copies
   one entry drawn from the mixture is played (by one agent, or by the whole type), and its players'
   transitions do not train the shared policy (:class:`~pbt_econ.learning.rollout.PoolPlay`): everyone
   else learns to respond to it.

The empirical game is the entries' payoffs against the current profile (one column per round), not the
full cross-product of every type's pool: a cross-product table of ``n`` types costs the product of the
pool sizes in evaluations per round. Where the full table of a two-type game is wanted,
:func:`pbt_econ.equilibrium.metasolve.nash_2p` solves it (tested on games with known mixed equilibria).

The loop stops when every check is ``verified``, at its round budget, when the pool has no entry with
positive regret while a check is still violated, or on cycling of the outcome
(:func:`~pbt_econ.equilibrium.cycling.detect_cycle`), and says which.

The solved member is the **least exploitable iterate**, not necessarily the last (:func:`round_rank`:
Nash verdict, then type-level verdict, then the largest gain over its tolerance). Choosing the smallest
of several noisy checks flatters it, so the returned member is **always checked again** on fresh
evaluation seeds (``best_response.eval_seed`` moved to the ``recheck`` stream) and fresh best-response
training streams (its generator reseeded from the ``recheck`` stream), and that recheck is the row written
as final (``stage = recheck`` in ``solve.parquet``) and the outcome reported.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from pbt_econ.core.seeds import stream_seed
from pbt_econ.equilibrium.best_response.check import assess_outcome
from pbt_econ.equilibrium.cycling import detect_cycle
from pbt_econ.equilibrium.pool import (
    PoolEntry,
    mixture,
    play_entry,
    pool_from_rows,
    replay_pool,
    train_against_pool,
    trained_policies,
)
from pbt_econ.equilibrium.verdicts import VERDICTS, nash_conv, rank, relative_epsilon, worst_verdict

__all__ = ["ENDINGS", "Exploitability", "PoolEntry", "SolveResult", "SolveRound", "exploitability", "mixture",
           "play_entry", "pool_from_rows", "replay_pool", "round_rank", "solve", "solve_rows", "train_against_pool"]

ENDINGS = ("verified", "budget", "cycling", "nothing to pool", "no rounds")
"""How a solve ends: every check verified; round budget spent; the outcome cycles; violated checks
remain but no pooled deviation has positive regret; no rounds were asked for."""


@dataclass(frozen=True)
class Exploitability:
    """One type's exploitability at one round, on the verdict's scale.

    Relative gains are :func:`~pbt_econ.equilibrium.verdicts.relative_epsilon` of the best-response rows
    (the gain over the training improvement, else over ``|reward before|``: the scale the verdict reads);
    ``*_ci95`` are the half-widths of the largest gain's interval on the same scale (``half_width_rel``).
    """

    agent_type: str
    type_max: float
    type_max_ci95: float
    unilateral_max: float
    unilateral_max_ci95: float
    nash_conv: float
    """:func:`~pbt_econ.equilibrium.verdicts.nash_conv`: the sum over checked agents of each one's best
    gain, in reward units."""
    rank: float
    """The largest gain of any of the type's rows over its tolerance (:func:`~pbt_econ.equilibrium.verdicts.rank`)."""
    verdict: str
    """The Nash verdict: unilateral deviations where measured, else the type-level ones (as outcomes)."""
    verdict_type: str
    """The type-level (coalition, the paper's meta-equilibrium) verdict."""


def exploitability(rows) -> list[Exploitability]:
    """Per checked type, its exploitability from best-response ``rows`` (trained and certified)."""
    out = []
    conv = nash_conv(rows)
    for t in dict.fromkeys(r.agent_type for r in rows):
        mine = [r for r in rows if r.agent_type == t]
        typ = [r for r in mine if r.deviation == "type"]
        uni = [r for r in mine if r.deviation == "unilateral"]
        best_t = max(typ, key=relative_epsilon, default=None)
        best_u = max(uni, key=relative_epsilon, default=None)
        out.append(Exploitability(
            agent_type=t,
            type_max=max(0.0, relative_epsilon(best_t)) if best_t else math.nan,
            type_max_ci95=best_t.half_width_rel if best_t else math.nan,
            unilateral_max=max(0.0, relative_epsilon(best_u)) if best_u else math.nan,
            unilateral_max_ci95=best_u.half_width_rel if best_u else math.nan,
            nash_conv=conv[t], rank=max(rank(r) for r in mine),
            verdict=worst_verdict(r.verdict for r in uni) if uni else worst_verdict(r.verdict for r in typ),
            verdict_type=worst_verdict(r.verdict for r in typ)))
    return out


def round_rank(ex) -> tuple[int, int, float]:
    """How a round's check ranks (smaller is better): Nash verdict, type-level verdict, then the largest
    gain over its tolerance of any type (``inf`` if none is finite)."""
    gains = [e.rank for e in ex if math.isfinite(e.rank)]
    return (VERDICTS.index(worst_verdict(e.verdict for e in ex)),
            VERDICTS.index(worst_verdict(e.verdict_type for e in ex)), max(gains) if gains else math.inf)


@dataclass(frozen=True)
class SolveRound:
    """One round: the outcome's check before this round's training, and what was pooled."""

    round: int
    member_episode: int
    exploitability: tuple[Exploitability, ...]
    verdict: str
    """The outcome's Nash verdict (worst over types)."""
    verdict_type: str
    """The outcome's type-level verdict (worst over types)."""
    pool_size: int
    pool_policies: int
    """Entries of the pool that are trained policies (the rest are constants)."""
    regrets: tuple[float, ...]
    """Cumulative regret of every pool entry after this round's check (pool order)."""
    gains: tuple[str, ...]
    """Every pool entry's gain against this round's profile (over its tolerance) and its cumulative regret,
    as ``type:scope:agent:label=gain/regret`` (pool order): a pooled deviation measured round after round."""
    added: tuple[str, ...]
    """Labels of the deviations that joined the pool in this round (``type:scope:agent:action``)."""
    mixture: tuple[float, ...]


@dataclass(frozen=True)
class SolveResult:
    rounds: tuple[SolveRound, ...]
    ending: str
    final: tuple = ()
    """``(descriptors, descriptor_se, best-response rows)`` of the returned member: its recheck on fresh
    evaluation seeds and fresh best-response training streams."""
    pool: tuple[PoolEntry, ...] = field(default_factory=tuple)
    chosen: int = -1
    """The round whose member is returned (the least exploitable; ``-1``: none ran)."""

    @property
    def final_exploitability(self) -> tuple[Exploitability, ...]:
        """Per type, the exploitability of the returned member (from ``final``)."""
        return tuple(exploitability(self.final[2])) if self.final else ()

    @property
    def final_verdicts(self) -> tuple[str, str]:
        """The returned member's Nash and type-level verdicts (worst over types)."""
        ex = self.final_exploitability
        return worst_verdict(e.verdict for e in ex), worst_verdict(e.verdict_type for e in ex)


def _key(entry: PoolEntry) -> tuple:
    return entry.agent_type, entry.scope, entry.agent, entry.action, entry.steps, entry.label


def _profile(descriptors: dict[str, float], scale: dict[str, float]) -> np.ndarray:
    return np.array([descriptors[k] / scale[k] for k in sorted(scale)])


def recheck(member, br_config, eval_seeds: int, seed: int) -> tuple:
    """The returned member's final check: fresh evaluation seeds (``eval_seed`` moved to the ``recheck``
    stream) and fresh best-response training streams (a copy whose generator is reseeded from it)."""
    probe = member.copy()
    probe.generator.manual_seed(stream_seed(seed, "recheck"))
    fresh = dataclasses.replace(br_config, eval_seed=stream_seed(br_config.eval_seed, "recheck"))
    return assess_outcome(probe, fresh, eval_seeds)


def solve(member, br_config, rounds: int, episodes: int, share: float, meta_solver: str, eval_seeds: int,
          seed: int, log: Callable[[str], None] | None = None, start: tuple | None = None,
          entropy_factor: float = 1.0, start_deviations: dict | None = None) -> SolveResult:
    """Run up to ``rounds`` solver rounds on ``member`` (trained in place); see the module docstring.

    ``br_config``: the best-response settings of every check; ``episodes`` per round of training;
    ``share`` of the copies playing a pooled deviation; ``meta_solver`` ``regret`` or ``uniform``;
    ``seed`` of the solver's own draws (which copies, which entry) and of the recheck's training streams;
    ``start``: the outcome's check ``(descriptors, descriptor_se, rows)`` when the caller has it already
    (round 0 reuses it; its violated trained deviations' policies are ``start_deviations`` when the caller
    kept them from that check, else they are trained again);
    ``entropy_factor`` multiplies every type's entropy bonus in the training against the pool.
    """
    pool: list[PoolEntry] = []
    history: list[SolveRound] = []
    profiles: list[np.ndarray] = []
    scale: dict[str, float] = {}
    ending = "no rounds"
    best: tuple | None = None  # (rank, round, member state)
    say = log or (lambda _msg: None)
    for k in range(rounds + 1):
        deviations: dict = {}
        if k == 0 and start is not None:
            descriptors, se, rows = start
            deviations = start_deviations if start_deviations is not None else trained_policies(member, br_config, rows)
        else:
            descriptors, se, rows = assess_outcome(member, br_config, eval_seeds, deviations=deviations)
        ex = tuple(exploitability(rows))
        verdict = worst_verdict(e.verdict for e in ex)
        verdict_type = worst_verdict(e.verdict_type for e in ex)
        ranked = round_rank(ex)
        if best is None or ranked < best[0]:
            best = (ranked, k, member.get_state())
        # update the empirical game: the pool replayed against this round's profile, then the new entries
        replayed = replay_pool(member, pool, rows, br_config)
        pool = [dataclasses.replace(p, gain=g, regret=p.regret + (g if math.isfinite(g) else 0.0))
                for p, g in zip(pool, replayed)]
        pooled = {_key(p) for p in pool}
        new = [dataclasses.replace(e, regret=e.gain) for e in pool_from_rows(
            member, rows, k, br_config.certificate_max_actions, deviations) if _key(e) not in pooled]
        pool += new
        weights = mixture(pool, meta_solver)
        history.append(SolveRound(round=k, member_episode=member.episode, exploitability=ex, verdict=verdict,
                                  verdict_type=verdict_type, pool_size=len(pool),
                                  pool_policies=sum(p.policy is not None for p in pool),
                                  regrets=tuple(float(p.regret) for p in pool),
                                  gains=tuple(f"{p.agent_type}:{p.scope}:{p.agent}:{p.label}={p.gain:.4g}/{p.regret:.4g}"
                                              for p in pool),
                                  added=tuple(f"{e.agent_type}:{e.scope}:{e.agent}:{e.label}" for e in new),
                                  mixture=tuple(float(w) for w in weights)))
        say(f"round {k}: verdict {verdict}, largest gain/tolerance {ranked[2]:.4g}, pool {len(pool)} (+{len(new)})")
        if verdict == "verified":
            ending = "verified"
            break
        if k == rounds:
            ending = "budget"
            break
        if not scale:
            scale = {name: max(abs(v), 1e-9) for name, v in descriptors.items() if math.isfinite(v)}
        profiles.append(_profile(descriptors, scale))
        if detect_cycle(profiles, tolerance=0.01) is not None:
            ending = "cycling"
            break
        if not pool or not any(w > 0 for w in weights):
            ending = "nothing to pool"
            break
        train_against_pool(member, pool, weights, episodes, share, stream_seed(seed, "solve", k),
                           entropy_factor=entropy_factor)
    chosen, final = -1, ()
    if best is not None:
        chosen = best[1]
        if chosen != history[-1].round:
            member.set_state(best[2])
        final = recheck(member, br_config, eval_seeds, seed)
        ex = tuple(exploitability(final[2]))
        say(f"returning round {chosen} (least exploitable), checked again on fresh evaluation and best-response "
            f"streams: verdict {worst_verdict(e.verdict for e in ex)}, largest gain/tolerance {round_rank(ex)[2]:.4g}")
    return SolveResult(rounds=tuple(history), ending=ending, final=final, pool=tuple(pool), chosen=chosen)


def _type_rows(member_id: str, stage: str, round_index: int, member_episode: int, ex, verdict: str, **rest) -> list[dict]:
    return [{"member_id": member_id, "stage": stage, "round": round_index, "member_episode": member_episode,
             "agent_type": e.agent_type, "type_max": e.type_max, "type_max_ci95": e.type_max_ci95,
             "unilateral_max": e.unilateral_max, "unilateral_max_ci95": e.unilateral_max_ci95,
             "nash_conv": e.nash_conv, "rank": e.rank, "verdict": e.verdict, "verdict_type": e.verdict_type,
             "outcome_verdict": verdict, **rest} for e in ex]


def solve_rows(member_id: str, result: SolveResult) -> list[dict]:
    """``solve.parquet`` rows: one per round and type, then the returned member's recheck (``stage =
    recheck``, the final row per type); see docs/outputs.md."""
    rows = []
    for r in result.rounds:
        rows += _type_rows(member_id, "round", r.round, r.member_episode, r.exploitability, r.verdict,
                           pool_size=r.pool_size, pool_policies=r.pool_policies, added=";".join(r.added),
                           pool_gains=";".join(r.gains), ending=result.ending,
                           chosen=r.round == result.chosen)
    if result.final and result.chosen >= 0:
        ex = result.final_exploitability
        chosen = result.rounds[result.chosen]
        rows += _type_rows(member_id, "recheck", chosen.round, chosen.member_episode, ex,
                           worst_verdict(e.verdict for e in ex), pool_size=len(result.pool),
                           pool_policies=sum(p.policy is not None for p in result.pool), added="", pool_gains="",
                           ending=result.ending, chosen=True)
    return rows
