"""Closed forms of the cournot, growth and coordination economies against hand-computed values, and
Monte-Carlo checks that each simulated economy earns what its closed form says."""

from __future__ import annotations

import dataclasses
import math
import types

import numpy as np
import pytest
import torch

from pbt_econ.core.errors import ConfigError
from pbt_econ.economies.coordination import solution as coordination
from pbt_econ.economies.cournot import solution as cournot
from pbt_econ.economies.growth import solution as growth
from pbt_econ.economies.registry import get_entry

GRID = [float(q) for q in range(31)]
ALPHA, BETA = 0.36, 0.95
AB = ALPHA * BETA  # 0.342


def onehot(k: int, size: int = 31) -> list[float]:
    return [1.0 if j == k else 0.0 for j in range(size)]


def build(kind: str, batch_size: int, **changes):
    entry = get_entry(kind)
    config = dataclasses.replace(entry.config_class(), **changes)
    return entry.build(types.SimpleNamespace(economy=config, spaces=None), batch_size, torch.device("cpu"), torch.float64)


# ------------------------------------------------------------------ cournot
def test_cournot_hand_values():
    assert cournot.nash_quantity(100, 1, 10, 5) == 15.0
    assert cournot.collusive_quantity(100, 1, 10, 5) == 9.0
    assert cournot.nash_profit(100, 1, 10, 5) == 225.0
    # Others produce 4 * 9 = 36: best response argmax q (90 - 36 - q) = 27, 729 vs 9 * (90 - 45) = 405.
    dev = cournot.unilateral_gain(onehot(9), GRID, 100, 1, 10, 5)
    assert (dev.gain, dev.quantity) == (324.0, 27.0)
    assert cournot.unilateral_gain(onehot(15), GRID, 100, 1, 10, 5).gain == 0.0  # Nash: no gain
    # All firms at Nash (225 each) switch together to the collusive 9: 405 - 225 = 180.
    dev = cournot.type_level_gain(onehot(15), GRID, 100, 1, 10, 5)
    assert (dev.gain, dev.quantity) == (180.0, 9.0)
    assert cournot.type_level_gain(onehot(9), GRID, 100, 1, 10, 5).gain == 0.0


def test_cournot_mixed_profile_by_hand():
    # Two firms, 50/50 on {0, 2}, a - c = 4, b = 1: E[q (4 - q - q')] = 2 * 2 / 2 ... = 0.5 * 2 * 2 - 1 = 1.
    assert cournot.expected_profit([0.5, 0.5], [0.0, 2.0], 4, 1, 0, 2) == 1.0
    # Every constant earns 0 (q = 0, or 2 * (4 - 4)); the mix beats them: constants are not optimal on coarse grids.
    dev = cournot.type_level_gain([1.0, 0.0], [0.0, 2.0], 4, 1, 0, 2)
    assert dev.gain == pytest.approx(1.0) and dev.probs == pytest.approx((0.5, 0.5))
    # Unilateral deviation against the mix (others' mean 1): u(0) = 0, u(2) = 2 (4 - 2 - 1) = 2; gain 2 - 1.
    dev = cournot.unilateral_gain([0.5, 0.5], [0.0, 2.0], 4, 1, 0, 2)
    assert (dev.gain, dev.quantity) == (1.0, 2.0)


def test_cournot_type_level_optimum_beats_every_symmetric_profile():
    rng = np.random.default_rng(0)
    grid = [0.0, 3.0, 7.0, 8.0, 15.0]
    for n in (1, 2, 5):
        best = cournot.type_level_gain(onehot(0, 5), grid, 50, 1, 2, n)
        base = cournot.expected_profit(onehot(0, 5), grid, 50, 1, 2, n)
        assert cournot.expected_profit(best.probs, grid, 50, 1, 2, n) - base == pytest.approx(best.gain)
        for probs in rng.dirichlet(np.full(5, 0.3), size=2000):
            assert cournot.expected_profit(probs, grid, 50, 1, 2, n) - base <= best.gain + 1e-9


