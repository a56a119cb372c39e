"""The deviation-aware solver: pooled deviations, the meta-solver mixture, training against the pool, the loop."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from pbt_econ.config.load import load_config
from pbt_econ.economies.cournot import solution as sol
from pbt_econ.equilibrium.solver import PoolEntry, mixture, solve
from pbt_econ.learning.member import Member
from pbt_econ.learning.rollout import PoolPlay


def two_firms(**overrides):
    """A two-firm Cournot market (a=100, b=1, c=10: q* = 30, collusion 22.5) on the grid 0..40."""
    cfg = load_config("configs/cournot.yaml")
    economy = dataclasses.replace(cfg.economy, num_firms=2, quantities=tuple(float(q) for q in range(41)))
    br = dataclasses.replace(cfg.best_response, episodes=40, eval_episodes=2, **overrides)
    return dataclasses.replace(cfg, economy=economy, best_response=br,
                               training=dataclasses.replace(cfg.training, batch_size=16))


def at_collusion(cfg) -> Member:
    """A member whose shared firm policy plays (nearly always) the collusive quantity 22."""
    member = Member(cfg, seed=0)
    head = member.policies["firm"].head
    with torch.no_grad():
        head.weight.zero_()
        head.bias.zero_()
        head.bias[22] = 8.0
    return member


def test_pooled_deviation_is_played_and_does_not_train():
    cfg = two_firms()
    member = at_collusion(cfg)
    copies = torch.zeros(16, dtype=torch.bool)
    copies[:4] = True
    play = PoolPlay(agent_type="firm", copies=copies, agents=torch.tensor([True, False]), action=(5,))
    spec = member.spec_at(member.episode)
    result = member.run_episode(spec, member.generator, pool_play=(play,))
    traj = result.trajectories["firm"]
    assert (traj.action[:, :4, 0, 0] == 5).all()  # firm 0 in the first 4 copies plays the pooled action
    assert not (traj.action[:, 4:, 0, 0] == 5).all()
    assert traj.learns.tolist()[0] == [False, True] and traj.learns[4:].all()


def test_meta_solver_mixtures():
    pool = [PoolEntry("firm", "unilateral", 0, a, (), str(a), g, 0, regret=r)
            for a, g, r in ((1, -0.2, 0.3), (2, 0.5, 0.1), (3, 0.4, -0.5))]
    assert np.allclose(mixture(pool, "uniform"), [1 / 3] * 3)
    assert np.allclose(mixture(pool, "regret"), [0.75, 0.25, 0.0])  # cumulative regrets, not the last gains
    nothing = [dataclasses.replace(p, regret=-1.0) for p in pool]
    assert np.allclose(mixture(nothing, "regret"), [0.0, 0.0, 0.0])  # no positive regret: nothing is played
    with pytest.raises(ValueError, match="meta_solver"):
        mixture(pool, "nash-ish")


def test_training_against_the_pool_removes_a_known_profitable_deviation():
    """At collusion one firm gains by producing more (exactly: 22.5 -> 28.x is worth ~12%); the solver pools
    that deviation, trains against it, and the profile moves to the Nash quantity, where it is gone."""
    cfg = two_firms()
    e = cfg.economy
    exact_before = sol.unilateral_gain([1.0 if q == 22 else 0.0 for q in e.quantities], list(e.quantities),
                                       e.a, e.b, e.c, e.num_firms)
    assert exact_before.gain > 0.1 * 22 * (e.a - 44 * e.b - e.c)  # a profitable deviation exists
    member = at_collusion(cfg)
    result = solve(member, cfg.best_response, rounds=2, episodes=120, share=0.5, meta_solver="regret",
                   eval_seeds=1, seed=0)
    first, last = result.rounds[0], result.rounds[-1]
    assert first.verdict == "violated" and first.pool_size >= 1
    assert first.exploitability[0].unilateral_max > 0.05
    assert last.exploitability[0].unilateral_max < 0.02  # the pooled deviation no longer pays
    quantity = result.final[0]["quantity"]
    assert abs(quantity - sol.nash_quantity(e.a, e.b, e.c, e.num_firms)) <= 1.5, quantity


def test_solve_command_writes_the_convergence_table(tmp_path):
    from pbt_econ.core.tables import read_table
    from pbt_econ.solve import main

    cfg = two_firms()
    member = at_collusion(cfg)
    member.save(tmp_path / "checkpoint.pt")
    assert main([str(tmp_path), "--rounds", "1", "--episodes", "20", "--eval-seeds", "1", "--no-progress"]) == 0
    rows = read_table(tmp_path / "solve.parquet", "solve").to_pylist()
    rounds = [r for r in rows if r["stage"] == "round"]
    assert [r["round"] for r in rounds] == [0, 1] or rows[-1]["ending"] == "verified"
    assert rows[-1]["stage"] == "recheck" and rows[-1]["chosen"]  # the final row is the returned member's recheck
    assert rows[0]["pool_size"] >= 1 and (tmp_path / "plots" / "solve_convergence.png").exists()
    assert len(rows[0]["pool_gains"].split(";")) == rows[0]["pool_size"]
    assert "recheck" in (tmp_path / "solve.md").read_text()
    assert (tmp_path / "solved" / f"{tmp_path.name}.pt").exists()
    assert main([str(tmp_path / "nothing-here")]) == 2


def test_a_time_dependent_pooled_deviation_acts_at_its_step_only():
    cfg = two_firms()
    cfg = dataclasses.replace(cfg, economy=dataclasses.replace(cfg.economy, episode_length=3))
    member = at_collusion(cfg)
    play = PoolPlay(agent_type="firm", copies=torch.ones(16, dtype=torch.bool), agents=torch.tensor([False, True]),
                    action=(40,), steps=(2,))
    traj = member.run_episode(member.spec_at(member.episode), member.generator, pool_play=(play,)).trajectories["firm"]
    assert (traj.action[2, :, 1, 0] == 40).all()  # the last step: firm 1 plays 40 in every copy
    assert not (traj.action[:2, :, 1, 0] == 40).any()  # before: its policy (22, almost surely)


def test_endgame_certificate_finds_a_last_step_move():
    """Over three steps, a firm that dumps 40 units only at the last step gains exactly that step's gain
    (the Cournot stages are independent), so the end-game certificate finds a positive gain at step 2."""
    from pbt_econ.equilibrium.best_response.endgame import endgame_rows, parse_endgame_label

    cfg = two_firms(endgame_steps=1, unilateral_agents=1)
    cfg = dataclasses.replace(cfg, economy=dataclasses.replace(cfg.economy, episode_length=3))
    member = at_collusion(cfg)
    rows = endgame_rows(member, cfg.best_response, {"firm": float("nan")})
    uni = [r for r in rows if r.deviation == "unilateral"]
    assert uni and all(r.start == "endgame" for r in rows)
    step, label = parse_endgame_label(uni[0].action)
    assert step == 2 and uni[0].epsilon_abs > 0 and label.startswith("quantity=")
    # one stage at collusion: the best reply to 22 is 28 (a=100, b=1, c=10), worth 784 - 22*... per stage
    best = sol.unilateral_gain([1.0 if q == 22 else 0.0 for q in cfg.economy.quantities],
                               list(cfg.economy.quantities), 100, 1, 10, 2)
    assert uni[0].epsilon_abs == pytest.approx(best.gain, rel=0.1)


@pytest.mark.parametrize("factor", [0.0, 0.5, 1.0])
def test_training_against_the_pool_scales_every_types_entropy_bonus(factor, monkeypatch):
    """population.solve.entropy_factor multiplies the member's own (annealed) bonus of every type in the
    episodes trained against the pool, and nothing else in their specs."""
    from pbt_econ.equilibrium.solver import train_against_pool

    member = at_collusion(two_firms())
    expected = member.spec_at(member.episode)
    seen = []
    monkeypatch.setattr(member, "train_episode", lambda spec, pool_play=(): seen.append(spec))
    pool = [PoolEntry("firm", "unilateral", 0, 5, (), "5", 0.3, 0)]
    train_against_pool(member, pool, np.ones(1), episodes=2, share=0.5, seed=0, entropy_factor=factor)
    assert len(seen) == 2
    for spec in seen:
        assert spec.types == expected.types
        for t in spec.types:
            got, want = spec.agent(t), expected.agent(t)
            assert got.entropy_factor == pytest.approx(want.entropy_factor * factor)
            assert dataclasses.replace(got, entropy_factor=want.entropy_factor) == want


def test_solve_entropy_factor_is_checked():
    from pbt_econ.core.errors import ConfigError

    with pytest.raises(ConfigError, match="entropy_factor"):
        load_config(overrides=["population.solve.entropy_factor=-1"])


def _scripted_solver(monkeypatch, checks):
    """The solver with its check, exploitability, pool and training replaced: each check returns the next
    ``(verdict, largest relative gain)`` of ``checks``; each round of training adds 1 to a firm logit.
    Returns ``(member, eval seeds the checks were made on)``."""
    from pbt_econ.equilibrium import solver as S

    member = at_collusion(two_firms())
    script, seeds, generators = iter(checks), [], []

    def assess(m, br, eval_seeds, deviations=None):
        seeds.append(br.eval_seed)
        generators.append(m.generator.get_state())
        verdict, gain = next(script)
        return {"bias": float(m.policies["firm"].head.bias[0].detach())}, {}, [(verdict, gain)]

    def exploitability(rows):
        (verdict, gain), = rows
        return [S.Exploitability("firm", gain, 0.0, gain, 0.0, gain, gain, verdict, verdict)]

    def train(m, pool, weights, episodes, share, seed, progress=None, entropy_factor=1.0):
        with torch.no_grad():
            m.policies["firm"].head.bias[0] += 1.0
        m.episode += episodes

    monkeypatch.setattr(S, "assess_outcome", assess)
    monkeypatch.setattr(S, "exploitability", exploitability)
    monkeypatch.setattr(S, "pool_from_rows", lambda *a: [PoolEntry("firm", "unilateral", 0, 5, (), "5", 0.3, 0)])
    monkeypatch.setattr(S, "replay_pool", lambda m, pool, rows, br: [0.3] * len(pool))
    monkeypatch.setattr(S, "train_against_pool", train)
    member.generators = generators
    return member, seeds


def test_solver_keeps_the_least_exploitable_round_and_checks_it_again_on_fresh_streams(monkeypatch):
    from pbt_econ.core.seeds import stream_seed
    from pbt_econ.equilibrium.solver import solve_rows

    member, seeds = _scripted_solver(monkeypatch, [("violated", 0.40), ("inconclusive", 0.04), ("violated", 0.90),
                                                   ("inconclusive", 0.06)])
    br = member.config.best_response
    result = solve(member, br, rounds=2, episodes=10, share=0.2, meta_solver="regret", eval_seeds=1, seed=0)
    assert result.ending == "budget" and result.chosen == 1
    assert float(member.policies["firm"].head.bias[0].detach()) == pytest.approx(1.0)  # round 1's weights, not round 2's
    assert member.episode == 10
    assert seeds == [br.eval_seed] * 3 + [stream_seed(br.eval_seed, "recheck")]  # fresh evaluation stream
    fresh = torch.Generator().manual_seed(stream_seed(0, "recheck")).get_state()
    assert torch.equal(member.generators[-1], fresh)  # fresh best-response training streams
    assert not any(torch.equal(g, fresh) for g in member.generators[:-1])
    assert result.final[2] == [("inconclusive", 0.06)]  # the fresh check is the one reported
    rows = solve_rows("m", result)
    assert [(r["stage"], r["round"], r["chosen"]) for r in rows] == [
        ("round", 0, False), ("round", 1, True), ("round", 2, False), ("recheck", 1, True)]
    assert rows[-1]["verdict"] == "inconclusive" and rows[-1]["rank"] == pytest.approx(0.06)


def test_solver_rechecks_the_outcome_as_it_was_when_no_round_ranks_better(monkeypatch):
    member, seeds = _scripted_solver(monkeypatch, [("violated", 0.10), ("violated", 0.30), ("violated", 0.50),
                                                   ("violated", 0.12)])
    br = member.config.best_response
    result = solve(member, br, rounds=2, episodes=10, share=0.2, meta_solver="regret", eval_seeds=1, seed=0)
    assert result.chosen == 0 and member.episode == 0
    assert float(member.policies["firm"].head.bias[0].detach()) == pytest.approx(0.0)
    assert len(seeds) == 4 and result.final[2] == [("violated", 0.12)]  # round 0, checked again


def test_solver_rechecks_the_last_round_when_it_is_verified(monkeypatch):
    member, seeds = _scripted_solver(monkeypatch, [("violated", 0.40), ("verified", 0.01), ("inconclusive", 0.08)])
    result = solve(member, member.config.best_response, rounds=3, episodes=10, share=0.2, meta_solver="regret",
                   eval_seeds=1, seed=0)
    assert result.ending == "verified" and result.chosen == 1 and len(seeds) == 3
    assert result.final_verdicts == ("inconclusive", "inconclusive")  # the recheck, not the flattering round


def test_regrets_accumulate_over_rounds(monkeypatch):
    from pbt_econ.equilibrium import solver as S

    member, _ = _scripted_solver(monkeypatch, [("violated", 0.4), ("violated", 0.3), ("violated", 0.2),
                                               ("violated", 0.2)])
    replays = iter([[-0.1], [0.5]])
    monkeypatch.setattr(S, "replay_pool", lambda m, pool, rows, br: next(replays) if pool else [])
    result = solve(member, member.config.best_response, rounds=2, episodes=10, share=0.2, meta_solver="regret",
                   eval_seeds=1, seed=0)
    assert [r.regrets for r in result.rounds] == [pytest.approx((0.3,)), pytest.approx((0.2,)),
                                                  pytest.approx((0.7,))]


def test_a_trained_deviation_enters_the_pool_as_a_policy_and_is_played():
    """Certificates off: at collusion only the trained unilateral deviations can find that one firm gains by
    producing more; the violated one joins the pool as a policy, and playing it makes that firm produce what
    the deviation's policy samples while the other firm keeps its draws."""
    from pbt_econ.equilibrium.solver import play_entry

    cfg = two_firms(certificate_max_actions=0)
    member = at_collusion(cfg)
    result = solve(member, cfg.best_response, rounds=1, episodes=60, share=0.5, meta_solver="regret",
                   eval_seeds=1, seed=0)
    first = result.rounds[0]
    assert first.verdict == "violated" and first.pool_policies >= 1, first
    entry = next(p for p in result.pool if p.policy is not None)
    assert entry.added == 0 and entry.label.startswith("trained:")
    assert result.rounds[1].regrets[0] != pytest.approx(first.regrets[0])  # replayed after the round's training
    spec = member.spec_at(member.episode)
    plain = member.run_episode(spec, torch.Generator().manual_seed(3)).trajectories["firm"].action
    played = member.run_episode(spec, torch.Generator().manual_seed(3),
                                pool_play=(play_entry(member, entry),)).trajectories["firm"].action
    other = 1 - entry.agent
    assert torch.equal(plain[:, :, other], played[:, :, other])  # the other firm's draws are unchanged
    assert played[:, :, entry.agent].float().mean() > plain[:, :, entry.agent].float().mean() + 1  # produces more


def test_the_search_worker_hands_its_checks_trained_deviations_to_the_solver(monkeypatch):
    """The worker's final check keeps its trained deviations' policies, so the solver pools them at round 0
    without training them again (trained again only when the caller has no policies)."""
    from pbt_econ.equilibrium import solver as S
    from populations.actor import MemberWorker

    cfg = two_firms(certificate_max_actions=0)
    worker = MemberWorker(cfg, cfg.curriculum, 0, "m", threads=0)
    worker.member.policies["firm"].load_state_dict(at_collusion(cfg).policies["firm"].state_dict())
    worker.finish()
    assert {k[:3] for k in worker._deviations} == {("firm", "type", -1), ("firm", "unilateral", 0),
                                                   ("firm", "unilateral", 1)}

    def no_retraining(*_args):
        raise AssertionError("trained again")

    monkeypatch.setattr(S, "trained_policies", no_retraining)
    result = worker.solve(rounds=0, episodes=10, share=0.5, meta_solver="regret")
    assert result.rounds[0].verdict == "violated" and result.rounds[0].pool_policies >= 1
