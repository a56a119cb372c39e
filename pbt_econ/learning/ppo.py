"""The PPO / policy-gradient update, GAE, and the one optimiser factory.

:func:`update_policy` reads like CleanRL's PPO: returns and advantages (GAE
over ``[T, ...]``, each type's own discount; the reference did not discount,
we do), flatten, standardise advantages, then epochs x minibatches of
clipped surrogate + value loss - entropy bonus with gradient-norm clipping.
With ``algorithm: pg`` it takes one plain policy-gradient step with a value
baseline. :func:`make_optimizer` builds every optimiser pbt-econ uses
(training, PBT copies, best response from scratch).
"""

from __future__ import annotations

import math

import torch

from pbt_econ.config.load import AgentTrainingConfig, TrainingConfig
from pbt_econ.learning import policies
from pbt_econ.learning.records import LossStats
from pbt_econ.learning.rollout import NonFiniteError, Trajectory

__all__ = ["gae", "make_optimizer", "update_policy"]

ADAM_EPS = 1e-5
"""Adam's epsilon (CleanRL's PPO value; PyTorch's default 1e-8 is less stable with standardised advantages)."""


def make_optimizer(policy: torch.nn.Module, lr: float) -> torch.optim.Optimizer:
    """The optimiser of one agent type's policy: Adam at learning rate ``lr``."""
    return torch.optim.Adam(policy.parameters(), lr=lr, eps=ADAM_EPS)


def gae(rewards: torch.Tensor, values: torch.Tensor, gamma: float, lam: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Generalised advantage estimates over the first (time) dimension.

    ``rewards, values [T, ...]``; the episode ends after step ``T - 1`` (no
    bootstrap). Returns ``(advantages, returns)``, both ``[T, ...]``, with
    ``returns = advantages + values``; ``lam = 1`` gives discounted returns.

    .. math:: \\delta_t = r_t + \\gamma V_{t+1} - V_t, \\quad
              A_t = \\delta_t + \\gamma \\lambda A_{t+1}
    """
    T = rewards.shape[0]
    advantages = torch.zeros_like(rewards)
    next_value = torch.zeros_like(rewards[0])
    next_adv = torch.zeros_like(rewards[0])
    for t in range(T - 1, -1, -1):
        delta = rewards[t] + gamma * next_value - values[t]
        next_adv = delta + gamma * lam * next_adv
        advantages[t] = next_adv
        next_value = values[t]
    return advantages, advantages + values


def update_policy(
    policy: policies.ActorCritic,
    optimizer: torch.optim.Optimizer,
    traj: Trajectory,
    cfg: TrainingConfig,
    agent: AgentTrainingConfig,
    entropy_factor: float,
    generator: torch.Generator,
    return_scale: float = 1.0,
) -> LossStats:
    """One PPO (``cfg.algorithm == "ppo"``) or policy-gradient update of ``policy`` from one rollout.

    ``traj`` holds ``[T, B, n]`` tensors; rewards are divided by
    ``agent.reward_scale`` and then by ``return_scale`` (the running return
    std of :mod:`pbt_econ.learning.normalize`, 1 without normalisation). Returns the means of ``pg_loss``, ``v_loss``,
    ``entropy`` and ``approx_kl`` over minibatch steps. A non-finite loss
    raises :class:`NonFiniteError`; the caller (:meth:`Member.learn`) restores
    every parameter it had before the update, since earlier minibatches may
    already have stepped.
    """
    device = traj.obs.device
    rewards = traj.reward / agent.reward_scale
    if return_scale != 1.0:
        rewards = rewards / return_scale
    advantages, returns = gae(rewards, traj.value, agent.gamma, cfg.gae_lambda)
    with torch.no_grad():
        residual_var = (returns - traj.value).var()
        diagnostics = {
            "explained_variance": float(1 - residual_var / returns.var().clamp(min=1e-12)),
            "value_mean": float(traj.value.mean()), "return_mean": float(returns.mean()),
            "advantage_std": float(advantages.std()), "return_scale": float(return_scale),
        }
    obs = traj.obs.flatten(0, 2)
    actions = traj.action.flatten(0, 2)
    old_logp = traj.logp.flatten()
    advantages = advantages.flatten()
    returns = returns.flatten()
    if traj.learns is not None:  # agents that played a pooled deviation do not train the shared policy
        keep = traj.learns.expand(traj.obs.shape[:3]).flatten()
        obs, actions, old_logp = obs[keep], actions[keep], old_logp[keep]
        advantages, returns = advantages[keep], returns[keep]
    advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
    entropy_coef = agent.entropy_coef * entropy_factor
    n = obs.shape[0]
    ppo = cfg.algorithm == "ppo"
    epochs, minibatches = (cfg.update_epochs, cfg.minibatches) if ppo else (1, 1)
    size = math.ceil(n / minibatches)
    sums = {"pg_loss": 0.0, "v_loss": 0.0, "entropy": 0.0, "approx_kl": 0.0}
    steps = 0
    for _ in range(epochs):
        order = torch.randperm(n, generator=generator, device=device) if minibatches > 1 else None
        for start in range(0, n, size):
            mb = slice(start, start + size) if order is None else order[start:start + size]
            logits, value = policy(obs[mb])
            logits = policies.masked_logits(logits, traj.allowed)
            new_logp, entropy = policies.log_prob_and_entropy(logits, actions[mb])
            entropy = entropy.mean()
            adv = advantages[mb]
            logratio = new_logp - old_logp[mb]
            ratio = logratio.exp()
            if ppo:
                pg_loss = torch.max(-adv * ratio, -adv * ratio.clamp(1 - cfg.ppo_clip, 1 + cfg.ppo_clip)).mean()
            else:
                pg_loss = -(adv * new_logp).mean()
            v_loss = 0.5 * (value - returns[mb]).pow(2).mean()
            loss = pg_loss - entropy_coef * entropy + cfg.value_coef * v_loss
            if not bool(torch.isfinite(loss)):
                raise NonFiniteError(f"non-finite loss in minibatch step {steps}")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(policy.parameters(), cfg.max_grad_norm)
            optimizer.step()
            with torch.no_grad():
                approx_kl = ((ratio - 1) - logratio).mean()
            for k, v in (("pg_loss", pg_loss), ("v_loss", v_loss), ("entropy", entropy), ("approx_kl", approx_kl)):
                sums[k] += float(v.detach())
            steps += 1
    return LossStats(**{k: v / steps for k, v in sums.items()}, **diagnostics)