def test_cournot_monte_carlo_unilateral_gain():
    """Firms draw iid from a random profile; firm 0 deviates to the closed-form best response."""
    probs = np.random.default_rng(1).dirichlet(np.ones(31))
    dev = cournot.unilateral_gain(probs, GRID, 100, 1, 10, 5)
    econ = build("cournot", batch_size=40_000)
    gen = torch.Generator().manual_seed(0)
    draws = torch.multinomial(torch.tensor(probs), 40_000 * 5, replacement=True, generator=gen).reshape(-1, 5, 1)
    state = econ.reset()
    _, base, _ = econ.step(state, econ.decode({"firm": draws}))
    deviating = draws.clone()
    deviating[:, 0, 0] = econ.fixed_indices("firm", {"quantity": dev.quantity})[0]
    _, after, _ = econ.step(state, econ.decode({"firm": deviating}))
    base_profit, dev_profit = base["firm"][:, 1:].reshape(-1), after["firm"][:, 0]  # independent samples
    simulated = float(dev_profit.mean() - base_profit.mean())
    se = math.sqrt(float(dev_profit.var()) / dev_profit.numel() + float(base_profit.var()) / base_profit.numel())
    assert abs(simulated - dev.gain) < 3 * se
    expected = cournot.expected_profit(probs, GRID, 100, 1, 10, 5)
    assert abs(float(base_profit.mean()) - expected) < 3 * float(base_profit.std()) / math.sqrt(base_profit.numel())


# ------------------------------------------------------------------- growth
def test_growth_savings_rates_by_hand():
    assert growth.savings_rates(ALPHA, BETA, 1) == pytest.approx([AB / (1 + AB), 0.0], abs=1e-15)
    assert growth.savings_rates(ALPHA, BETA, 2) == pytest.approx(
        [AB * (1 + AB) / (1 + AB + AB ** 2), AB / (1 + AB), 0.0], abs=1e-15)
    assert AB / (1 + AB) == pytest.approx(0.2548435171385991, abs=1e-15)
    long = growth.savings_rates(ALPHA, BETA, 60)
    assert long[0] == pytest.approx(AB, abs=1e-12)  # the infinite-horizon rate alpha beta


def test_growth_lifetime_utility_by_hand():
    s0, sigma, k0 = 0.3, 0.2, 2.0
    # U = ln(1 - s0) + alpha ln k0 - sigma^2 / 2 + beta (ln 1 + alpha (ln s0 + alpha ln k0 - sigma^2/2) - sigma^2/2)
    m0 = ALPHA * math.log(k0) - sigma ** 2 / 2
    hand = math.log(0.7) + m0 + BETA * (ALPHA * (math.log(s0) + m0) - sigma ** 2 / 2)
    assert growth.lifetime_utility([s0, 0.0], ALPHA, BETA, k0, sigma) == pytest.approx(hand, abs=1e-14)
    assert growth.lifetime_utility([0.0, 0.0], ALPHA, BETA, k0, sigma) == -math.inf


def test_growth_euler_errors_and_ce_loss():
    best = growth.savings_rates(ALPHA, BETA, 5)
    assert max(growth.euler_residuals(best, ALPHA, BETA)) < 1e-12
    assert max(growth.euler_errors(best, ALPHA, BETA)) < -12
    assert growth.ce_loss(best, ALPHA, BETA, 1.0, 0.1) == pytest.approx(0.0, abs=1e-14)
    other = [0.3] * 5 + [0.0]
    # Hand: t = 0: |1 - 0.7 * 0.3 / (0.342 * 0.7)| = |1 - 0.3 / 0.342|; t = 4: |1 - 1 * 0.3 / (0.342 * 0.7)|.
    residuals = growth.euler_residuals(other, ALPHA, BETA)
    assert residuals[0] == pytest.approx(abs(1 - 0.3 / AB)) and residuals[4] == pytest.approx(abs(1 - 0.3 / (AB * 0.7)))
    assert min(growth.euler_errors(other, ALPHA, BETA)) > -12
    loss = growth.ce_loss(other, ALPHA, BETA, 1.0, 0.1)
    assert 0.0 < loss < 1.0
    # Definition: consuming (1 - loss) c* every period gives the utility of `other`.
    u_best = growth.lifetime_utility(best, ALPHA, BETA, 1.0, 0.1)
    u_other = growth.lifetime_utility(other, ALPHA, BETA, 1.0, 0.1)
    assert u_best + math.log(1 - loss) * sum(BETA ** t for t in range(6)) == pytest.approx(u_other, abs=1e-12)


