"""One batched rollout of the economy under an :class:`~pbt_econ.episode.EpisodeSpec`.

:func:`rollout` is the only episode loop in pbt-econ: training, best response
and evaluation all call it, with different specs. It runs ``B`` economies for
``T`` steps, samples every agent's action from its type's policy inside the
spec's masks, records what each type's update needs (:class:`Trajectory`),
applies the no-Ponzi penalty to final rewards when the spec says so, and
summarises the economy (:class:`~pbt_econ.records.EpisodeStats`). Nothing
learns here and no state outside the returned values changes, except that
``generator`` advances.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from pbt_econ import policies
from pbt_econ.config import NoPonziConfig, RunConfig
from pbt_econ.economy import Economy, EconomyState
from pbt_econ.episode import AGENT_TYPES, EpisodeSpec
from pbt_econ.outcomes import Descriptors
from pbt_econ.records import EpisodeStats
from pbt_econ.spaces import ActionSpaces, observe_consumer, observe_firm, observe_government

__all__ = ["NonFiniteError", "Rollout", "Trajectory", "gini", "masks", "no_ponzi_violation", "rollout"]


class NonFiniteError(FloatingPointError):
    """A reward, state value or loss became NaN or infinite; the member's state is the last good one."""


@dataclass
class Trajectory:
    """One agent type's rollout: ``[T, B, n]``-shaped tensors (``n`` agents; 1 for the government)."""

    obs: torch.Tensor  # [T, B, n, D]
    action: torch.Tensor  # [T, B, n, H] int64
    logp: torch.Tensor  # [T, B, n]
    value: torch.Tensor  # [T, B, n]
    reward: torch.Tensor  # [T, B, n], unscaled, no-Ponzi penalty included
    allowed: torch.Tensor  # [H, K] or [1, K] bool


@dataclass(frozen=True)
class Rollout:
    """What :func:`rollout` returns: per-type trajectories, the summary, and the final state."""

    trajectories: dict[str, Trajectory]
    stats: EpisodeStats
    final: EconomyState

    def returns(self, agent_type: str) -> list[float]:
        """Mean per-agent episode return of ``agent_type`` for each economy copy (``B`` values)."""
        return self.trajectories[agent_type].reward.sum(0).mean(-1).tolist()


def masks(spaces: ActionSpaces, spec: EpisodeSpec, config: RunConfig) -> dict[str, torch.Tensor]:
    """Allowed actions of each type under ``spec`` (``[H, K]`` consumer, ``[1, K]`` firm and government)."""
    firm, gov = spec.firm, spec.government
    return {
        "consumer": spaces.consumer_valid,
        "firm": spaces.firm_mask(
            firm.mask_progress,
            firm.start("price", config.economy.initial_price),
            firm.start("wage", config.spaces.wage[0]),
        ),
        "government": spaces.government_mask(
            gov.mask_progress, gov.start("income_tax", 0.0), gov.start("corporate_tax", 0.0)
        ),
    }


def gini(x: torch.Tensor) -> torch.Tensor:
    """Gini coefficient along the last dimension of non-negative ``x``: ``[..., n] -> [...]``."""
    x = x.clamp(min=0).sort(dim=-1).values
    n = x.shape[-1]
    ranks = torch.arange(1, n + 1, device=x.device, dtype=x.dtype)
    total = x.sum(-1)
    g = (2.0 * (ranks * x).sum(-1) / (n * total.clamp(min=1e-12))) - (n + 1.0) / n
    return torch.where(total > 0, g, torch.zeros_like(g))


def no_ponzi_violation(final: EconomyState, config: NoPonziConfig) -> dict[str, torch.Tensor]:
    """Scaled debt at episode end, ``max(-budget, 0) / scale``: consumer ``[B, C]``, firm ``[B, F]``."""
    return {
        "consumer": (-final.consumer_budget).clamp(min=0) / config.consumer_budget_scale,
        "firm": (-final.firm_budget).clamp(min=0) / config.firm_budget_scale,
    }


def _observe(state: EconomyState, config: RunConfig) -> dict[str, torch.Tensor]:
    econ = config.economy
    return {
        "consumer": observe_consumer(state, econ),
        "firm": observe_firm(state, econ),
        "government": observe_government(state, econ).unsqueeze(1),
    }


