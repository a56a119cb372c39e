"""Refinement: a round adopts the violated deviation and records it; endings are classified by stated rules."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from pbt_econ.config.load import load_config
from pbt_econ.equilibrium.best_response import BestResponseRow, assess_outcome
from pbt_econ.equilibrium.refine import RefineRound, adoptable, classify, refine
from pbt_econ.learning.member import Member


def _row(t, verdict, rel, start="learned", deviation="type"):
    return BestResponseRow(member_id="m", agent_type=t, start=start, episodes=1, reward_before=1.0,
                           reward_before_ci95=0.0, reward_after=1.0, reward_after_ci95=0.0, reward_untrained=0.0,
                           epsilon_abs=rel, epsilon_rel=rel, epsilon_rel_improvement=rel, tolerance=0.1,
                           passes=verdict != "violated", member_episode=0, eval_seed=0, deviation=deviation,
                           verdict=verdict)


def test_adoptable_picks_the_most_improving_type_level_deviation_of_a_violated_outcome():
    rows = [_row("a", "inconclusive", 0.5), _row("b", "verified", 0.9), _row("c", "violated", 9.0, start="constant"),
            _row("d", "violated", 50.0, deviation="unilateral")]
    # violated (by a certificate and a unilateral deviation): adopt the most improving trained type-level one
    assert adoptable(rows) == "b"
    assert adoptable([_row("a", "inconclusive", 0.5), _row("b", "verified", 0.9)]) is None  # nothing violated
    assert adoptable([_row("a", "verified", 0.0), _row("c", "violated", 9.0, start="constant")]) is None
    assert adoptable([_row("a", "inconclusive", 0.5)]) is None


def test_endings():
    r = [RefineRound("a", 1.0), RefineRound("b", 0.8), RefineRound("a", 1.2)]
    assert classify([], False, False, 3) == "not needed"
    assert classify([], True, False, 3) == "not adoptable"
    assert classify(r[:1], False, False, 3) == "converged"
    assert classify(r[:1], True, False, 3) == "stuck"
    assert classify(r, True, True, 3) == "cycling"  # a, b, a and the largest ε did not shrink
    shrinking = [RefineRound("a", 1.0), RefineRound("b", 0.8), RefineRound("a", 0.5)]
    assert classify(shrinking, True, True, 3) == "rounds exhausted"


@pytest.mark.parametrize("unilateral_agents", [0, 1])
def test_a_refinement_round_adopts_the_deviation_and_records_it(unilateral_agents):
    """Cournot with the firm policy pushed far from Nash: the trained type-level deviation is violated,
    refinement adopts it (the firm policy changes to the deviation's) and records the round."""
    config = load_config("configs/cournot.yaml", ["training.batch_size=16", "best_response.episodes=40",
                                                  "best_response.eval_episodes=2",
                                                  f"best_response.unilateral_agents={unilateral_agents}",
                                                  "best_response.certificate_max_actions=0"])
    member = Member(config, seed=0)
    head = member.policies["firm"].head
    with torch.no_grad():  # everyone produces 30 (losses: P = 100 - 150 < c); any deviation gains a lot
        head.weight[:-1].zero_()
        head.bias[:-1].zero_()
        head.bias[30] = 3.0
    start = assess_outcome(member, config.best_response, 1)
    assert adoptable(start[2]) == "firm"
    before = [p.clone() for p in member.policies["firm"].parameters()]
    result = refine(member, config.best_response, rounds=1, episodes=40, eval_seeds=1, start=start)
    assert [r.adopted for r in result.rounds] == ["firm"]
    assert any(not torch.equal(a, b) for a, b in zip(before, member.policies["firm"].parameters()))
    assert result.final[0]["profit"] > start[0]["profit"]  # the adopted deviation is what the member plays now
    assert result.ending in ("converged", "rounds exhausted", "stuck")
    assert dataclasses.is_dataclass(result)
