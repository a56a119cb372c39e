"""Tests of curricula and the episode specs they produce (and derive for evaluation / best response)."""

from __future__ import annotations

import dataclasses
import math

import pytest

from pbt_econ.config.curriculum import AgentCurriculum, Curriculum, MaskSchedule
from pbt_econ.config.episode import best_response_spec, evaluation_spec
from pbt_econ.config.load import load_curriculum
from pbt_econ.core.errors import ConfigError

AGENT_TYPES = ("consumer", "firm", "government")


def per_type(spec, field):
    return {t: getattr(spec.agent(t), field) for t in AGENT_TYPES}


def test_paper_curriculum_schedule_by_hand():
    cur = load_curriculum({"base": "paper", "time_scale": 0.01})  # 30k -> 300, 10k -> 100
    p0 = cur.at(0, AGENT_TYPES)
    assert p0.theta_scale == 0.0 and per_type(p0, "learns") == {"consumer": True, "firm": False, "government": False}
    assert per_type(p0, "mask_progress") == {"consumer": 1.0, "firm": 0.0, "government": 0.0}
    assert p0.agent("consumer").entropy_factor == 1.0
    assert p0.episode == 0 and p0.penalties and p0.update_multipliers
    p = cur.at(150, AGENT_TYPES)
    assert p.theta_scale == pytest.approx(1 - math.exp(-1.5))
    assert p.agent("firm").mask_progress == pytest.approx(0.5) and p.agent("government").mask_progress == 0.0
    assert p.agent("firm").entropy_factor == pytest.approx(math.exp(-1.5))
    p = cur.at(450, AGENT_TYPES)
    assert per_type(p, "learns") == {"consumer": True, "firm": True, "government": False}
    assert p.learners == ("consumer", "firm")
    assert p.agent("firm").mask_progress == 1.0 and p.agent("government").mask_progress == pytest.approx(0.5)
    assert p.agent("consumer").entropy_factor == pytest.approx(0.1)  # floored
    assert cur.at(600, AGENT_TYPES).agent("government").learns and cur.at(599, AGENT_TYPES).agent("government").learns is False


def test_spec_carries_the_mask_start_values_of_its_curriculum():
    """A spec is a complete description: the mask's start values travel in it, not in the curriculum."""
    cur = Curriculum(name="c", agents={"firm": AgentCurriculum(mask=MaskSchedule(over_episodes=10, start={"price": 1500.0}))})
    spec = cur.at(0, AGENT_TYPES)
    assert spec.agent("firm").start("price", 1000.0) == 1500.0 and spec.agent("firm").start("wage", 22.0) == 22.0
    assert cur.at(0, AGENT_TYPES) == cur.at(0, AGENT_TYPES)  # frozen, comparable: same episode, same spec
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.theta_scale = 1.0


def test_none_curriculum_evaluation_and_best_response_specs():
    none = load_curriculum("none")
    p = none.at(0, AGENT_TYPES)
    assert all(per_type(p, "learns").values()) and p.theta_scale == 1.0
    assert set(per_type(p, "mask_progress").values()) == {1.0}
    paper = load_curriculum({"base": "paper", "time_scale": 0.01})
    train = paper.at(10, AGENT_TYPES)
    q = best_response_spec(train, "firm")
    assert per_type(q, "learns") == {"consumer": False, "firm": True, "government": False}
    assert q.theta_scale == 1.0 and set(per_type(q, "mask_progress").values()) == {1.0}
    assert per_type(q, "entropy_factor") == per_type(train, "entropy_factor")  # the annealed bonus is kept
    assert [t for t in AGENT_TYPES if q.multiplier_moves(t)] == ["firm"]  # frozen types' multipliers stay
    e = evaluation_spec(AGENT_TYPES, 7)
    assert e.learners == () and not any(e.multiplier_moves(t) for t in AGENT_TYPES)
    assert e.theta_scale == 1.0 and e.episode == 7 and e.penalties and e.types == AGENT_TYPES
    with pytest.raises(ConfigError, match="best-response type 'bank'"):
        best_response_spec(train, "bank")


def test_custom_curriculum_as_data():
    cur = Curriculum(name="slow-gov", agents={"government": AgentCurriculum(
        learn_from=10, mask=MaskSchedule(start_episode=0, over_episodes=20, start={"income_tax": 0.4}))})
    assert not cur.at(9, AGENT_TYPES).agent("government").learns and cur.at(10, AGENT_TYPES).agent("government").learns
    assert cur.at(5, AGENT_TYPES).agent("government").mask_progress == pytest.approx(0.25)
    assert cur.at(5, AGENT_TYPES).agent("government").start("income_tax", 0.0) == 0.4
