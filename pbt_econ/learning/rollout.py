"""One batched rollout of an economy under an :class:`~pbt_econ.config.episode.EpisodeSpec`.

:func:`rollout` is the only episode loop in pbt-econ: training, best response
and evaluation all call it, with different specs. It runs ``B`` economies for
``T`` steps, samples every agent's action from its type's policy inside the
spec's masks, records what each type's update needs (:class:`Trajectory`),
applies the no-Ponzi penalty to final rewards when the spec says so (for the
types the economy gives budgets), and lets the economy summarise the episode
(:class:`~pbt_econ.learning.records.EpisodeStats`). Nothing learns here and no state
outside the returned values changes, except that ``generator`` advances.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from pbt_econ.config.episode import EpisodeSpec
from pbt_econ.config.load import NoPonziConfig, RunConfig
from pbt_econ.economies.protocol import Economy
from pbt_econ.learning import policies
from pbt_econ.learning.records import Descriptors, EpisodeStats, PerType

__all__ = ["Deviant", "NonFiniteError", "PoolPlay", "Rollout", "Trajectory", "masks", "no_ponzi_violation", "rollout"]


class NonFiniteError(FloatingPointError):
    """A reward, state value or loss became NaN or infinite; the member's state is the last good one."""


@dataclass
class Trajectory:
    """One agent type's rollout: ``[T, B, n]``-shaped tensors (``n`` agents of the type)."""

    obs: torch.Tensor  # [T, B, n, D]
    action: torch.Tensor  # [T, B, n, H] int64
    logp: torch.Tensor  # [T, B, n]
    value: torch.Tensor  # [T, B, n]
    reward: torch.Tensor  # [T, B, n], unscaled, no-Ponzi penalty included
    allowed: torch.Tensor  # [H, K] or [1, K] bool
    learns: torch.Tensor | None = None
    """``[B, n]`` bool: which agents' transitions train the shared policy (``None``: all). Agents that
    played a pooled deviation (:class:`PoolPlay`) do not."""


@dataclass(frozen=True)
class Deviant:
    """A policy that acts for agents ``agents`` of ``agent_type`` instead of the type's shared one."""

    agent_type: str
    agents: tuple[int, ...]
    policy: policies.ActorCritic

    def chosen(self, n: int, device) -> torch.Tensor:
        mask = torch.zeros(n, dtype=torch.bool, device=device)
        mask[list(self.agents)] = True
        return mask


@dataclass(frozen=True)
class PoolPlay:
    """A pooled deviation played in some economy copies (the solver's training against its pool).

    In copies ``copies`` (``[B]`` bool) the agents ``agents`` (``[n]`` bool: one agent, or the whole type)
    of ``agent_type`` play the constant head indices ``action`` (replacing, after sampling, what the shared
    policy drew) or the pooled ``policy`` instead of the shared policy, at the
    steps ``steps`` (empty: every step; a time-dependent deviation of a finite-horizon economy
    otherwise); their transitions do not train it (:attr:`Trajectory.learns`), everyone else learns to
    respond.
    """

    agent_type: str
    copies: torch.Tensor
    agents: torch.Tensor
    action: tuple[int, ...] = ()
    steps: tuple[int, ...] = ()
    policy: policies.ActorCritic | None = None
    """A pooled *policy* (a trained deviation) instead of a constant: its logits replace the shared
    policy's for the deviating agents before sampling, so everyone else's draws are unchanged."""

    def acts_at(self, step: int) -> bool:
        return not self.steps or step in self.steps

    def where(self) -> torch.Tensor:
        """``[B, n]`` bool: the deviating agents of each copy."""
        return self.copies[:, None] & self.agents[None, :]


@dataclass(frozen=True)
class Rollout:
    """What :func:`rollout` returns: per-type trajectories, the summary, and the final state."""

    trajectories: dict[str, Trajectory]
    stats: EpisodeStats
    final: Any

    def returns(self, agent_type: str) -> list[float]:
        """Mean per-agent episode return of ``agent_type`` for each economy copy (``B`` values)."""
        return self.trajectories[agent_type].reward.sum(0).mean(-1).tolist()


def masks(economy: Economy, spec: EpisodeSpec) -> dict[str, torch.Tensor]:
    """Allowed actions of each type under ``spec`` (``[H, K]`` or ``[1, K]`` bool)."""
    return {t: economy.mask(t, a.mask_progress, dict(a.mask_start)) for t, a in spec.agents.items()}


def no_ponzi_violation(economy: Economy, final: Any, config: NoPonziConfig) -> dict[str, torch.Tensor]:
    """Scaled debt at episode end, ``max(-budget, 0) / scale``, ``[B, n]`` per type with a budget."""
    budgets = economy.budgets(final) or {}
    scales = {**economy.budget_scales(), **config.budget_scale}
    return {t: (-b).clamp(min=0) / scales.get(t, 1.0) for t, b in budgets.items()}