@torch.no_grad()
def rollout(
    agents: dict[str, policies.ActorCritic],
    economy: Economy,
    spaces: ActionSpaces,
    config: RunConfig,
    spec: EpisodeSpec,
    generator: torch.Generator,
    multipliers: dict[str, float],
) -> Rollout:
    """Run one episode of ``B`` economies under ``spec``; nothing learns here.

    ``agents[type]`` is that type's shared policy; ``multipliers`` the no-Ponzi
    multipliers (read only). Raises :class:`NonFiniteError` if a return or a
    final budget is not finite.
    """
    T = config.economy.episode_length
    allowed = masks(spaces, spec, config)
    state = economy.reset(theta_scale=spec.theta_scale)
    store: dict[str, dict[str, list[torch.Tensor]]] = {
        t: {"obs": [], "action": [], "logp": [], "value": [], "reward": []} for t in AGENT_TYPES
    }
    zero = torch.zeros((), device=state.price.device, dtype=state.price.dtype)
    totals = {k: zero.clone() for k in ("price", "wage", "hours", "consumption", "production", "exports", "stock",
                                        "income_tax", "corporate_tax", "export_share")}
    for _ in range(T):
        obs = _observe(state, config)
        indices = {}
        for t in AGENT_TYPES:
            fixed = spec.agent(t).fixed_action
            if fixed is not None:  # a fixed policy: the same action for every agent, no network, no sampling
                n = obs[t].shape[1]
                idx = torch.tensor(fixed, device=obs[t].device).expand(obs[t].shape[0], n, len(fixed))
                logp = value = torch.zeros(obs[t].shape[:2], device=obs[t].device, dtype=obs[t].dtype)
            else:
                logits, value = agents[t](obs[t])
                logits = policies.masked_logits(logits, allowed[t])
                idx, logp = policies.sample_with_log_prob(logits, generator)
            indices[t] = idx
            s = store[t]
            s["obs"].append(obs[t])
            s["action"].append(idx)
            s["logp"].append(logp)
            s["value"].append(value)
        actions = spaces.decode(indices["consumer"], indices["firm"].squeeze(-1), indices["government"].reshape(-1))
        totals["price"] += state.price.mean()
        totals["wage"] += state.wage.mean()
        totals["stock"] += state.stock.mean()
        totals["income_tax"] += state.income_tax.mean()
        totals["corporate_tax"] += state.corporate_tax.mean()
        state, rewards, info = economy.step(state, actions)
        store["consumer"]["reward"].append(rewards.consumer)
        store["firm"]["reward"].append(rewards.firm)
        store["government"]["reward"].append(rewards.government.unsqueeze(-1))
        totals["hours"] += actions.hours.mean()
        consumed = info["consumed"]
        totals["consumption"] += consumed.sum(-1).mean()
        totals["production"] += info["production"].mean()
        totals["exports"] += info["exported"].mean()
        totals["export_share"] += (info["exported"] > consumed.sum(1)).to(zero.dtype).mean()

    trajectories = {
        t: Trajectory(obs=torch.stack(s["obs"]), action=torch.stack(s["action"]), logp=torch.stack(s["logp"]),
                      value=torch.stack(s["value"]), reward=torch.stack(s["reward"]), allowed=allowed[t])
        for t, s in store.items()
    }
    np_cfg = config.training.no_ponzi
    if np_cfg.enabled and spec.penalties:
        for t, violation in no_ponzi_violation(state, np_cfg).items():
            trajectories[t].reward[-1] -= multipliers[t] * violation

    returns = {t: trajectories[t].reward.sum(0) for t in AGENT_TYPES}  # [B, n]
    finite = torch.stack([torch.isfinite(r).all() for r in returns.values()]
                         + [torch.isfinite(state.consumer_budget).all(), torch.isfinite(state.firm_budget).all()])
    if not bool(finite.all()):
        raise NonFiniteError(f"non-finite reward or budget in episode {spec.episode}")
    summary = {k: totals[k] / T for k in ("price", "wage", "hours", "consumption", "production", "exports",
                                          "stock", "income_tax", "corporate_tax")}
    summary.update(
        welfare=returns["government"].mean(), reward_consumer=returns["consumer"].mean(),
        reward_firm=returns["firm"].mean(), gini=gini(state.consumer_budget).mean(),
        export_share=totals["export_share"] / T,
        consumer_budget=state.consumer_budget.mean(), firm_budget=state.firm_budget.mean(),
    )
    values = dict(zip(summary, torch.stack(list(summary.values())).tolist()))  # one device sync
    budgets = {k: values.pop(k) for k in ("consumer_budget", "firm_budget")}
    stats = EpisodeStats(descriptors=Descriptors(**values), **budgets)
    return Rollout(trajectories=trajectories, stats=stats, final=state)
