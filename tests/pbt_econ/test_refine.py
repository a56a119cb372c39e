"""Refinement: a round adopts the violated deviation and records it; endings are classified by stated rules."""

from __future__ import annotations

import pytest
import torch

from pbt_econ.config.load import load_config
from pbt_econ.equilibrium.best_response import BestResponseRow, assess_outcome
from pbt_econ.equilibrium.refine import RefineRound, adoptable, classify, refine
from pbt_econ.equilibrium.verdicts import relative_epsilon
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


R = RefineRound


@pytest.mark.parametrize("rounds, violated_left, adoptable_left, ending", [
    ([], False, False, "not needed"),                    # nothing was violated: no round ran
    ([], False, True, "not needed"),
    ([], True, False, "not adoptable"),                  # violated, but by nothing a round could adopt
    ([R("a", 1.0)], False, False, "converged"),          # a round ran and nothing is violated any more
    ([R("a", 1.0), R("b", 0.8), R("a", 1.2)], False, True, "converged"),  # converged beats the a, b, a pattern
    ([R("a", 1.0)], True, False, "stuck"),               # still violated, nothing adoptable left
    ([R("a", 1.0), R("b", 0.8), R("a", 1.2)], True, False, "stuck"),      # stuck beats the a, b, a pattern
    ([R("a", 1.0), R("b", 0.8), R("a", 1.2)], True, True, "cycling"),     # a, b, a and the largest ε grew
    ([R("a", 1.0), R("b", 0.8), R("a", 1.0)], True, True, "cycling"),     # ... or stayed (>=)
    ([R("c", 9.0), R("a", 1.0), R("b", 0.8), R("a", 1.0)], True, True, "cycling"),  # the last three rounds
    ([R("a", 1.0), R("b", 0.8), R("a", 0.5)], True, True, "rounds exhausted"),  # a, b, a but ε shrank
    ([R("a", 1.0), R("a", 0.8), R("a", 1.2)], True, True, "rounds exhausted"),  # a, a, a: no alternation
    ([R("a", 1.0), R("b", 0.8), R("c", 1.2)], True, True, "rounds exhausted"),  # a, b, c: no alternation
    ([R("a", 1.0), R("b", 1.2)], True, True, "rounds exhausted"),                # too few rounds to cycle
    ([R("a", 1.0), R("b", 0.8), R("a", 1.2), R("c", 0.1)], True, True, "rounds exhausted"),  # b, a, c
])
def test_each_ending_of_classify(rounds, violated_left, adoptable_left, ending):
    assert classify(rounds, violated_left, adoptable_left) == ending


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
    # One round of a 40-episode deviation does not take the firms from 30 units to Nash: the final
    # assessment is still violated by the firm's trained type-level deviation, which is adoptable again,
    # and the one allowed round is spent (one round cannot cycle).
    final_rows = result.final[2]
    assert any(r.verdict == "violated" for r in final_rows) and adoptable(final_rows) == "firm"
    assert result.ending == "rounds exhausted"
    assert result.epsilon_after == max(relative_epsilon(r) for r in final_rows)
    assert result.rounds[0].epsilon_before == max(relative_epsilon(r) for r in start[2])
