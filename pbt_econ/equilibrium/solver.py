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

import copy
import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from pbt_econ.config.episode import evaluation_spec, with_entropy_factor, with_fixed
from pbt_econ.core.seeds import stream_seed
from pbt_econ.equilibrium.best_response.certificates import (
    Befores,
    certifiable,
    constant_play,
    own_returns,
    per_agent_returns,
)
from pbt_econ.equilibrium.best_response.check import assess_outcome, cpu_state, deviate
from pbt_econ.equilibrium.best_response.endgame import parse_endgame_label
from pbt_econ.equilibrium.best_response.unilateral import deviate_unilateral
from pbt_econ.equilibrium.cycling import detect_cycle
from pbt_econ.equilibrium.metasolve import matched
from pbt_econ.equilibrium.verdicts import (
    CERTIFICATES,
    VERDICTS,
    nash_conv,
    rank,
    reference,
    relative_epsilon,
    worst_verdict,
)
from pbt_econ.learning.rollout import PoolPlay

__all__ = ["ENDINGS", "Exploitability", "PoolEntry", "SolveResult", "SolveRound", "exploitability", "mixture",
           "play_entry", "pool_from_rows", "replay_pool", "round_rank", "solve", "solve_rows", "train_against_pool"]

ENDINGS = ("verified", "budget", "cycling", "nothing to pool", "no rounds")
"""How a solve ends: every check verified; round budget spent; the outcome cycles; violated checks
remain but no pooled deviation has positive regret; no rounds were asked for."""


@dataclass(frozen=True)
class PoolEntry:
    """One frozen deviation of the pool: a constant action or a trained policy, of one agent (``agent >= 0``)
    or a whole type."""

    agent_type: str
    scope: str
    """``type`` or ``unilateral``."""
    agent: int
    action: int
    """Joint action index of the type's single head (a constant); -1 for a trained policy."""
    steps: tuple[int, ...]
    """Steps at which it is played (empty: every step; an end-game deviation: one of the last steps)."""
    label: str
    gain: float
    """Last measured gain of this deviation against the current profile, over its type's tolerance
    (:func:`~pbt_econ.equilibrium.verdicts.rank` of the row; negative when it loses)."""
    added: int
    """Round in which it joined the pool."""
    regret: float = 0.0
    """Cumulative regret: the sum of its measured gains over the rounds since it joined."""
    policy: dict | None = field(default=None, compare=False, repr=False)
    """A trained deviation's policy (CPU state dict); ``None`` for a constant."""

    @property
    def kind(self) -> str:
        return "policy" if self.policy is not None else "constant"


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


def _poolable(rows):
    """The violated rows the Nash verdict rests on: one agent's (unilateral) where the type has unilateral
    rows, else the whole type's (a type of one agent). A whole type of several agents playing a deviation
    is a coalition: nobody of that type would be left to learn a response in those copies, so such rows
    are reported, not pooled."""
    with_unilateral = {r.agent_type for r in rows if r.deviation == "unilateral"}
    return [r for r in rows if r.verdict == "violated" and (r.deviation == "type") != (r.agent_type in with_unilateral)]


def pool_from_rows(member, rows, round_index: int, max_actions: int, deviations: dict | None = None) -> list[PoolEntry]:
    """The violated deviations of ``rows`` that the Nash verdict rests on (:func:`_poolable`), as pool
    entries: certificates as constants, trained deviations as policies (from ``deviations``, keyed as
    :func:`~pbt_econ.equilibrium.best_response.check.best_response` fills it)."""
    grids = certifiable(member, max_actions, check_fixed=False)
    entries = []
    for r in _poolable(rows):
        common = dict(agent_type=r.agent_type, scope=r.deviation, agent=r.agent, gain=rank(r), added=round_index)
        if r.start not in CERTIFICATES:
            policy = (deviations or {}).get((r.agent_type, r.deviation, r.agent, r.start))
            if policy is not None:
                entries.append(PoolEntry(action=-1, steps=(), label=f"trained:{r.start}@{round_index}",
                                         policy=policy, **common))
            continue
        if r.agent_type not in grids:
            continue
        steps, label = ((parse_endgame_label(r.action)[0],), parse_endgame_label(r.action)[1]) \
            if r.start == "endgame" else ((), r.action)
        action = next((a for a in grids[r.agent_type] if member.economy.describe_action(r.agent_type, a) == label),
                      None)
        if action is not None:
            entries.append(PoolEntry(action=action, steps=steps, label=r.action, **common))
    return entries


def _trained_policies(member, br_config, rows) -> dict:
    """The policies of ``rows``' poolable trained deviations, trained again from ``member`` (the check that
    made ``rows`` ran on this member and its generator, so the same episodes give the same policies)."""
    out = {}
    for r in _poolable(rows):
        if r.start in CERTIFICATES:
            continue
        if r.deviation == "type":
            out[r.agent_type, "type", -1, r.start] = cpu_state(
                deviate(member, r.agent_type, r.episodes, r.start).policies[r.agent_type])
        else:
            out[r.agent_type, "unilateral", r.agent, r.start] = cpu_state(
                deviate_unilateral(member, r.agent_type, r.agent, r.episodes).policy)
    return out


def mixture(pool: list[PoolEntry], meta_solver: str) -> np.ndarray:
    """Probabilities over ``pool``: ``uniform``, or ``regret`` (regret matching on the cumulative regrets,
    :func:`~pbt_econ.equilibrium.metasolve.matched`; all zero when no regret is positive: nothing pays)."""
    if not pool:
        return np.zeros(0)
    if meta_solver == "uniform":
        return np.full(len(pool), 1.0 / len(pool))
    if meta_solver != "regret":
        raise ValueError(f"meta_solver = {meta_solver!r}: must be 'regret' or 'uniform'")
    regrets = np.array([e.regret for e in pool])
    return matched(regrets) if (regrets > 0).any() else np.zeros(len(pool))


