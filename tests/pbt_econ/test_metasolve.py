"""Meta-solvers over an empirical payoff table: uniform, regret matching, Nash, exploitability."""

from __future__ import annotations

import numpy as np
import pytest

from pbt_econ.equilibrium.metasolve import (
    exploitability,
    fictitious_play,
    nash_2p,
    nash_conv,
    nash_equilibria_2p,
    regret_matching,
    regret_matching_plus,
    solve,
    uniform,
)

PENNIES = np.array([[1.0, -1.0], [-1.0, 1.0]])
RPS = np.array([[0.0, -1.0, 1.0], [1.0, 0.0, -1.0], [-1.0, 1.0, 0.0]])
# row wants to match (3 on (0,0), 1 on (1,1)), column wants to mismatch: no pure equilibrium
ASYM_A = np.array([[3.0, 0.0], [0.0, 1.0]])
ASYM_B = np.array([[0.0, 1.0], [2.0, 0.0]])
# column indifferent at 2 - 2p = p  ->  p = 2/3;  row indifferent at 3q = 1 - q  ->  q = 1/4
ASYM_ROW, ASYM_COL = np.array([2 / 3, 1 / 3]), np.array([1 / 4, 3 / 4])
# prisoner's dilemma (0: cooperate, 1: defect): defect strictly dominates
PD_A = np.array([[3.0, 0.0], [5.0, 1.0]])
PD_B = PD_A.T
SKEWED = [[0.9, 0.1], [0.2, 0.8]]


def zero_sum(A):
    return [A, -A]


def test_uniform():
    out = uniform([1, 3])
    assert np.allclose(out[0], [1.0]) and np.allclose(out[1], [1 / 3] * 3)
    with pytest.raises(ValueError):
        uniform([0])


def test_matching_pennies():
    assert all(np.allclose(s, [0.5, 0.5]) for s in nash_2p(PENNIES).strategies)
    for plus in (False, True):
        out = regret_matching(zero_sum(PENNIES), 4000, plus=plus, initial=SKEWED)
        assert all(np.abs(s - 0.5).max() < 0.02 for s in out), out
    assert all(np.allclose(s, [0.5, 0.5]) for s in solve("nash", zero_sum(PENNIES)))


def test_rock_paper_scissors():
    result = nash_2p(RPS)
    assert result.method == "support_enumeration"
    assert all(np.allclose(s, 1 / 3) for s in result.strategies)
    assert np.allclose(result.values, 0.0) and np.allclose(result.exploitability, 0.0)
    out = regret_matching_plus(zero_sum(RPS), 3000, initial=[[0.6, 0.3, 0.1], [0.1, 0.1, 0.8]])
    assert all(np.abs(s - 1 / 3).max() < 0.02 for s in out), out


def test_asymmetric_unique_mixed_nash():
    result = nash_2p(ASYM_A, ASYM_B)
    x, y = result.strategies
    assert np.allclose(x, ASYM_ROW) and np.allclose(y, ASYM_COL)
    assert np.allclose(result.values, [3 / 4, 2 / 3])  # row: 3q; column: p
    assert len(nash_equilibria_2p(ASYM_A, ASYM_B)) == 1
    fp = fictitious_play([ASYM_A, ASYM_B], 4000)  # 2x2 games: fictitious play converges too
    assert np.abs(fp[0] - ASYM_ROW).max() < 0.02 and np.abs(fp[1] - ASYM_COL).max() < 0.02


def test_battle_of_the_sexes_lists_all_three_and_picks_pure_first():
    A, B = np.array([[3.0, 0.0], [0.0, 1.0]]), np.array([[1.0, 0.0], [0.0, 3.0]])
    found = nash_equilibria_2p(A, B)
    assert len(found) == 3
    mixed = [(x, y) for x, y in found if x.max() < 1]
    assert len(mixed) == 1 and np.allclose(mixed[0][0], [3 / 4, 1 / 4]) and np.allclose(mixed[0][1], [1 / 4, 3 / 4])
    x, y = nash_2p(A, B).strategies
    assert np.allclose(x, [1, 0]) and np.allclose(y, [1, 0])


def test_dominance_solvable_game_gives_the_pure_equilibrium():
    x, y = nash_2p(PD_A, PD_B).strategies
    assert np.allclose(x, [0, 1]) and np.allclose(y, [0, 1])
    for name in ("regret_matching", "regret_matching_plus"):
        out = solve(name, [PD_A, PD_B], iterations=2000)
        assert out[0][1] > 0.99 and out[1][1] > 0.99, (name, out)


def test_three_players_regret_matching_and_exploitability():
    # each player pays 1 for action 1 and gets 2 if any other player plays 0: action 0 is dominant
    tables = []
    for p in range(3):
        t = np.zeros((2, 2, 2))
        for idx in np.ndindex(2, 2, 2):
            t[idx] = -idx[p] + 2 * any(idx[q] == 0 for q in range(3) if q != p)
        tables.append(t)
    out = regret_matching(tables, 1000)
    assert all(s[0] > 0.99 for s in out)
    assert np.allclose(exploitability(tables, [[1, 0]] * 3), 0.0)
    assert np.allclose(exploitability(tables, [[0, 1]] * 3), 1.0)
    with pytest.raises(ValueError, match="1 or 2 players"):
        solve("nash", tables)


def test_exploitability_zero_at_nash_positive_elsewhere():
    assert np.allclose(exploitability(zero_sum(PENNIES), [[0.5, 0.5], [0.5, 0.5]]), 0.0)
    assert np.allclose(exploitability([ASYM_A, ASYM_B], [ASYM_ROW, ASYM_COL]), 0.0, atol=1e-12)
    assert np.allclose(exploitability(zero_sum(RPS), [[1, 0, 0], [1, 0, 0]]), [1.0, 1.0])
    gains = exploitability([ASYM_A, ASYM_B], [[0.5, 0.5], [0.5, 0.5]])
    assert np.all(gains > 0) and np.allclose(gains, [0.5, 0.25])  # row: 1.5 - 1; column: 1 - 0.75
    assert nash_conv([ASYM_A, ASYM_B], [[0.5, 0.5], [0.5, 0.5]]) == pytest.approx(0.75)


def test_solve_dispatch_and_bad_name():
    assert [s.tolist() for s in solve("uniform", [ASYM_A, ASYM_B])] == [[0.5, 0.5], [0.5, 0.5]]
    assert np.allclose(solve("nash", [np.array([1.0, 3.0, 3.0])])[0], [0, 0.5, 0.5])  # one player: best entries
    with pytest.raises(ValueError, match="'psro'"):
        solve("psro", [ASYM_A, ASYM_B])
    with pytest.raises(ValueError, match="shape"):
        solve("uniform", [ASYM_A, np.zeros((2, 3))])


def test_degenerate_game_falls_back_to_fictitious_play_when_enumeration_is_capped():
    result = nash_2p(RPS, max_supports=3, iterations=3000)
    assert result.method == "fictitious_play"
    assert max(result.exploitability) < 0.02
