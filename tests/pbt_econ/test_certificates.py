"""Exact certificates and verdicts: the certificate of a hand-built economy equals its enumerated optimum."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch

from pbt_econ.config.episode import evaluation_spec
from pbt_econ.config.load import load_config
from pbt_econ.core.stats import paired_gain
from pbt_econ.economies.cournot import solution
from pbt_econ.equilibrium.best_response import assess_outcome
from pbt_econ.equilibrium.best_response.certificates import constant_play, per_agent_returns
from pbt_econ.equilibrium.outcomes import outcome_row
from pbt_econ.equilibrium.verdicts import verdict, worst_verdict
from pbt_econ.learning.member import Member

SETTINGS = ["training.batch_size=4", "best_response.eval_episodes=1", "best_response.episodes=1",
            "economy.num_firms=3", "economy.quantities=[0, 5, 10, 15, 20, 25, 30]"]


def _member(fixed_q: float, extra=()) -> Member:
    config = load_config("configs/cournot.yaml", SETTINGS + [f"fixed={{firm: {{quantity: {fixed_q}}}}}",
                                                             "best_response.check_fixed=true", *extra])
    return Member(config, seed=0)


@pytest.mark.parametrize("q", [10.0, 20.0, 25.0])
def test_certificates_equal_the_enumerated_exact_gains(q):
    member = _member(q)
    e = member.config.economy
    grid = list(e.quantities)
    probs = np.zeros(len(grid))
    probs[grid.index(q)] = 1.0
    _, _, rows = assess_outcome(member, member.config.best_response, 1)
    by_kind = {(r.deviation, r.agent): r for r in rows if r.start == "constant"}
    uni = solution.unilateral_gain(probs, grid, e.a, e.b, e.c, e.num_firms)
    team = solution.type_level_gain(probs, grid, e.a, e.b, e.c, e.num_firms)
    assert by_kind[("unilateral", 0)].epsilon_abs == pytest.approx(uni.gain, rel=1e-5, abs=1e-3)
    assert by_kind[("unilateral", 2)].epsilon_abs == pytest.approx(uni.gain, rel=1e-5, abs=1e-3)
    # a deterministic profile and constant deviations: the type-level optimum over constants
    best_const = max(q2 * (e.a - e.c - e.b * e.num_firms * q2) for q2 in grid)
    before = q * (e.a - e.c - e.b * e.num_firms * q)
    assert by_kind[("type", -1)].epsilon_abs == pytest.approx(max(0.0, best_const - before), rel=1e-5, abs=1e-3)
    assert by_kind[("type", -1)].epsilon_abs <= team.gain + 1e-6


def test_collusion_passes_the_type_level_check_and_fails_the_unilateral_one():
    e_q = 15.0  # (a - c) / (2 b N) with N = 3: the collusive quantity, on the grid
    member = _member(e_q)
    d, se, rows = assess_outcome(member, member.config.best_response, 1)
    out = outcome_row("m", "n", "c", 0, 0, {}, d, rows, economy=member.config.economy_model, descriptor_se=se,
                      fixed_types=("firm",))
    assert out.epsilon["verdict_type_firm"] == "verified"  # all firms together cannot gain: collusion is optimal
    assert out.epsilon["verdict_firm"] == "violated"  # one firm alone gains by producing more
    assert out.verdict == "violated"


def test_a_unilateral_constant_moves_only_that_agent():
    member = _member(10.0)
    spec = evaluation_spec(member.types)
    plain = dataclasses.replace(spec, agents={"firm": dataclasses.replace(spec.agent("firm"), fixed_action=(2,))})
    play = constant_play(member, "firm", "unilateral", 1, 4)
    gen = torch.Generator()
    a = member.run_episode(plain, gen.manual_seed(0)).trajectories["firm"].action
    b = member.run_episode(plain, gen.manual_seed(0), pool_play=(play,)).trajectories["firm"].action
    assert torch.equal(a[:, :, [0, 2]], b[:, :, [0, 2]])
    assert bool((b[:, :, 1] == 4).all()) and bool((a[:, :, 1] == 2).all())
    r = per_agent_returns(member, plain, 1, 0, pool_play=(play,))["firm"]
    assert r.shape == (member.config.training.batch_size, 3)


@pytest.mark.parametrize("scope, agent", [("type", -1), ("unilateral", 1)])
def test_a_constant_deviation_keeps_everyone_elses_random_numbers(scope, agent):
    """A stochastic RBC profile: the firms' constant deviation (type-level or one firm's) leaves the draws of
    every other type as in "before": the government, which samples after the firms, acts identically at
    step 0 in every copy (later steps see other prices), and in copies the deviation does not touch every
    type's actions are identical at every step. (A type-level constant that skipped its type's sampling
    shifted the government's draws.)"""
    config = load_config(None, ["economy.num_consumers=4", "economy.num_firms=2", "economy.episode_length=4",
                                "training.batch_size=8"])
    member = Member(config, seed=3)
    spec = evaluation_spec(member.types)
    gen = torch.Generator()
    before = member.run_episode(spec, gen.manual_seed(5)).trajectories
    after = member.run_episode(spec, gen.manual_seed(5),
                               pool_play=(constant_play(member, "firm", scope, agent, 0),)).trajectories
    for t in ("consumer", "government"):
        assert torch.equal(before[t].action[0], after[t].action[0]), t
    assert not torch.equal(before["firm"].action, after["firm"].action)  # the deviation was played
    one_copy = dataclasses.replace(constant_play(member, "firm", scope, agent, 0),
                                   copies=torch.arange(8) == 0)
    partly = member.run_episode(spec, gen.manual_seed(5), pool_play=(one_copy,)).trajectories
    for t in member.types:
        assert torch.equal(before[t].action[:, 1:], partly[t].action[:, 1:]), t
    # the government's own draws differ from "before" under a policy that stops sampling: the old mechanism
    skipped = dataclasses.replace(spec, agents={**spec.agents, "firm": dataclasses.replace(
        spec.agent("firm"), fixed_action=(0,))})
    shifted = member.run_episode(skipped, gen.manual_seed(5)).trajectories
    assert not torch.equal(before["government"].action[0], shifted["government"].action[0])


