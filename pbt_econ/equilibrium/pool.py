"""The solver's pool of deviations: its entries, how they join, how they are played and replayed, and the
meta-strategy over them (docs/model.md §10; the loop is :mod:`pbt_econ.equilibrium.solver`).

An entry is a frozen deviation of one agent or one whole type: a constant action (a certificate, at every
step or at one end-game step), played after sampling (:func:`~pbt_econ.equilibrium.best_response.
certificates.constant_play`), or a trained deviation's policy, whose logits replace the shared policy's
for the deviating agents before sampling. Either way every other agent sees the draws it would have seen.
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
from pbt_econ.equilibrium.best_response.check import cpu_state, deviate
from pbt_econ.equilibrium.best_response.endgame import parse_endgame_label
from pbt_econ.equilibrium.best_response.unilateral import deviate_unilateral
from pbt_econ.equilibrium.metasolve import matched
from pbt_econ.equilibrium.verdicts import CERTIFICATES, rank, reference
from pbt_econ.learning.rollout import PoolPlay

__all__ = ["PoolEntry", "mixture", "play_entry", "pool_from_rows", "replay_pool", "train_against_pool",
           "trained_policies"]


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


def trained_policies(member, br_config, rows) -> dict:
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