@torch.no_grad()
def rollout(
    agents: dict[str, policies.ActorCritic],
    economy: Economy,
    config: RunConfig,
    spec: EpisodeSpec,
    generator: torch.Generator,
    multipliers: dict[str, float],
    deviant: Deviant | None = None,
    pool_play: tuple[PoolPlay, ...] = (),
) -> Rollout:
    """Run one episode of ``B`` economies under ``spec``; nothing learns here.

    ``agents[type]`` is that type's shared policy; ``multipliers`` the no-Ponzi
    multipliers (read only); ``deviant`` (optional) a second policy that acts for some agents of one
    type (a unilateral deviation): both networks are evaluated and each agent's logits and value are
    selected from its own network, so one sample covers every agent. ``pool_play`` (optional): pooled
    deviations played in some copies (:class:`PoolPlay`; the same draws for everyone else). Raises
    :class:`NonFiniteError` if a return or a final budget is not finite.
    """
    T = economy.episode_length
    types = spec.types
    allowed = masks(economy, spec)
    state = economy.reset(theta_scale=spec.theta_scale, generator=generator)
    summary = economy.summary()
    store: dict[str, dict[str, list[torch.Tensor]]] = {
        t: {"obs": [], "action": [], "logp": [], "value": [], "reward": []} for t in types
    }
    for step in range(T):
        obs = economy.observe(state)
        indices = {}
        for t in types:
            fixed = spec.agent(t).fixed_action
            if fixed is not None:  # a fixed policy: the same action for every agent, no network, no sampling
                n = obs[t].shape[1]
                idx = torch.tensor(fixed, device=obs[t].device).expand(obs[t].shape[0], n, len(fixed))
                logp = value = torch.zeros(obs[t].shape[:2], device=obs[t].device, dtype=obs[t].dtype)
            else:
                logits, value = agents[t](obs[t])
                if deviant is not None and deviant.agent_type == t:
                    own_logits, own_value = deviant.policy(obs[t])
                    chosen = deviant.chosen(obs[t].shape[1], obs[t].device)  # [n] bool
                    logits = torch.where(chosen[None, :, None, None], own_logits, logits)
                    value = torch.where(chosen[None, :], own_value, value)
                for play in pool_play:  # pooled policies: their logits, the same draws
                    if play.agent_type == t and play.policy is not None and play.acts_at(step):
                        pool_logits, pool_value = play.policy(obs[t])
                        where = play.where()
                        logits = torch.where(where[:, :, None, None], pool_logits, logits)
                        value = torch.where(where, pool_value, value)
                logits = policies.masked_logits(logits, allowed[t])
                idx, logp = policies.sample_with_log_prob(logits, generator)
            for play in pool_play:  # after sampling: everyone else sees the draws of "before"
                if play.agent_type == t and play.policy is None and play.acts_at(step):
                    action = torch.tensor(play.action, device=idx.device)
                    idx = torch.where(play.where()[:, :, None], action, idx)
            indices[t] = idx
            s = store[t]
            s["obs"].append(obs[t])
            s["action"].append(idx)
            s["logp"].append(logp)
            s["value"].append(value)
        actions = economy.decode(indices)
        before = state
        state, rewards, info = economy.step(state, actions)
        summary.add(before, actions, info)
        for t in types:
            store[t]["reward"].append(rewards[t])

    learns: dict[str, torch.Tensor] = {}
    for play in pool_play:
        base = learns.get(play.agent_type)
        learns[play.agent_type] = ~play.where() if base is None else base & ~play.where()
    trajectories = {
        t: Trajectory(obs=torch.stack(s["obs"]), action=torch.stack(s["action"]), logp=torch.stack(s["logp"]),
                      value=torch.stack(s["value"]), reward=torch.stack(s["reward"]), allowed=allowed[t],
                      learns=learns.get(t))
        for t, s in store.items()
    }
    np_cfg = config.training.no_ponzi
    if np_cfg.enabled and spec.penalties:
        for t, violation in no_ponzi_violation(economy, state, np_cfg).items():
            trajectories[t].reward[-1] -= multipliers[t] * violation

    returns = {t: trajectories[t].reward.sum(0) for t in types}  # [B, n]
    budgets = economy.budgets(state) or {}
    finite = torch.stack([torch.isfinite(r).all() for r in returns.values()]
                         + [torch.isfinite(b).all() for b in budgets.values()])
    if not bool(finite.all()):
        raise NonFiniteError(f"non-finite reward or budget in episode {spec.episode}")
    described = summary.finish(state, returns)
    described.update({f"{t}_budget": b.mean() for t, b in budgets.items()})
    numbers = dict(zip(described, torch.stack(list(described.values())).tolist()))  # one device sync
    stats = EpisodeStats(descriptors=Descriptors({d.name: numbers[d.name] for d in economy.descriptors}),
                         budgets=PerType({f"{t}_budget": numbers[f"{t}_budget"] for t in budgets}))
    return Rollout(trajectories=trajectories, stats=stats, final=state)
