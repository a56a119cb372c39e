"""Best response: finds the gain against a bad frozen policy, freezes the others, reports as epsilon
the independently measured gain of the deviation (exactly 0 for a deviation that cannot move), is
reproducible; the CLI works end to end."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch

from pbt_econ.best_response.__main__ import main as br_main
from pbt_econ.config.load import BestResponseConfig, load_config
from pbt_econ.core.checkpoints import CheckpointError
from pbt_econ.core.tables import read_table
from pbt_econ.equilibrium.best_response import best_response, deviate
from pbt_econ.learning.member import Member, load_member

AGENT_TYPES = ("consumer", "firm", "government")


def small_config():
    return load_config(overrides=["economy.num_consumers=4", "economy.num_firms=2", "training.batch_size=16",
                                  "training.log_every=10", "training.hidden_size=32", "curriculum=none"])


def br_config(**settings) -> BestResponseConfig:
    """``BestResponseConfig(**settings)`` resolved against the small economy as a run config resolves it
    (every type checked, the economy's tolerances)."""
    return dataclasses.replace(small_config(), best_response=BestResponseConfig(**settings)).best_response


def trained_rows(rows):
    """The trained type-level deviations (starts ``learned`` and ``scratch``) among best-response rows."""
    def get(r, k):
        return r[k] if isinstance(r, dict) else getattr(r, k)

    return [r for r in rows if get(r, "start") in ("learned", "scratch") and get(r, "deviation") == "type"]


def unilateral_rows(rows):
    """The trained unilateral deviations."""
    return [r for r in rows if r.start == "learned" and r.deviation == "unilateral"]


def firms_at_price_zero(member: Member) -> None:
    """Make the firm policy choose price 0 most of the time (joint indices 0..4 = price 0 x any wage)."""
    with torch.no_grad():
        head = member.policies["firm"].head  # rows 0..29: joint firm logits, row 30: value
        head.weight[:-1].zero_()
        head.bias[:-1].zero_()
        head.bias[:5] = 3.0  # P(price 0) = 5e^3 / (5e^3 + 25) ~ 0.98


def test_bad_frozen_firm_policy_has_a_large_measured_gain():
    member = Member(small_config(), seed=0)
    firms_at_price_zero(member)
    cfg = br_config(episodes=60, eval_episodes=2, from_scratch=True)
    rows = trained_rows(best_response(member, cfg, types=("firm",)).rows)
    assert {r.start for r in rows} == {"learned", "scratch"}
    best = max(rows, key=lambda r: r.epsilon_abs)
    # Selling at price 0 earns nothing: any positive price earns export or consumer revenue.
    assert best.reward_before < 0.2 * best.reward_after
    assert best.epsilon_abs > 0 and best.epsilon_rel > 1.0
    assert not best.passes


def test_epsilon_is_the_independently_measured_gain_of_an_improving_deviation():
    """Against frozen opponents, a deviation that demonstrably raises the firms' reward is reported with
    ``epsilon_abs = after - before``, where "before" and "after" are measured here, outside best response,
    by evaluating the member and the deviated copy on the evaluation seed."""
    member = Member(small_config(), seed=0)
    firms_at_price_zero(member)
    cfg = br_config(episodes=30, eval_episodes=2, eval_seed=5)
    (row,) = trained_rows(best_response(member, cfg, types=("firm",)).rows)
    before = member.evaluate(cfg.eval_episodes, seed=cfg.eval_seed).mean("firm")
    after = deviate(member, "firm", cfg.episodes).evaluate(cfg.eval_episodes, seed=cfg.eval_seed).mean("firm")
    assert after > before  # the deviation demonstrably improves on the frozen opponents
    assert row.reward_before == before and row.reward_after == after
    assert row.epsilon_abs == pytest.approx(after - before, rel=1e-9, abs=1e-9) and row.epsilon_abs > 0


def test_a_deviation_that_cannot_move_has_exactly_zero_epsilon():
    """A government saturated on one tax pair (its logit rows zeroed, one bias far above the rest) gets
    exactly zero policy gradient: the deviation trains (its value head moves) but plays as before, so with
    common random numbers "after" equals "before" bit for bit and epsilon is exactly 0."""
    member = Member(small_config(), seed=2)  # untrained: no Adam momentum that could move the logits
    with torch.no_grad():
        head = member.policies["government"].head
        head.weight[:-1].zero_()
        head.bias[:-1].zero_()
        head.bias[7] = 1e3
    cfg = br_config(episodes=4, eval_episodes=2)
    (row,) = trained_rows(best_response(member, cfg, types=("government",)).rows)
    clone = deviate(member, "government", cfg.episodes)
    moved = clone.policies["government"].head
    assert not torch.equal(moved.weight[-1], head.weight[-1])  # it did learn: the value row moved
    assert torch.equal(moved.weight[:-1], head.weight[:-1]) and torch.equal(moved.bias[:-1], head.bias[:-1])
    assert row.reward_after == row.reward_before and math.isfinite(row.reward_before)
    assert row.epsilon_abs == 0.0 and row.epsilon_rel == 0.0 and row.passes


def test_frozen_types_unchanged_and_reproducible():
    member = Member(small_config(), seed=1)
    member.train(5)
    snapshot = {t: [p.clone() for p in member.policies[t].parameters()] for t in AGENT_TYPES}
    clone = deviate(member, "consumer", 8)
    for t in ("firm", "government"):
        for p0, p1 in zip(snapshot[t], clone.policies[t].parameters()):
            assert torch.equal(p0, p1), t
    assert any(not torch.equal(p0, p1) for p0, p1 in zip(snapshot["consumer"], clone.policies["consumer"].parameters()))
    for t in AGENT_TYPES:  # the member itself is untouched
        for p0, p1 in zip(snapshot[t], member.policies[t].parameters()):
            assert torch.equal(p0, p1)
    cfg = br_config(episodes=6, eval_episodes=2)
    rows_a = best_response(member, cfg).rows
    rows_b = best_response(member, cfg).rows
    assert rows_a == rows_b
    assert [r.agent_type for r in trained_rows(rows_a)] == list(AGENT_TYPES)
    for r in trained_rows(rows_a):
        assert math.isfinite(r.reward_before) and math.isfinite(r.reward_after)


def test_cli_end_to_end_on_a_trained_member(tmp_path, capsys):
    from pbt_econ.train import main as train_main

    out = tmp_path / "run"  # configs/default.yaml as it is, trained briefly
    assert train_main(["--episodes", "20", "--out", str(out), "--no-progress"]) == 0
    assert br_main([str(out), "--episodes", "5", "--eval-episodes", "2", "--types", "consumer,government",
                    "--no-progress"]) == 0
    rows = trained_rows(read_table(out / "best_response.parquet", "best_response").to_pylist())
    assert [r["agent_type"] for r in rows] == ["consumer", "government"]
    for r in rows:
        for k in ("reward_before", "reward_after", "epsilon_abs", "epsilon_rel", "reward_before_ci95"):
            assert math.isfinite(r[k]), k
    assert "wrote" in capsys.readouterr().out
    # the new checks from the command line: one unilateral deviator per type, no certificates, refinement
    assert br_main([str(out), "--episodes", "3", "--eval-episodes", "1", "--unilateral-agents", "1",
                    "--certificate-max-actions", "0", "--refine", "1", "--out", str(tmp_path / "br.parquet"),
                    "--no-progress"]) == 0
    rows = read_table(tmp_path / "br.parquet", "best_response").to_pylist()
    mine = [r for r in rows if r["member_id"] == "default"]
    assert not any(r["start"] == "constant" for r in rows)
    assert sorted((r["agent_type"], r["deviation"]) for r in mine) == sorted(
        [("consumer", "type"), ("consumer", "unilateral"), ("firm", "type"), ("firm", "unilateral"),
         ("government", "type")])
    refined = {r["member_id"] for r in rows} - {"default"}
    assert refined <= {"default~r"}  # refinement rows appear only if a violated outcome adopted a deviation
    assert "refinement" in capsys.readouterr().err
    assert br_main([str(out), "--unilateral-agents", "-1", "--no-progress"]) == 2
    assert "--unilateral-agents" in capsys.readouterr().err


def test_bad_input_gives_clear_errors(tmp_path, capsys):
    assert br_main([str(tmp_path / "missing.pt"), "--no-progress"]) == 2
    assert "no such checkpoint file or run directory" in capsys.readouterr().err
    assert br_main([str(tmp_path), "--no-progress"]) == 2
    assert "holds no checkpoint.pt" in capsys.readouterr().err
    member = Member(small_config())
    member.save(tmp_path / "m.pt")
    assert br_main([str(tmp_path / "m.pt"), "--types", "banker", "--no-progress"]) == 2
    assert "'banker' is not one of" in capsys.readouterr().err
    # a checkpoint from a different economy size cannot be loaded into this config
    other = small_config()
    other = dataclasses.replace(other, economy=dataclasses.replace(other.economy, num_firms=3))
    with pytest.raises(CheckpointError, match="economy.num_firms = 2 in the checkpoint, 3 in the config"):
        load_member(tmp_path / "m.pt", other)


def test_unfinished_search_uses_each_members_newest_segment(tmp_path):
    from pbt_econ.core.rundir import find_checkpoints

    for member in ("m000", "m001"):
        for seg in (1, 2):
            path = tmp_path / "members" / member / f"seg_{seg:04d}.pt"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"")
    assert [p.relative_to(tmp_path).as_posix() for p in find_checkpoints(tmp_path)] == [
        "members/m000/seg_0002.pt", "members/m001/seg_0002.pt"]
    (tmp_path / "members" / "m000" / "final.pt").write_bytes(b"")
    assert [p.name for p in find_checkpoints(tmp_path)] == ["final.pt"]