def test_growth_grid_policy_and_floor():
    grid = [round(0.02 * i, 10) for i in range(50)]
    policy = growth.grid_policy(grid, ALPHA, BETA, 5)
    assert policy == [0.34, 0.34, 0.34, 0.32, 0.26, 0.0]
    assert policy == growth.grid_policy(grid, ALPHA, BETA, 5, rule="nearest")
    floor = growth.grid_floor(grid, ALPHA, BETA, 5, 1.0, 0.1)
    assert 0.0 < floor.ce_loss < 1e-3 and len(floor.euler_errors) == 5
    # The best grid policy beats every other grid policy that differs in one period.
    for t in range(6):
        for g in grid:
            trial = policy[:t] + [g] + policy[t + 1:]
            assert growth.lifetime_utility(trial, ALPHA, BETA, 1.0, 0.1) <= growth.lifetime_utility(
                policy, ALPHA, BETA, 1.0, 0.1) + 1e-12


@pytest.mark.parametrize(("k0", "sigma"), [(1.0, 0.1), (2.0, 0.3)])
def test_growth_monte_carlo_lifetime_utility(k0, sigma):
    """Simulate the closed-form policy (on a grid holding its rates) and compare with lifetime_utility."""
    rates = growth.savings_rates(ALPHA, BETA, 5)
    grid = tuple(sorted(set(rates)))
    econ = build("growth", batch_size=8, num_households=2000, savings_rates=grid, initial_capital=k0, sigma=sigma)
    state, total = econ.reset(), 0.0
    for t in range(econ.episode_length):
        index = econ.fixed_indices("household", {"savings": rates[t]})[0]
        state, rewards, _ = econ.step(state, econ.decode({"household": torch.full((8, 2000, 1), index)}))
        total = total + rewards["household"]
    exact = growth.lifetime_utility(rates, ALPHA, BETA, k0, sigma)
    assert abs(float(total.mean()) - exact) < 3 * float(total.std()) / math.sqrt(total.numel())


def test_growth_config_rejects_a_savings_rate_of_one():
    with pytest.raises(ConfigError, match=r"savings_rates\[1\]"):
        get_entry("growth").config_class(savings_rates=(0.5, 1.0))


# ------------------------------------------------------------- coordination
def test_coordination_equilibria_by_hand():
    pure = coordination.pure_equilibria(10, 1.0, 0.3)
    assert [(e.adopters, e.payoff) for e in pure] == [(0.0, 0.0), (10.0, pytest.approx(0.7))]
    mixed = coordination.mixed_equilibrium(10, 1.0, 0.3)
    assert mixed.adoption == pytest.approx(2 / 9) and mixed.payoff == pytest.approx(0.0, abs=1e-15)
    assert coordination.stable(10, 1.0, 0.3) == pure
    assert not coordination.is_stable(mixed, 10, 1.0, 0.3)
    # kappa < theta / N: adopting is dominant; kappa > theta: idling is; neither has a mixed equilibrium.
    assert [e.adopters for e in coordination.pure_equilibria(10, 1.0, 0.05)] == [10.0]
    assert [e.adopters for e in coordination.pure_equilibria(10, 1.0, 1.5)] == [0.0]
    assert coordination.mixed_equilibrium(10, 1.0, 0.05) is None
    assert coordination.mixed_equilibrium(10, 1.0, 1.5) is None


def test_coordination_monte_carlo_rewards():
    econ = build("coordination", batch_size=20_000)
    for p, per_step in [(2 / 9, 0.0), (0.5, 0.5 * (1.0 * (1 + 9 * 0.5) / 10 - 0.3)), (1.0, 0.7)]:
        assert coordination.expected_payoff(p, 10, 1.0, 0.3) == pytest.approx(per_step, abs=1e-15)
        gen = torch.Generator().manual_seed(5)
        state, total = econ.reset(), 0.0
        for _ in range(econ.episode_length):
            adopt = (torch.rand(20_000, 10, 1, generator=gen) < p).long()
            state, rewards, _ = econ.step(state, econ.decode({"agent": adopt}))
            total = total + rewards["agent"]
        episode = total.mean(-1)  # agents of one copy are correlated: one sample per copy
        se = float(episode.std()) / math.sqrt(episode.numel())
        assert abs(float(episode.mean()) - 5 * per_step) <= 3 * se + 1e-12