@pytest.mark.parametrize("gain, ci, ref, tol, expected", [
    (1.0, 0.5, 100.0, 0.03, "verified"),      # [0.005, 0.015] below 0.03
    (10.0, 0.5, 100.0, 0.03, "violated"),     # [0.095, 0.105] above 0.03
    (3.0, 0.5, 100.0, 0.03, "inconclusive"),  # [0.025, 0.035] contains 0.03
    (1.0, math.nan, 100.0, 0.03, "inconclusive"),
    (1.0, 0.1, 0.0, 0.03, "inconclusive"),    # no reference
    (-5.0, 1.0, 100.0, 0.03, "verified"),     # a losing deviation: [-0.06, -0.04]
    (-47.0, 13.0, 100.0, 0.10, "verified"),   # loses 47% +- 13%: epsilon's interval is [0, 0]
])
def test_verdicts_on_synthetic_intervals(gain, ci, ref, tol, expected):
    assert verdict(gain, ci, ref, tol) == expected


@pytest.mark.parametrize("gain, ci, ref, tol, expected", [
    (-5.0, 16.0, 100.0, 0.10, "inconclusive"),  # [-0.21, 0.11] contains 0.10
    (-5.0, 14.0, 100.0, 0.10, "verified"),      # [-0.19, 0.09]: even its upper end is below 0.10
])
def test_a_losing_deviation_is_decided_by_the_upper_end_of_its_gain(gain, ci, ref, tol, expected):
    """Clipping the gain at 0 before adding the half-width (the rule before decision 50) would call the
    second case inconclusive: 0 + 0.14 > 0.10."""
    assert verdict(gain, ci, ref, tol) == expected


def test_paired_gain_and_worst_verdict():
    gain, ci = paired_gain([3.0, 5.0, 7.0], [1.0, 2.0, 3.0])
    assert gain == pytest.approx(3.0)
    assert ci == pytest.approx(1.96 * 1.0 / math.sqrt(3))
    assert worst_verdict(["verified", "violated", "inconclusive"]) == "violated"
    assert worst_verdict(["verified", "verified"]) == "verified"
    assert worst_verdict([]) == "inconclusive"
