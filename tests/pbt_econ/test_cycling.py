"""Cycle and stall detection of a solver loop."""

from __future__ import annotations

import numpy as np
import pytest

from pbt_econ.equilibrium.cycling import detect_cycle, distance, stalled

RPS = np.array([[0.0, -1.0, 1.0], [1.0, 0.0, -1.0], [-1.0, 1.0, 0.0]])
PENNIES = np.array([[1.0, -1.0], [-1.0, 1.0]])


def best_response_dynamics(A, B, start, rounds):
    """Both players switch at once to their pure best response to the other's current action."""
    history = [tuple(start)]
    for _ in range(rounds):
        i, j = history[-1]
        history.append((int(np.argmax(A[:, j])), int(np.argmax(B[i, :]))))
    return history


def test_rock_paper_scissors_best_response_dynamics_cycle_with_period_3():
    history = best_response_dynamics(RPS, -RPS, (0, 0), 10)
    assert history[:4] == [(0, 0), (1, 1), (2, 2), (0, 0)]
    r = detect_cycle(history, exploitability=[1.0] * len(history))
    assert r is not None and r.period == 3
    assert r.rounds == (8, 9, 10) and r.start == 5 and r.max_deviation == 0.0 and r.spread == 2.0
    assert r.exploitability == (1.0, 1.0, 1.0) and r.best_round == 8
    assert detect_cycle(history[:5]) is None  # not yet seen twice


def test_matching_pennies_best_response_dynamics_cycle_with_period_4():
    history = best_response_dynamics(PENNIES, -PENNIES, (0, 0), 12)
    r = detect_cycle(history)
    assert r is not None and r.period == 4
    assert detect_cycle(history, max_period=3) is None


def test_approximate_cycle_within_tolerance():
    rng = np.random.default_rng(0)
    history = [np.array([t % 2, 1 - t % 2], dtype=float) + rng.uniform(-0.01, 0.01, 2) for t in range(12)]
    assert detect_cycle(history, tolerance=0.0) is None
    r = detect_cycle(history, tolerance=0.05, exploitability=[0.5, 0.2] * 6)
    assert r is not None and r.period == 2 and r.best_round == 11 and r.max_deviation <= 0.05


def test_converging_sequence_is_no_cycle():
    history = [np.array([1.0, -2.0]) * 0.7 ** t for t in range(40)]
    assert detect_cycle(history, tolerance=1e-3) is None
    damped = [np.array([(-0.6) ** t]) for t in range(40)]  # oscillating but converging
    assert detect_cycle(damped, tolerance=1e-3) is None


def test_fixed_point_is_no_cycle():
    assert detect_cycle([(1, 2)] * 20) is None
    assert detect_cycle([(0, 0), (1, 1), (2, 2)] + [(1, 2)] * 10) is None


def test_distance():
    assert distance((1, 2), (1, 3)) == 1.0
    assert distance((1, 2), (1, 2, 3)) == float("inf")
    assert distance(("a", "b"), ("a", "b")) == 0.0 and distance("ab", "ac") == float("inf")
    assert distance([np.nan, 1.0], [np.nan, 1.0]) == 0.0 and distance([np.nan], [1.0]) == float("inf")


def test_stalled():
    assert not stalled([1.0, 0.5], window=3, rel_improvement=0.1)  # too short to tell
    assert not stalled([1.0, 0.8, 0.6, 0.4], window=2, rel_improvement=0.1)  # 0.8 -> 0.4
    assert stalled([1.0, 0.5, 0.49, 0.495, 0.6], window=3, rel_improvement=0.1)  # 0.5 -> 0.49: 2% < 10%
    assert not stalled([1.0, 0.5, 0.44, 0.6, 0.7], window=3, rel_improvement=0.1)  # 12% counts
    assert stalled([1.0, 0.5, 0.7, 0.8], window=2, rel_improvement=0.0)  # got worse
    assert not stalled([float("nan"), 1.0], window=1, rel_improvement=0.1)  # first real value improves
    with pytest.raises(ValueError):
        stalled([1.0], window=0, rel_improvement=0.1)
