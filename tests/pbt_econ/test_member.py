"""Tests of a member: learning, determinism, PBT state copies, the NaN guard."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from pbt_econ.config.curriculum import AgentCurriculum, Curriculum
from pbt_econ.learning.member import Member
from pbt_econ.learning.rollout import NonFiniteError
from tests.pbt_econ.helpers import small_config


def test_consumer_only_learning_beats_untrained_policy():
    """Consumers alone (firms and government frozen at their untrained policies) learn to
    raise their mean episode reward by at least 20% over the untrained policy in 200 episodes."""
    cfg = small_config()
    cur = Curriculum(name="consumers", agents={"consumer": AgentCurriculum(learn_from=0, entropy_decay=50),
                                               "firm": AgentCurriculum(learn_from=None),
                                               "government": AgentCurriculum(learn_from=None)})
    member = Member(dataclasses.replace(cfg, curriculum=cur), seed=3)
    before = member.evaluate(4, seed=99).mean("consumer")
    member.train(200)
    after = member.evaluate(4, seed=99).mean("consumer")
    assert after > before + 0.2 * abs(before), (before, after)


def test_training_is_deterministic_on_cpu():
    cfg = small_config()
    a, b = Member(cfg, seed=5), Member(cfg, seed=5)
    ra, rb = a.train(10), b.train(10)
    assert [dataclasses.replace(r, episodes_per_s=0) for r in ra] == [dataclasses.replace(r, episodes_per_s=0) for r in rb]
    for t in a.policies:
        for pa, pb in zip(a.policies[t].parameters(), b.policies[t].parameters()):
            assert torch.equal(pa, pb)
    c = Member(cfg, seed=6)
    c.train(10)
    assert not torch.equal(next(a.policies["consumer"].parameters()), next(c.policies["consumer"].parameters()))


def test_pbt_state_copy_and_hyperparameters():
    cfg = small_config()
    a, b = Member(cfg, seed=1, member_id="a"), Member(cfg, seed=2, member_id="b")
    a.train(5)
    b.train(5)
    b.set_hyperparameters({"training.consumer.lr": 0.0123})
    assert b.optimizers["consumer"].param_groups[0]["lr"] == 0.0123
    b.set_state(a.get_state(), learning_only=True)
    for pa, pb in zip(a.policies["firm"].parameters(), b.policies["firm"].parameters()):
        assert torch.equal(pa, pb)
    assert b.training.consumer.lr == a.training.consumer.lr
    assert b.optimizers["consumer"].param_groups[0]["lr"] == a.training.consumer.lr
    assert not torch.equal(a.generator.get_state(), b.generator.get_state())
    with pytest.raises(ValueError, match="only training"):
        b.set_hyperparameters({"economy.num_firms": 3})


def test_nan_guard_fires_on_injected_non_finite_reward(monkeypatch):
    cfg = small_config()
    member = Member(cfg)
    member.train(2)
    before = [p.clone() for p in member.policies["consumer"].parameters()]
    real_step = member.economy.step

    def poisoned(state, actions):
        nxt, rewards, info = real_step(state, actions)
        return nxt, {**rewards, "consumer": rewards["consumer"] * float("nan")}, info

    monkeypatch.setattr(member.economy, "step", poisoned)
    with pytest.raises(NonFiniteError, match="non-finite reward"):
        member.train(1)
    assert member.episode == 2
    for p0, p1 in zip(before, member.policies["consumer"].parameters()):
        assert torch.equal(p0, p1)


def test_nan_in_a_later_minibatch_leaves_every_parameter_unchanged(monkeypatch):
    """A non-finite loss in the government's second minibatch, after consumers and firms (and the
    government's first minibatch) have stepped, must leave *all* policies and optimisers as they were."""
    import pbt_econ.learning.ppo as ppo

    cfg = small_config(minibatches=2, update_epochs=2)
    member = Member(dataclasses.replace(cfg, curriculum=Curriculum(name="all")), seed=4)  # everyone learns
    member.train(2)
    snapshot = member.get_state()
    real = ppo.policies.log_prob_and_entropy
    calls = {"n": 0}

    def poisoned(logits, actions):
        calls["n"] += 1
        logp, ent = real(logits, actions)
        return (logp * float("nan"), ent) if calls["n"] == 10 else (logp, ent)  # 4 consumer + 4 firm + 2nd gov

    monkeypatch.setattr(ppo.policies, "log_prob_and_entropy", poisoned)
    with pytest.raises(NonFiniteError, match="government: non-finite loss"):
        member.train(1)
    assert calls["n"] == 10
    assert member.episode == 2
    after = member.get_state()
    for t in ("consumer", "firm", "government"):
        for k, v in snapshot["policies"][t].items():
            assert torch.equal(v, after["policies"][t][k]), (t, k)
        sa, sb = snapshot["optimizers"][t]["state"], after["optimizers"][t]["state"]
        assert sa.keys() == sb.keys()
        for i in sa:
            assert torch.equal(sa[i]["exp_avg"], sb[i]["exp_avg"]) and torch.equal(sa[i]["step"], sb[i]["step"])


