"""Tests of spaces, policies, curricula, updates, checkpoints and the train CLI."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch

from pbt_econ import policies
from pbt_econ.config import AgentTrainingConfig, TrainingConfig, load_config, load_curriculum
from pbt_econ.curriculum import AgentCurriculum, Curriculum, MaskSchedule
from pbt_econ.economy import EconomyConfig
from pbt_econ.spaces import ActionSpaces, SpacesConfig, symlog
from pbt_econ.train import main as train_main
from pbt_econ.trainer import (
    CheckpointError,
    Member,
    NonFiniteError,
    _Trajectory,
    gae,
    load_member,
    update_policy,
)


def small_config(**training):
    overrides = ["economy.num_consumers=4", "economy.num_firms=2", "training.batch_size=8",
                 "training.log_every=5", "training.hidden_size=32"]
    overrides += [f"training.{k}={v}" for k, v in training.items()]
    return load_config(overrides=overrides)


# ------------------------------------------------------------------ GAE
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


# ------------------------------------------------------------------ spaces and sampling
def test_decode_and_masks():
    econ = EconomyConfig(num_consumers=2, num_firms=2)
    sp = ActionSpaces(SpacesConfig(), econ, "cpu", torch.float32)
    assert (sp.consumer_heads, sp.consumer_width, sp.firm_width, sp.government_width) == (4, 11, 30, 36)
    # firm joint index: price-major; 6 prices x 5 wages x 1 invest. Index 2*5 + 3 -> price 1000, wage 33.
    cons = torch.tensor([[[3, 10, 4, 1], [0, 0, 0, 0]]])
    a = sp.decode(cons, torch.tensor([[13, 29]]), torch.tensor([1 * 6 + 5]))
    assert a.consumption[0, 0].tolist() == [3.0, 10.0] and a.hours[0].tolist() == [1040.0, 0.0]
    assert a.employer[0].tolist() == [1, 0] and a.employer.dtype == torch.int64
    assert a.price[0].tolist() == [1000.0, 2500.0] and a.wage[0].tolist() == [33.0, 44.0]
    assert a.income_tax.item() == pytest.approx(0.2) and a.corporate_tax.item() == pytest.approx(1.0)
    # firm mask at progress 0: only price 1000, wage 22 (index 2*5 + 2 = 12); at 0.5: prices 500..1750 -> 500,1000,1500
    m0 = sp.firm_mask(0.0, 1000.0, 22.0)[0]
    assert m0.nonzero().flatten().tolist() == [12]
    m_half = sp.firm_mask(0.5, 1000.0, 22.0)[0].reshape(6, 5)
    assert m_half.any(1).nonzero().flatten().tolist() == [1, 2, 3]
    assert m_half.any(0).nonzero().flatten().tolist() == [1, 2, 3]  # wages 11..33
    assert bool(sp.firm_mask(1.0, 1000.0, 22.0).all())
    g = sp.government_mask(0.5, 0.0, 0.0)[0].reshape(6, 6)
    assert g.any(1).nonzero().flatten().tolist() == [0, 1, 2]


def test_symlog_keeps_large_values_usable():
    x = torch.tensor([0.0, 1.0, 1e7, -5.0])
    y = symlog(x) / 10
    assert y[0] == 0 and 0 < y[1] < 0.1 and 1.5 < y[2] < 1.7 and y[3] < 0


def test_masked_sampling_never_picks_masked_choices_and_matches_probabilities():
    g = torch.Generator().manual_seed(0)
    logits = torch.log(torch.tensor([[0.2, 0.3, 0.5, 0.0]])).expand(20000, 1, 4)
    allowed = torch.tensor([[True, True, True, False]])
    logits = policies.masked_logits(torch.nan_to_num(logits, neginf=0.0), allowed)
    idx = policies.sample(logits, g)
    freq = torch.bincount(idx.flatten(), minlength=4).float() / idx.numel()
    assert freq[3] == 0
    assert freq[:3].tolist() == pytest.approx([0.2, 0.3, 0.5], abs=0.015)
    ent = policies.entropy(logits[:1])
    assert torch.isfinite(ent).all()
    assert ent.item() == pytest.approx(-(0.2 * math.log(0.2) + 0.3 * math.log(0.3) + 0.5 * math.log(0.5)), rel=1e-4)


def test_fused_log_prob_and_entropy_matches_autograd():
    torch.manual_seed(0)
    z = torch.randn(7, 3, 5, dtype=torch.float64, requires_grad=True)
    allowed = torch.ones(3, 5, dtype=torch.bool)
    allowed[2, 3:] = False
    idx = torch.tensor([[0, 4, 1]] * 7)

    def fused(z):
        return policies.log_prob_and_entropy(policies.masked_logits(z, allowed), idx)

    assert torch.autograd.gradcheck(fused, (z,))
    reference = (policies.log_prob(policies.masked_logits(z, allowed), idx),
                 policies.entropy(policies.masked_logits(z, allowed)))
    w1, w2 = torch.randn(7, dtype=torch.float64), torch.randn(7, dtype=torch.float64)
    a, b = fused(z), reference
    assert torch.allclose(a[0], b[0]) and torch.allclose(a[1], b[1])
    ga = torch.autograd.grad((a[0] * w1).sum() + (a[1] * w2).sum(), z)[0]
    gb = torch.autograd.grad((b[0] * w1).sum() + (b[1] * w2).sum(), z)[0]
    assert torch.allclose(ga, gb)
    assert torch.all(ga[:, 2, 3:] == 0)  # masked choices get no gradient


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
        traj = _Trajectory(obs=obs, action=act, logp=policies.log_prob(logits, act), value=value,
                           reward=(act[..., 0] == ctx).float(), allowed=allowed)
        update_policy(policy, opt, traj, cfg, agent, 1.0, gen)
    assert start < 0.45
    assert accuracy() > 0.9


# ------------------------------------------------------------------ curricula
def test_paper_curriculum_schedule_by_hand():
    cur = load_curriculum({"base": "paper", "time_scale": 0.01})  # 30k -> 300, 10k -> 100
    p0 = cur.at(0)
    assert p0.theta_scale == 0.0 and p0.learns == {"consumer": True, "firm": False, "government": False}
    assert p0.mask_progress == {"consumer": 1.0, "firm": 0.0, "government": 0.0}
    assert p0.entropy_factor["consumer"] == 1.0
    p = cur.at(150)
    assert p.theta_scale == pytest.approx(1 - math.exp(-1.5))
    assert p.mask_progress["firm"] == pytest.approx(0.5) and p.mask_progress["government"] == 0.0
    assert p.entropy_factor["firm"] == pytest.approx(math.exp(-1.5))
    p = cur.at(450)
    assert p.learns == {"consumer": True, "firm": True, "government": False}
    assert p.mask_progress["firm"] == 1.0 and p.mask_progress["government"] == pytest.approx(0.5)
    assert p.entropy_factor["consumer"] == pytest.approx(0.1)  # floored
    assert cur.at(600).learns["government"] and cur.at(599).learns["government"] is False


def test_none_curriculum_and_best_response_curriculum():
    none = load_curriculum("none")
    p = none.at(0)
    assert all(p.learns.values()) and p.theta_scale == 1.0 and set(p.mask_progress.values()) == {1.0}
    br = load_curriculum("paper").for_best_response("firm")
    q = br.at(10)
    assert q.learns == {"consumer": False, "firm": True, "government": False}
    assert q.theta_scale == 1.0 and set(q.mask_progress.values()) == {1.0}


def test_custom_curriculum_as_data():
    cur = Curriculum(name="slow-gov", government=AgentCurriculum(
        learn_from=10, mask=MaskSchedule(start_episode=0, over_episodes=20, start={"income_tax": 0.4})))
    assert not cur.at(9).learns["government"] and cur.at(10).learns["government"]
    assert cur.at(5).mask_progress["government"] == pytest.approx(0.25)


# ------------------------------------------------------------------ a member learns
def test_consumer_only_learning_beats_untrained_policy():
    """Consumers alone (firms and government frozen at their untrained policies) learn to
    raise their mean episode reward by at least 20% over the untrained policy in 200 episodes."""
    cfg = small_config()
    cur = Curriculum(name="consumers", consumer=AgentCurriculum(learn_from=0, entropy_decay=50),
                     firm=AgentCurriculum(learn_from=None), government=AgentCurriculum(learn_from=None))
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


def test_checkpoint_resume_is_bit_identical(tmp_path):
    cfg = small_config()
    straight = Member(cfg, seed=1)
    rows_straight = straight.train(12)
    first = Member(cfg, seed=1)
    rows_first = first.train(5)
    first.save(tmp_path / "ck.pt")
    resumed = load_member(tmp_path / "ck.pt", cfg)
    assert resumed.episode == 5
    rows_resumed = resumed.train(7)
    strip = lambda rows: [dataclasses.replace(r, episodes_per_s=0) for r in rows]  # noqa: E731
    assert strip(rows_first + rows_resumed) == strip(rows_straight)
    for t in straight.policies:
        for pa, pb in zip(straight.policies[t].parameters(), resumed.policies[t].parameters()):
            assert torch.equal(pa, pb)
        sa, sb = straight.optimizers[t].state_dict(), resumed.optimizers[t].state_dict()
        for k in sa["state"]:
            assert torch.equal(sa["state"][k]["exp_avg"], sb["state"][k]["exp_avg"])


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


def test_corrupted_and_foreign_checkpoints_give_clear_errors(tmp_path):
    cfg = small_config()
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"this is not a checkpoint")
    with pytest.raises(CheckpointError, match="not a readable pbt-econ checkpoint"):
        load_member(bad)
    foreign = tmp_path / "foreign.pt"
    torch.save({"weights": torch.zeros(3)}, foreign)
    with pytest.raises(CheckpointError, match="not a pbt-econ member checkpoint"):
        load_member(foreign)
    with pytest.raises(CheckpointError, match="not found"):
        load_member(tmp_path / "missing.pt")
    m = Member(cfg)
    m.save(tmp_path / "ok.pt")
    other = dataclasses.replace(cfg, economy=dataclasses.replace(cfg.economy, num_consumers=9))
    with pytest.raises(CheckpointError, match="economy.num_consumers = 4 in the checkpoint, 9 in the config"):
        load_member(tmp_path / "ok.pt", other)


def test_nan_guard_fires_on_injected_non_finite_reward(monkeypatch):
    cfg = small_config()
    member = Member(cfg)
    member.train(2)
    before = [p.clone() for p in member.policies["consumer"].parameters()]
    real_step = member.economy.step

    def poisoned(state, actions):
        nxt, rewards, info = real_step(state, actions)
        return nxt, rewards.replace(consumer=rewards.consumer * float("nan")), info

    monkeypatch.setattr(member.economy, "step", poisoned)
    with pytest.raises(NonFiniteError, match="non-finite reward"):
        member.train(1)
    assert member.episode == 2
    for p0, p1 in zip(before, member.policies["consumer"].parameters()):
        assert torch.equal(p0, p1)


# ------------------------------------------------------------------ CLI
def test_train_cli_writes_outputs_and_resumes(tmp_path, capsys):
    out = tmp_path / "run"
    args = ["--set", "economy.num_consumers=4", "--set", "training.batch_size=8", "--set", "training.log_every=5",
            "--set", "training.checkpoint_every=10", "--out", str(out), "--no-progress"]
    assert train_main(args + ["--episodes", "10"]) == 0
    from pbt_econ.tables import read_table

    rows = read_table(out / "metrics.parquet", "metrics").to_pylist()
    assert [r["episode"] for r in rows] == [5, 10]
    assert (out / "config.yaml").exists() and (out / "checkpoint.pt").exists()
    assert all(math.isfinite(r["reward_consumer"]) for r in rows)
    assert train_main(args + ["--episodes", "15", "--resume"]) == 0
    rows = read_table(out / "metrics.parquet", "metrics").to_pylist()
    assert [r["episode"] for r in rows] == [5, 10, 15]
    assert train_main(args + ["--episodes", "15"]) == 2  # refuses to overwrite
    assert "pass --resume" in capsys.readouterr().err
    assert train_main(["--set", "economy.crra_eta=1", "--out", str(tmp_path / "x")]) == 2
    assert "economy.crra_eta = 1" in capsys.readouterr().err
