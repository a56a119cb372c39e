"""The deviation-aware solver: from checking an outcome to finding an ε-equilibrium (docs/model.md §10).

Shared-policy PPO learns responses only to what happens on its own training path, so a deviation that
never happens there (one firm that pays nothing) meets no learned response. Equilibrium solvers avoid
that self-confirming trap by putting the deviations they find into the training of the others
(OpenSpiel's ``psro_v2``, fictitious play). One round of :func:`solve` reads like a PSRO iteration:

1. **check** (``update_empirical_gamestate``): best response on the outcome, type-level and unilateral,
   trained and certified (:func:`~pbt_econ.equilibrium.best_response.check.assess_outcome`); its gains
   are the round's exploitability (:class:`Exploitability`);
2. **pool**: every violated constant deviation (a certificate: type-level, or one agent's) joins a pool
   of frozen opponents of its type (:class:`PoolEntry`);
3. **meta-solve** (``update_meta_strategies``): a mixture over the pool, ``uniform`` or ``regret``
   (each entry in proportion to its last measured positive gain against the current profile: regret
   matching with the deviations as the opponent's strategies);
4. **train** (``update_agents``): every learning type trains on; in a share of each batch's economy
   copies one pooled deviation drawn from the mixture is played (by one agent, or by the whole type),
   and its players' own transitions do not train the shared policy (:class:`~pbt_econ.learning.rollout.
   PoolPlay`): everyone else learns to respond to it.

The loop stops when every check is ``verified``, at its round budget, when the pool is empty while a
check is still violated (only trained deviations, which the pool does not hold, are violated), or on
cycling of the outcome (:func:`~pbt_econ.equilibrium.cycling.detect_cycle`), and says which.

The solved member is the **least exploitable iterate**, not necessarily the last: training against the
pool does not make exploitability fall monotonically (a round can sharpen one type onto an action that
opens a new deviation), so the member is restored to the round whose check ranks best (Nash verdict,
then type-level verdict, then the largest relative gain). Choosing the smallest of several noisy
checks flatters it, so a chosen round other than the last is checked again on fresh evaluation seeds
(``best_response.eval_seed`` moved to the ``recheck`` stream), and that check is the one reported.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from pbt_econ.config.episode import with_entropy_factor, with_fixed
from pbt_econ.core.seeds import stream_seed
from pbt_econ.equilibrium.best_response.certificates import certifiable
from pbt_econ.equilibrium.best_response.check import assess_outcome
from pbt_econ.equilibrium.best_response.endgame import parse_endgame_label
from pbt_econ.equilibrium.cycling import detect_cycle
from pbt_econ.equilibrium.verdicts import CERTIFICATES, VERDICTS, worst_verdict
from pbt_econ.learning.rollout import PoolPlay

__all__ = ["ENDINGS", "Exploitability", "PoolEntry", "SolveResult", "SolveRound", "exploitability", "mixture",
           "pool_from_rows", "solve", "solve_rows", "train_against_pool"]

ENDINGS = ("verified", "budget", "cycling", "nothing to pool", "no rounds")
"""How a solve ends: every check verified; round budget spent; the outcome cycles; violated checks
remain but none is a constant deviation the pool can hold; no rounds were asked for."""


@dataclass(frozen=True)
class PoolEntry:
    """One frozen deviation of the pool: a constant action of one agent (``agent >= 0``) or a whole type."""

    agent_type: str
    scope: str
    """``type`` or ``unilateral``."""
    agent: int
    action: int
    """Joint action index of the type's single head."""
    steps: tuple[int, ...]
    """Steps at which it is played (empty: every step; an end-game deviation: one of the last steps)."""
    label: str
    gain: float
    """Last measured relative gain of this deviation against the current profile (the regret)."""
    added: int
    """Round in which it joined the pool."""


@dataclass(frozen=True)
class Exploitability:
    """One type's exploitability at one round: the largest and the summed relative gain, per scope.

    Relative gains are ``epsilon_rel`` of the best-response rows (gain / |reward before|); ``*_ci95``
    are the half-widths of the largest gain's paired 95% interval, relative too.
    """

    agent_type: str
    type_max: float
    type_max_ci95: float
    unilateral_max: float
    unilateral_max_ci95: float
    unilateral_sum: float
    verdict: str
    """The Nash verdict: unilateral deviations where measured, else the type-level ones (as outcomes)."""
    verdict_type: str
    """The type-level (coalition, the paper's meta-equilibrium) verdict."""


def _rel_ci(row) -> float:
    ref = abs(row.reward_before)
    return row.gain_ci95 / ref if ref > 0 and math.isfinite(row.gain_ci95) else math.nan


