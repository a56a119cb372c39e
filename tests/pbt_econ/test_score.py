"""The cheap exploitability score PBT ranks by (pbt_econ/equilibrium/score.py): high where a constant
deviation pays (Cournot collusion), within tolerance at the Nash quantity, and what it costs."""

from __future__ import annotations

import math

import pytest
import torch

from pbt_econ.equilibrium.score import exploitability_score, rank_key
from pbt_econ.learning.member import Member
from tests.pbt_econ.test_solver import two_firms


def playing(cfg, quantity: int) -> Member:
    """A member whose shared firm policy (nearly always) plays ``quantity``."""
    member = Member(cfg, seed=0)
    head = member.policies["firm"].head
    with torch.no_grad():
        head.weight.zero_()
        head.bias.zero_()
        head.bias[quantity] = 8.0
    return member


def test_the_score_is_high_at_collusion_and_within_tolerance_at_nash():
    cfg = two_firms()
    collusion = exploitability_score(playing(cfg, 22), cfg.best_response, scope="nash")
    nash = exploitability_score(playing(cfg, 30), cfg.best_response, scope="nash")
    assert collusion.score > 1.5, collusion  # a single firm gains well beyond its tolerance by producing more
    assert nash.score <= 1.0, nash  # q* = 30: no single firm's constant deviation gains its tolerance
    assert set(collusion.by_type) == {"firm"}
    # In the paper's (type-level) sense it is the other way round: both firms gain by colluding at Nash.
    assert exploitability_score(playing(cfg, 30), cfg.best_response, scope="meta").score > 1.5
    assert exploitability_score(playing(cfg, 22), cfg.best_response, scope="meta").score <= 1.0
    both = exploitability_score(playing(cfg, 22), cfg.best_response, unilateral_agents=1)
    assert both.score == collusion.score and both.evaluations == 41 * (1 + 1)  # type-level and one agent
    assert exploitability_score(playing(cfg, 22), cfg.best_response).evaluations == 41 * 3  # the config's 2 agents
    with pytest.raises(ValueError, match="scope"):
        exploitability_score(playing(cfg, 22), cfg.best_response, scope="paper")


def test_rank_key_orders_by_score_then_fitness():
    assert rank_key(1.0, 0.5) == rank_key(1.0, 0.9)  # both within tolerance: tie on the score
    assert rank_key(1.0, 0.5) > rank_key(100.0, 2.0)
    assert rank_key(2.0, 0.5) > rank_key(1.0, 0.5)
    assert rank_key(1.0, math.nan) < rank_key(-1e9, 50.0)
    assert rank_key(math.nan, None) < rank_key(-1e9, None)