def test_before_after_and_untrained_share_spec_episodes_and_random_numbers():
    """The untrained baseline is measured exactly as "before" and "after" are: an untrained member's
    "before" *is* its untrained baseline, bit for bit, so its improvement is exactly 0."""
    cfg = br_config(episodes=2, eval_episodes=3, eval_seed=11)
    fresh = Member(small_config(), seed=4)
    report = best_response(fresh, cfg, types=("consumer", "firm"))
    for t in AGENT_TYPES:
        assert report.before.returns[t] == report.untrained.returns[t]
        assert len(report.before.returns[t]) == 3 * fresh.config.training.batch_size
    for r in trained_rows(report.rows) + unilateral_rows(report.rows):
        assert r.reward_untrained == r.reward_before and math.isnan(r.epsilon_rel_improvement)
    assert len(unilateral_rows(report.rows)) == 4  # two consumers and two firms
    trained = Member(small_config(), seed=4)
    trained.train(6)
    report = best_response(trained, cfg, types=("government",))
    # untrained = the member's episode-0 policies (rebuilt from its seed) under the same evaluation
    assert report.untrained.returns == fresh.evaluate(3, seed=11).returns
    assert trained_rows(report.rows)[0].reward_untrained == pytest.approx(fresh.evaluate(3, seed=11).mean("government"))
    assert report.before.returns == trained.evaluate(3, seed=11).returns


