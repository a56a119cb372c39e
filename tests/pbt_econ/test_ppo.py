"""Tests of GAE and the PPO / policy-gradient update."""

from __future__ import annotations

import pytest
import torch

from pbt_econ.config.load import AgentTrainingConfig, TrainingConfig
from pbt_econ.learning import policies
from pbt_econ.learning.ppo import gae, update_policy
from pbt_econ.learning.rollout import Trajectory


def test_gae_on_three_steps_by_hand():
    r = torch.tensor([1.0, 2.0, 3.0])
    v = torch.tensor([0.5, 1.0, 1.5])
    g, lam = 0.9, 0.5
    d2 = 3.0 - 1.5
    d1 = 2.0 + g * 1.5 - 1.0
    d0 = 1.0 + g * 1.0 - 0.5
    a2 = d2
    a1 = d1 + g * lam * a2
    a0 = d0 + g * lam * a1
    adv, ret = gae(r, v, g, lam)
    assert adv.tolist() == pytest.approx([a0, a1, a2])
    assert ret.tolist() == pytest.approx([a0 + 0.5, a1 + 1.0, a2 + 1.5])
    # lambda = 1: discounted returns (the reference forgot to discount).
    _, ret1 = gae(r, v, g, 1.0)
    assert ret1.tolist() == pytest.approx([1 + g * 2 + g * g * 3, 2 + g * 3, 3.0])


# ------------------------------------------------------------------ updates learn a bandit
@pytest.mark.parametrize("algorithm", ["ppo", "pg"])
def test_update_learns_contextual_bandit(algorithm):
    """Two contexts, three actions; reward 1 for action == context. Optimum: P(correct) = 1."""
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(1)
    policy = policies.ActorCritic(2, 1, 3, hidden_size=16)
    opt = torch.optim.Adam(policy.parameters(), lr=0.02)
    cfg = TrainingConfig(algorithm=algorithm, update_epochs=4, minibatches=2, ppo_clip=0.2, gae_lambda=1.0)
    agent = AgentTrainingConfig(lr=0.02, gamma=0.99, reward_scale=1.0, entropy_coef=0.0)
    allowed = torch.ones(1, 3, dtype=torch.bool)

    def accuracy():
        ctx = torch.tensor([0, 1])
        with torch.no_grad():
            logits, _ = policy(torch.nn.functional.one_hot(ctx, 2).float())
        return torch.softmax(logits[:, 0], -1)[torch.arange(2), ctx].mean().item()

    start = accuracy()
    for _ in range(150):
        ctx = torch.randint(0, 2, (1, 64, 1), generator=gen)
        obs = torch.nn.functional.one_hot(ctx, 2).float()
        with torch.no_grad():
            logits, value = policy(obs)
        act = policies.sample(logits, gen)
        traj = Trajectory(obs=obs, action=act, logp=policies.log_prob(logits, act), value=value,
                           reward=(act[..., 0] == ctx).float(), allowed=allowed)
        update_policy(policy, opt, traj, cfg, agent, 1.0, gen)
    assert start < 0.45
    assert accuracy() > 0.9