def exploitability(rows) -> list[Exploitability]:
    """Per checked type, its exploitability from best-response ``rows`` (trained and certified)."""
    out = []
    for t in dict.fromkeys(r.agent_type for r in rows):
        mine = [r for r in rows if r.agent_type == t]
        typ = [r for r in mine if r.deviation == "type"]
        uni = [r for r in mine if r.deviation == "unilateral"]
        best_t = max(typ, key=lambda r: r.epsilon_rel, default=None)
        best_u = max(uni, key=lambda r: r.epsilon_rel, default=None)
        out.append(Exploitability(
            agent_type=t,
            type_max=max(0.0, best_t.epsilon_rel) if best_t else math.nan,
            type_max_ci95=_rel_ci(best_t) if best_t else math.nan,
            unilateral_max=max(0.0, best_u.epsilon_rel) if best_u else math.nan,
            unilateral_max_ci95=_rel_ci(best_u) if best_u else math.nan,
            unilateral_sum=sum(max(0.0, r.epsilon_rel) for r in uni) if uni else math.nan,
            verdict=worst_verdict(r.verdict for r in uni) if uni else worst_verdict(r.verdict for r in typ),
            verdict_type=worst_verdict(r.verdict for r in typ)))
    return out


def pool_from_rows(member, rows, round_index: int, max_actions: int) -> list[PoolEntry]:
    """The violated constant deviations of ``rows`` (certificates) that the Nash verdict rests on, as pool
    entries: one agent's (unilateral) where the type has unilateral rows, else the whole type's (a type of
    one agent). A whole type of several agents playing a constant is a coalition: nobody of that type would
    be left to learn a response in those copies, so such rows are reported, not pooled."""
    grids = certifiable(member, max_actions, check_fixed=False)
    with_unilateral = {r.agent_type for r in rows if r.deviation == "unilateral"}
    entries = []
    for r in rows:
        if r.start not in CERTIFICATES or r.verdict != "violated" or r.agent_type not in grids:
            continue
        if (r.deviation == "type") == (r.agent_type in with_unilateral):
            continue
        steps, label = ((parse_endgame_label(r.action)[0],), parse_endgame_label(r.action)[1]) \
            if r.start == "endgame" else ((), r.action)
        action = next((a for a in grids[r.agent_type] if member.economy.describe_action(r.agent_type, a) == label),
                      None)
        if action is None:
            continue
        entries.append(PoolEntry(agent_type=r.agent_type, scope=r.deviation, agent=r.agent, action=action,
                                 steps=steps, label=r.action, gain=max(0.0, r.epsilon_rel), added=round_index))
    return entries


def mixture(pool: list[PoolEntry], meta_solver: str) -> np.ndarray:
    """Probabilities over ``pool``: ``uniform``, or ``regret`` (in proportion to each entry's positive
    last gain; uniform when no entry has a positive gain)."""
    if not pool:
        return np.zeros(0)
    if meta_solver == "uniform":
        return np.full(len(pool), 1.0 / len(pool))
    if meta_solver != "regret":
        raise ValueError(f"meta_solver = {meta_solver!r}: must be 'regret' or 'uniform'")
    regrets = np.array([max(0.0, e.gain) for e in pool])
    total = regrets.sum()
    return regrets / total if total > 0 else np.full(len(pool), 1.0 / len(pool))


def _plays(member, pool: list[PoolEntry], weights: np.ndarray, share: float, generator: torch.Generator,
           batch_size: int) -> tuple[PoolPlay, ...]:
    """One episode's pooled deviations: ``share`` of the copies, each given one entry drawn from ``weights``."""
    deviating = max(1, int(round(share * batch_size)))
    probs = torch.as_tensor(weights, dtype=torch.float64)
    drawn = torch.multinomial(probs, deviating, replacement=True, generator=generator).tolist()
    counts = {a.name: a.count for a in member.economy.agent_types}
    plays = []
    for copy, k in enumerate(drawn):
        e = pool[k]
        copies = torch.zeros(batch_size, dtype=torch.bool, device=member.device)
        copies[copy] = True
        agents = torch.zeros(counts[e.agent_type], dtype=torch.bool, device=member.device)
        if e.scope == "type":
            agents[:] = True
        else:
            agents[e.agent] = True
        plays.append(PoolPlay(agent_type=e.agent_type, copies=copies, agents=agents, action=(e.action,),
                              steps=e.steps))
    return tuple(plays)


def train_against_pool(member, pool: list[PoolEntry], weights: np.ndarray, episodes: int, share: float,
                       seed: int, progress: Callable[[int], None] | None = None, entropy_factor: float = 1.0) -> None:
    """Train ``member`` for ``episodes`` episodes with pooled deviations played in ``share`` of the copies,
    every type's entropy bonus multiplied by ``entropy_factor``."""
    generator = torch.Generator()
    generator.manual_seed(stream_seed(seed, "solve"))
    batch = member.config.training.batch_size
    for _ in range(episodes):
        spec = with_fixed(member.spec_at(member.episode), member.fixed)
        spec = with_entropy_factor(spec, entropy_factor)
        plays = _plays(member, pool, weights, share, generator, batch) if pool else ()
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
    added: tuple[str, ...]
    """Labels of the deviations that joined the pool in this round (``type:scope:agent:action``)."""
    mixture: tuple[float, ...]


@dataclass(frozen=True)
class SolveResult:
    rounds: tuple[SolveRound, ...]
    ending: str
    final: tuple = ()
    """``(descriptors, descriptor_se, best-response rows)`` of the returned member: the chosen round's
    check, made again on fresh evaluation seeds when it is neither the last round nor round 0 (the
    outcome as it was, whose check came before any choice)."""
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
    return entry.agent_type, entry.scope, entry.agent, entry.action, entry.steps


