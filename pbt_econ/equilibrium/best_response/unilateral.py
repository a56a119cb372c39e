"""Trained unilateral deviations: one agent's own copy of the policy, trained on its own reward.

The Nash question for a type with many agents: can agent ``j`` alone gain while every other agent,
its own type included, keeps the frozen shared policy? :func:`deviate_unilateral` copies the type's
policy into a :class:`~pbt_econ.learning.rollout.Deviant` for agent ``j`` and trains only that copy, by the same
rollout and PPO update as training: both networks are evaluated in one rollout and each agent's
logits are taken from its own network (no loop over agents); the update sees agent ``j``'s slice of
the trajectory (its observations, actions, rewards) only. Nothing else learns, no no-Ponzi multiplier
moves. A type with a single agent has no unilateral deviation distinct from its type-level one.
"""

from __future__ import annotations

import copy
import dataclasses

from pbt_econ.config.episode import best_response_spec, with_fixed
from pbt_econ.learning.normalize import discounted_returns
from pbt_econ.learning.ppo import make_optimizer, update_policy
from pbt_econ.learning.rollout import Deviant, Trajectory

__all__ = ["deviate_unilateral", "spread_agents"]


def spread_agents(count: int, k: int) -> list[int]:
    """``k`` agent indices spread evenly over ``0 ... count - 1`` (none for a single-agent type)."""
    if count <= 1 or k <= 0:
        return []
    k = min(k, count)
    return sorted({round(i * (count - 1) / max(k - 1, 1)) for i in range(k)})


def _slice(traj: Trajectory, agent: int) -> Trajectory:
    sl = slice(agent, agent + 1)
    return Trajectory(obs=traj.obs[:, :, sl], action=traj.action[:, :, sl], logp=traj.logp[:, :, sl],
                      value=traj.value[:, :, sl], reward=traj.reward[:, :, sl], allowed=traj.allowed)


def deviate_unilateral(member, agent_type: str, agent: int, episodes: int, checkpoints=(), on_checkpoint=None,
                       progress=None) -> Deviant:
    """Train agent ``agent``'s own copy of ``agent_type``'s policy for ``episodes`` episodes.

    ``member`` is not changed (a clone trains). ``on_checkpoint(done, deviant)`` is called after each
    episode count in ``checkpoints`` (convergence evidence); ``progress()`` after every episode.
    """
    clone = member.copy()
    policy = copy.deepcopy(clone.policies[agent_type])
    settings = clone.training.agent(agent_type)
    optimizer = make_optimizer(policy, settings.lr)
    moments = copy.copy(clone.return_moments[agent_type])
    deviant = Deviant(agent_type, (agent,), policy)
    for done in range(1, episodes + 1):
        spec = with_fixed(best_response_spec(clone.spec_at(clone.episode), agent_type), clone.fixed)
        frozen = {t: dataclasses.replace(a, learns=False) for t, a in spec.agents.items()}
        spec = dataclasses.replace(spec, agents=frozen, update_multipliers=False)
        result = clone.run_episode(spec, clone.generator, deviant)
        own = _slice(result.trajectories[agent_type], agent)
        scale = 1.0
        if clone.training.normalize_returns:
            moments.update(discounted_returns(own.reward / settings.reward_scale, settings.gamma))
            scale = moments.scale()
        update_policy(policy, optimizer, own, clone.training, settings, spec.agent(agent_type).entropy_factor,
                      clone.generator, return_scale=scale)
        clone.episode += 1
        if progress is not None:
            progress()
        if on_checkpoint is not None and done in checkpoints:
            on_checkpoint(done, deviant)
    return deviant