def test_outcome_descriptors_come_from_the_before_evaluation():
    """The search's outcome row is described by the very rollouts its epsilon was measured on: with one
    evaluation seed exactly the "before" evaluation; with K seeds their mean, the first being "before"."""
    from pbt_econ.config.load import AnalysisConfig
    from pbt_econ.core.seeds import stream_seed
    from pbt_econ.learning.records import Descriptors
    from populations.actor import MemberWorker

    config = dataclasses.replace(small_config(), best_response=BestResponseConfig(episodes=2, eval_episodes=2),
                                 analysis=AnalysisConfig(eval_seeds=1))
    worker = MemberWorker(config, config.curriculum, 3, "m", threads=0)
    worker.train(4)
    descriptors, se, rows = worker.finish()
    report = best_response(worker.member, config.best_response)
    assert descriptors == report.before.stats.descriptors
    assert rows == report.rows and math.isnan(se.price_se)
    assert descriptors.welfare == pytest.approx(report.before.mean("government"))
    assert [r.reward_before for r in trained_rows(rows)] == [report.before.mean(t) for t in AGENT_TYPES]
    three = dataclasses.replace(config, analysis=AnalysisConfig(eval_seeds=3))
    worker.member.config = three
    mean, se, _ = worker.finish()
    br = three.best_response
    evals = [report.before.stats.descriptors] + [
        worker.member.evaluate(br.eval_episodes, seed=stream_seed(br.eval_seed, "eval", k)).stats.descriptors
        for k in (1, 2)]
    assert mean == Descriptors.mean(evals)
    prices = [e.price for e in evals]
    m = sum(prices) / 3
    assert se.price_se == pytest.approx(math.sqrt(sum((p - m) ** 2 for p in prices) / 2 / 3))