def _profile(descriptors: dict[str, float], scale: dict[str, float]) -> np.ndarray:
    return np.array([descriptors[k] / scale[k] for k in sorted(scale)])


def solve(member, br_config, rounds: int, episodes: int, share: float, meta_solver: str, eval_seeds: int,
          seed: int, log: Callable[[str], None] | None = None, start: tuple | None = None,
          entropy_factor: float = 1.0) -> SolveResult:
    """Run up to ``rounds`` solver rounds on ``member`` (trained in place); see the module docstring.

    ``br_config``: the best-response settings of every check; ``episodes`` per round of training;
    ``share`` of the copies playing a pooled deviation; ``meta_solver`` ``regret`` or ``uniform``;
    ``seed`` of the solver's own draws (which copies, which entry); ``start``: the outcome's check
    ``(descriptors, descriptor_se, rows)`` when the caller has it already (round 0 reuses it);
    ``entropy_factor`` multiplies every type's entropy bonus in the training against the pool.
    """
    pool: list[PoolEntry] = []
    history: list[SolveRound] = []
    profiles: list[np.ndarray] = []
    scale: dict[str, float] = {}
    ending = "no rounds"
    final: tuple = ()
    best: tuple | None = None  # (rank, round, member state, check)
    say = log or (lambda _msg: None)
    for k in range(rounds + 1):
        descriptors, se, rows = start if (k == 0 and start is not None) else assess_outcome(member, br_config,
                                                                                           eval_seeds)
        final = (descriptors, se, rows)
        ex = tuple(exploitability(rows))
        verdict = worst_verdict(e.verdict for e in ex)
        verdict_type = worst_verdict(e.verdict_type for e in ex)
        rank = (VERDICTS.index(verdict), VERDICTS.index(verdict_type), _largest_gain(ex))
        if best is None or rank < best[0]:
            best = (rank, k, member.get_state(), final)
        found = pool_from_rows(member, rows, k, br_config.certificate_max_actions)
        pooled = {_key(p) for p in pool}
        new = [e for e in found if _key(e) not in pooled]
        gains = {_key(e): e.gain for e in found}
        pool = [dataclasses.replace(p, gain=gains.get(_key(p), 0.0)) for p in pool] + new
        weights = mixture(pool, meta_solver)
        history.append(SolveRound(round=k, member_episode=member.episode, exploitability=ex, verdict=verdict,
                                  verdict_type=verdict_type, pool_size=len(pool),
                                  added=tuple(f"{e.agent_type}:{e.scope}:{e.agent}:{e.label}" for e in new),
                                  mixture=tuple(float(w) for w in weights)))
        say(f"round {k}: verdict {verdict}, largest relative gain {rank[2]:.4g}, pool {len(pool)} (+{len(new)})")
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
    chosen = -1
    if best is not None:
        chosen = best[1]
        if chosen == 0 and history[-1].round > 0:  # no round did better: the outcome as it was
            member.set_state(best[2])
            final = best[3]
            say("returning round 0: no solver round ranked better than the outcome as it was")
        elif chosen != history[-1].round:
            member.set_state(best[2])
            fresh = dataclasses.replace(br_config, eval_seed=stream_seed(br_config.eval_seed, "recheck"))
            final = assess_outcome(member, fresh, eval_seeds)
            ex = tuple(exploitability(final[2]))
            say(f"returning round {chosen} (least exploitable), checked again on fresh seeds: verdict "
                f"{worst_verdict(e.verdict for e in ex)}, largest relative gain {_largest_gain(ex):.4g}")
    return SolveResult(rounds=tuple(history), ending=ending, final=final, pool=tuple(pool), chosen=chosen)


def _largest_gain(ex: tuple[Exploitability, ...]) -> float:
    """The largest relative gain of any type, type-level or unilateral (``inf`` if none is finite, so
    that a round without a measured gain never ranks best on it)."""
    gains = [g for e in ex for g in (e.type_max, e.unilateral_max) if math.isfinite(g)]
    return max(gains) if gains else math.inf


def solve_rows(member_id: str, result: SolveResult) -> list[dict]:
    """``solve.parquet`` rows: one per round and type (relative gains; see docs/outputs.md)."""
    rows = []
    for r in result.rounds:
        for e in r.exploitability:
            rows.append({"member_id": member_id, "round": r.round, "member_episode": r.member_episode,
                         "agent_type": e.agent_type, "type_max": e.type_max, "type_max_ci95": e.type_max_ci95,
                         "unilateral_max": e.unilateral_max, "unilateral_max_ci95": e.unilateral_max_ci95,
                         "unilateral_sum": e.unilateral_sum, "verdict": e.verdict, "verdict_type": e.verdict_type,
                         "outcome_verdict": r.verdict, "pool_size": r.pool_size, "added": ";".join(r.added),
                         "ending": result.ending, "chosen": r.round == result.chosen})
    return rows