def _policy_of(member, entry: PoolEntry):
    policy = copy.deepcopy(member.policies[entry.agent_type])
    policy.load_state_dict({k: v.to(member.device) for k, v in entry.policy.items()})
    return policy


def play_entry(member, entry: PoolEntry, copies: torch.Tensor | None = None, policy=None) -> PoolPlay:
    """``entry`` as a :class:`~pbt_econ.learning.rollout.PoolPlay` in ``copies`` (``[B]`` bool; default all):
    a constant after sampling, or a policy whose logits replace the shared ones (``policy``: the entry's
    network when the caller has built it already)."""
    play = constant_play(member, entry.agent_type, entry.scope, entry.agent, max(entry.action, 0), entry.steps)
    if copies is not None:
        play = dataclasses.replace(play, copies=copies)
    if entry.policy is not None:
        play = dataclasses.replace(play, action=(), policy=policy or _policy_of(member, entry))
    return play


def replay_pool(member, pool: list[PoolEntry], rows, br_config) -> list[float]:
    """Update the empirical game: each entry's gain against the current profile, over its type's tolerance,
    played in every copy on the check's evaluation seed (the deviating agents' own returns, after minus
    before, over the reference of the matching row of ``rows``)."""
    if not pool:
        return []
    base = with_fixed(evaluation_spec(member.types, member.episode), member.fixed)
    befores = Befores(member, base)
    episodes, seed = br_config.eval_episodes, br_config.eval_seed
    gains = []
    for e in pool:
        match = [r for r in rows if r.agent_type == e.agent_type and r.deviation == e.scope
                 and (e.scope == "type" or r.agent == e.agent)] or [r for r in rows if r.agent_type == e.agent_type]
        ref = reference(match[0]) if match else math.nan
        tol = br_config.tolerance.get(e.agent_type, math.inf)
        before = own_returns(befores(seed, episodes)[e.agent_type], e.scope, e.agent)
        after = own_returns(per_agent_returns(member, base, episodes, seed, pool_play=(play_entry(member, e),))
                            [e.agent_type], e.scope, e.agent)
        gain = sum(after) / len(after) - sum(before) / len(before)
        gains.append(gain / ref / tol if math.isfinite(ref) and ref > 0 and 0 < tol < math.inf else math.nan)
    return gains


def _plays(member, pool: list[PoolEntry], weights: np.ndarray, share: float, generator: torch.Generator,
           batch_size: int, networks: dict) -> tuple[PoolPlay, ...]:
    """One episode's pooled deviations: ``share`` of the copies, each given one entry drawn from ``weights``."""
    deviating = max(1, int(round(share * batch_size)))
    probs = torch.as_tensor(weights, dtype=torch.float64)
    drawn = torch.multinomial(probs, deviating, replacement=True, generator=generator).tolist()
    plays = []
    for copy_index, k in enumerate(drawn):
        copies = torch.zeros(batch_size, dtype=torch.bool, device=member.device)
        copies[copy_index] = True
        plays.append(play_entry(member, pool[k], copies, networks.get(k)))
    return tuple(plays)


def train_against_pool(member, pool: list[PoolEntry], weights: np.ndarray, episodes: int, share: float,
                       seed: int, progress: Callable[[int], None] | None = None, entropy_factor: float = 1.0) -> None:
    """Train ``member`` for ``episodes`` episodes with pooled deviations played in ``share`` of the copies,
    every type's entropy bonus multiplied by ``entropy_factor``."""
    generator = torch.Generator()
    generator.manual_seed(stream_seed(seed, "solve"))
    batch = member.config.training.batch_size
    networks = {k: _policy_of(member, e) for k, e in enumerate(pool) if e.policy is not None}
    for _ in range(episodes):
        spec = with_fixed(member.spec_at(member.episode), member.fixed)
        spec = with_entropy_factor(spec, entropy_factor)
        plays = _plays(member, pool, weights, share, generator, batch, networks) if pool else ()
        member.train_episode(spec, pool_play=plays)
        if progress is not None:
            progress(1)


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
          entropy_factor: float = 1.0) -> SolveResult:
    """Run up to ``rounds`` solver rounds on ``member`` (trained in place); see the module docstring.

    ``br_config``: the best-response settings of every check; ``episodes`` per round of training;
    ``share`` of the copies playing a pooled deviation; ``meta_solver`` ``regret`` or ``uniform``;
    ``seed`` of the solver's own draws (which copies, which entry) and of the recheck's training streams;
    ``start``: the outcome's check ``(descriptors, descriptor_se, rows)`` when the caller has it already
    (round 0 reuses it; its violated trained deviations are trained again for their policies);
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
            deviations = _trained_policies(member, br_config, rows)
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
                                  pool_policies=sum(p.policy is not None for p in pool), regrets=tuple(float(p.regret) for p in pool),
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
                           pool_size=r.pool_size, pool_policies=r.pool_policies, added=";".join(r.added), ending=result.ending,
                           chosen=r.round == result.chosen)
    if result.final and result.chosen >= 0:
        ex = result.final_exploitability
        chosen = result.rounds[result.chosen]
        rows += _type_rows(member_id, "recheck", chosen.round, chosen.member_episode, ex,
                           worst_verdict(e.verdict for e in ex), pool_size=len(result.pool),
                           pool_policies=sum(p.policy is not None for p in result.pool), added="",
                           ending=result.ending, chosen=True)
    return rows