def _indebted(member, consumer_budget=-1e9, firm_budget=-1e9):
    """Make every economy of ``member`` start deep in debt, so the no-Ponzi penalty bites."""
    real_reset = member.economy.reset

    def reset(theta_scale=1.0, generator=None):
        s = real_reset(theta_scale=theta_scale, generator=generator)
        return dataclasses.replace(s, consumer_budget=torch.full_like(s.consumer_budget, consumer_budget),
                                   firm_budget=torch.full_like(s.firm_budget, firm_budget))

    member.economy.reset = reset


def test_no_ponzi_penalty_and_multipliers_move_only_for_learning_types():
    from pbt_econ.config.episode import best_response_spec, evaluation_spec
    from pbt_econ.equilibrium.best_response import deviate
    from pbt_econ.learning.rollout import no_ponzi_violation

    cfg = small_config(**{"no_ponzi.enabled": "true", "no_ponzi.initial_multiplier": 0.5,
                          "no_ponzi.multiplier_lr": 0.01})
    consumers_only = Curriculum(name="c", agents={"firm": AgentCurriculum(learn_from=None),
                                                 "government": AgentCurriculum(learn_from=None)})
    member = Member(dataclasses.replace(cfg, curriculum=consumers_only), seed=2)
    _indebted(member)
    # The penalty: the same rollout with and without it differs by multiplier x scaled debt in the last step only.
    spec = member.spec_at(0)
    with_penalty = member.run_episode(spec, torch.Generator().manual_seed(1))
    without = member.run_episode(dataclasses.replace(spec, penalties=False), torch.Generator().manual_seed(1))
    violation = no_ponzi_violation(member.economy, with_penalty.final, cfg.training.no_ponzi)
    for t in ("consumer", "firm"):
        diff = without.trajectories[t].reward - with_penalty.trajectories[t].reward
        assert torch.all(diff[:-1] == 0)
        assert torch.allclose(diff[-1], 0.5 * violation[t], rtol=1e-5)
        assert float(violation[t].min()) > 0
    assert torch.equal(with_penalty.trajectories["government"].reward, without.trajectories["government"].reward)
    # Training: only the learning type's multiplier moves, by lr x mean violation.
    member.train_episode()
    mean_violation = float(violation["consumer"].mean())
    assert member.multipliers["consumer"] == pytest.approx(0.5 + 0.01 * mean_violation, rel=1e-4)
    assert member.multipliers["firm"] == 0.5
    # Evaluation moves nothing.
    before = dict(member.multipliers)
    member.evaluate(1, seed=3, spec=evaluation_spec(member.types))
    assert member.multipliers == before
    # A best-response deviation of firms: the frozen consumers' multiplier stays, the firms' moves.
    member.train(2, schedule=lambda e: best_response_spec(member.spec_at(e), "firm"))
    assert member.multipliers["consumer"] == before["consumer"]
    assert member.multipliers["firm"] > before["firm"]
    # deviate() works on a clone: the member itself is untouched.
    now = dict(member.multipliers)
    deviate(member, "consumer", 1)
    assert member.multipliers == now
