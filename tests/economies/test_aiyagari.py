"""The Aiyagari economy: its stationary equilibrium against Aiyagari's (1994) Table II, the labour chains'
moments, factor prices by hand, the one-step Bellman certificate and Euler errors on policies with known
answers, and one step of the economy by hand."""

from __future__ import annotations

import dataclasses
import functools
import math
import types

import numpy as np
import pytest
import torch

from pbt_econ.economies.aiyagari import AiyagariConfig, AiyagariEconomy, certify, markov, solution
from pbt_econ.economies.registry import get_entry
from pbt_econ.validation import ConfigError

# Aiyagari (1994), "Uninsured idiosyncratic risk and aggregate saving", QJE 109(3), Table II: net return to capital
# in % (7-state Tauchen chain for log labour, m = 3, sigma = unconditional std, beta 0.96, alpha 0.36, delta 0.08),
# all 24 cells. Three transcriptions give every value digit for digit:
#   econ-ark/Aiyagari1994QJE, AiyagariMarkovHARK.ipynb (the list `aiyagari`; commit 0f22eb1);
#   ferrall/niqlow, examples/replications/AiyagariQJE1994.h (`Aiyagari::original`);
#   vfitoolkit/vfitoolkit-matlab-replication, Aiyagari1994/Aiyagari1994.pdf (Table 4, "Original Version of ...").
TABLE_II = {  # (sigma, rho, mu): r in %
    (0.2, 0.0, 1.0): 4.1666, (0.2, 0.0, 3.0): 4.1456, (0.2, 0.0, 5.0): 4.0858,
    (0.2, 0.3, 1.0): 4.1365, (0.2, 0.3, 3.0): 4.0432, (0.2, 0.3, 5.0): 3.9054,
    (0.2, 0.6, 1.0): 4.0912, (0.2, 0.6, 3.0): 3.8767, (0.2, 0.6, 5.0): 3.5857,
    (0.2, 0.9, 1.0): 3.9305, (0.2, 0.9, 3.0): 3.2903, (0.2, 0.9, 5.0): 2.5260,
    (0.4, 0.0, 1.0): 4.0649, (0.4, 0.0, 3.0): 3.7816, (0.4, 0.0, 5.0): 3.4177,
    (0.4, 0.3, 1.0): 3.9554, (0.4, 0.3, 3.0): 3.4188, (0.4, 0.3, 5.0): 2.8032,
    (0.4, 0.6, 1.0): 3.7567, (0.4, 0.6, 3.0): 2.7835, (0.4, 0.6, 5.0): 1.8070,
    (0.4, 0.9, 1.0): 3.3054, (0.4, 0.9, 3.0): 1.2894, (0.4, 0.9, 5.0): -0.3456,
}
# HARK's r on the same chain (make_tauchen_ar1(7, ..., 3): identical to markov.tauchen to 1e-15; EGM on 48 asset
# nodes + a 1,000-agent simulation): econ-ark/Aiyagari1994QJE, AiyagariMarkovHARK.ipynb, output "Table II,
# Replication (HARK)". The rho = 0.9 cells (all 24 are in docs/ground-truth.md).
HARK_SAME_CHAIN = {
    (0.2, 0.9, 1.0): 3.9458, (0.2, 0.9, 3.0): 3.3377, (0.2, 0.9, 5.0): 2.6069,
    (0.4, 0.9, 1.0): 3.3841, (0.4, 0.9, 3.0): 1.4693, (0.4, 0.9, 5.0): -0.1498,
}
# Tolerances (docs/ground-truth.md, "Calibrations and published values"):
# * rho < 0.9: |ours - Table II| < 0.08 pp. The largest |HARK - Table II| over the 18 rho < 0.9 cells is 0.0625 pp
#   (an independent solution on the same chain); this grid is within 0.005 pp of the 1000-node one.
# * rho = 0.9: Table II < ours < HARK + 0.08 pp. Aiyagari's coarse computation overstates precautionary saving in
#   the high-risk, high-mu cases (his r too low: Kirkby's notes in the VFI Toolkit pdf above); HARK's same-chain r
#   is 0.015-0.20 pp above the table at all six rho 0.9 cells, so there the table is a lower bound, and HARK plus
#   the same 0.08 pp an upper one (ours is 0.008-0.069 pp above HARK at rho 0.9, partly HARK's coarse asset grid).
# * Three sigma = 0.4 cells at rho < 0.9 are 0.13-0.19 pp above the table (and 0.08-0.13 pp above HARK): a known,
#   reported disagreement (strict xfail below), not a wider tolerance.
TABLE_II_TOL_PP = 0.08
KNOWN_DISAGREEMENTS = {(0.4, 0.3, 5.0), (0.4, 0.6, 3.0), (0.4, 0.6, 5.0)}
GRID = solution.asset_grid(150.0, 400)


def _cell_id(c) -> str:
    return f"sigma{c[0]}-rho{c[1]}-mu{c[2]:g}"


@functools.cache
def _fine(calibration: tuple[float, float, float]) -> solution.Stationary:
    sigma, rho, mu = calibration  # about 1 s each (150 / 400 nodes, r to 1e-6)
    return solution.solve_fine(markov.labour_chain(7, rho, sigma, "tauchen"), mu=mu, a_grid=GRID, r_tol=1e-6)


@pytest.mark.parametrize("calibration", sorted(TABLE_II), ids=_cell_id)
def test_fine_solution_is_a_stationary_equilibrium(calibration):
    st = _fine(calibration)
    assert abs(st.excess) < 1e-3 * st.K  # market clears
    assert st.dist[-20:].sum() < 1e-8  # the asset grid is wide enough
    assert 0.0 < st.gini < 1.0
    assert st.saving_rate == pytest.approx(0.08 * 0.36 / (st.r + 0.08), rel=1e-3)  # delta K / Y


_KNOWN = pytest.mark.xfail(strict=True, reason="known: 0.13-0.19 pp above Table II and 0.08-0.13 pp above HARK "
                           "(docs/ground-truth.md)")


@pytest.mark.parametrize("calibration", [pytest.param(c, id=_cell_id(c), marks=_KNOWN if c in KNOWN_DISAGREEMENTS
                                                      else ()) for c in sorted(TABLE_II)])
def test_fine_solution_matches_aiyagari_table_ii(calibration):
    ours, table = _fine(calibration).r_percent, TABLE_II[calibration]
    if calibration[1] < 0.9:
        assert abs(ours - table) < TABLE_II_TOL_PP
    else:
        assert table < ours < HARK_SAME_CHAIN[calibration] + TABLE_II_TOL_PP


def test_fine_solution_has_table_iis_comparative_statics():
    """r falls with risk aversion mu, persistence rho and risk sigma, in the table and here."""
    for r in (TABLE_II, {c: _fine(c).r_percent for c in TABLE_II}):
        for sigma in (0.2, 0.4):
            for rho in (0.0, 0.3, 0.6, 0.9):
                assert r[sigma, rho, 1.0] > r[sigma, rho, 3.0] > r[sigma, rho, 5.0]
            for mu in (1.0, 3.0, 5.0):
                assert r[sigma, 0.0, mu] > r[sigma, 0.3, mu] > r[sigma, 0.6, mu] > r[sigma, 0.9, mu]
        assert all(r[0.2, rho, mu] > r[0.4, rho, mu] for rho in (0.0, 0.3, 0.6, 0.9) for mu in (1.0, 3.0, 5.0))


def test_rouwenhorst_moments_are_exact_and_tauchen_close():
    for n in (2, 5, 7):
        for rho in (0.0, 0.5, 0.9):
            z, P = markov.rouwenhorst(n, rho, 0.4)
            mean, std, ac = markov.moments(z, P)
            assert np.allclose(P.sum(1), 1.0) and (P >= 0).all()
            assert abs(mean) < 1e-12 and std == pytest.approx(0.4, rel=1e-9) and ac == pytest.approx(rho, abs=1e-9)
    for rho in (0.0, 0.3, 0.6, 0.9):
        z, P = markov.tauchen(7, rho, 0.4)
        mean, std, ac = markov.moments(z, P)
        assert abs(mean) < 1e-12 and ac == pytest.approx(rho, abs=0.01)
        assert 0.4 <= std <= 0.4 * 1.2  # 7 states, m = 3: the chain's std overshoots a little (0.416 .. 0.468)
    chain = markov.labour_chain(7, 0.9, 0.4)
    assert chain.pi @ chain.labour == pytest.approx(1.0, abs=1e-12)  # L = 1
    assert np.allclose(chain.pi @ chain.P, chain.pi, atol=1e-12)
    assert np.allclose(chain.log_states, -chain.log_states[::-1])  # symmetric grid


def test_factor_prices_by_hand():
    assert solution.factor_prices(8.0, 1.0, 0.36, 0.08) == pytest.approx((0.015131623650524215, 1.3529830919185668))
    assert solution.factor_prices(2.0, 1.2, 0.36, 0.08) == pytest.approx((0.17960873501458702, 0.7692110667098875))
    assert solution.capital_demand(0.015131623650524215, 0.36, 0.08) == pytest.approx(8.0)
    assert solution.gini([1.0, 1.0, 1.0]) == pytest.approx(0.0)
    assert solution.gini([0.0, 0.0, 0.0, 4.0]) == pytest.approx(0.75)  # one of four holds everything
    assert solution.gini([0.0, 1.0], [0.5, 0.5]) == pytest.approx(0.5)


def _household_at(r: float):
    chain = markov.labour_chain(5, 0.6, 0.3, "rouwenhorst")
    shares = AiyagariConfig().savings_shares
    w = solution.wage(r, 0.36, 0.08)
    a_grid = solution.asset_grid(60.0, 200)
    V, k, a_next = solution.household_grid(r, w, chain, 0.96, 3.0, a_grid, shares)
    dist = solution.stationary_distribution(a_next, a_grid, chain.P)
    return chain, shares, w, a_grid, V, dist


def test_bellman_certificate_and_euler_errors_on_known_policies():
    r = 0.03
    chain, shares, w, a_grid, V, dist = _household_at(r)
    best = certify.optimal_policy(V, r, w, chain, 0.96, 3.0, shares, a_grid)
    gain = certify.bellman_gain(best, r, w, chain, 0.96, 3.0, shares, a_grid, dist)
    assert gain.mean_gain < 1e-7 and gain.consumption_equivalent < 1e-5
    assert np.allclose(gain.value, V, atol=1e-6)  # evaluating the optimal policy gives the optimal value
    saves_less = certify.distorted_policy(best, shares, 0.8)  # every share 20 % lower
    bad = certify.bellman_gain(saves_less, r, w, chain, 0.96, 3.0, shares, a_grid, dist)
    assert bad.mean_gain > 1e-3 and bad.consumption_equivalent > 0.1 and bad.improvable > 0.5
    # Euler errors: the best grid policy is accurate to the grid's resolution, the distorted one far worse.
    rng = np.random.default_rng(0)
    flat = dist.ravel()
    draw = rng.choice(flat.size, size=500, p=flat / flat.sum())
    a0, s0 = a_grid[draw // 5], draw % 5
    ee_best = certify.euler_errors(best, r, w, chain, 0.96, 3.0, shares, a0, s0, periods=10)
    ee_bad = certify.euler_errors(saves_less, r, w, chain, 0.96, 3.0, shares, a0, s0, periods=10)
    assert ee_best["mean_log10"] < -1.0
    assert ee_bad["mean_log10"] > ee_best["mean_log10"] + 0.15


def _tiny(dtype=torch.float64, **changes) -> AiyagariEconomy:
    config = dataclasses.replace(AiyagariConfig(), num_households=2, n_states=2, discretisation="rouwenhorst",
                                 rho=0.5, sigma=0.2, horizon=3, tail=1, initial="point", initial_assets=2.0,
                                 savings_shares=(0.0, 0.5, 0.9), **changes)
    return get_entry("aiyagari").build(types.SimpleNamespace(economy=config), 1, torch.device("cpu"), dtype)


def test_one_step_by_hand():
    econ = _tiny()
    l_low, l_high = econ.chain.labour
    assert 0.5 * (l_low + l_high) == pytest.approx(1.0)  # pi = (1/2, 1/2)
    state = econ.reset()
    state = dataclasses.replace(state, assets=torch.tensor([[1.0, 3.0]], dtype=torch.float64),
                                labour_state=torch.tensor([[0, 1]]))
    actions = econ.decode({"household": torch.tensor([[[1], [2]]])})  # shares 0.5 and 0.9
    nxt, rewards, info = econ.step(state, actions)
    K, L = 2.0, 0.5 * (l_low + l_high)
    r = 0.36 * (K / L) ** -0.64 - 0.08
    w = 0.64 * (K / L) ** 0.36
    cash = np.array([(1 + r) * 1.0 + w * l_low, (1 + r) * 3.0 + w * l_high])
    assert info["r"].item() == pytest.approx(r) and info["w"].item() == pytest.approx(w)
    assert nxt.assets[0].numpy() == pytest.approx(np.array([0.5, 0.9]) * cash)
    c = np.array([0.5, 0.1]) * cash
    assert rewards["household"][0].numpy() == pytest.approx(c ** -2 / -2)  # mu = 3
    # resources: C + K' = Y + (1 - delta) K
    assert (c.sum() + (nxt.assets[0].numpy()).sum()) / 2 == pytest.approx(K ** 0.36 * L ** 0.64 + 0.92 * K)
    assert econ.invariants(state, actions, nxt, info) == []
    obs = econ.observe(state)["household"]
    assert obs.shape == (1, 2, econ.obs_size)
    assert obs[0, 0, 2:4].tolist() == [1.0, 0.0] and obs[0, 1, 2:4].tolist() == [0.0, 1.0]  # one-hot states


def test_shocks_come_from_the_callers_generator():
    econ = get_entry("aiyagari").build(types.SimpleNamespace(economy=AiyagariConfig(initial="stationary")), 2,
                                       torch.device("cpu"), torch.float32)
    a = econ.reset(generator=torch.Generator().manual_seed(5))
    b = econ.reset(generator=torch.Generator().manual_seed(5))
    c = econ.reset(generator=torch.Generator().manual_seed(6))
    assert torch.equal(a.uniforms, b.uniforms) and torch.equal(a.assets, b.assets)
    assert not torch.equal(a.uniforms, c.uniforms)
    # The stationary start: the sampled households' mean assets are near the solution's K.
    assert abs(a.assets.mean().item() - econ.reference.K) < 0.25 * econ.reference.K


def test_transitions_follow_the_chain():
    econ = get_entry("aiyagari").build(
        types.SimpleNamespace(economy=dataclasses.replace(AiyagariConfig(), num_households=20000, horizon=2,
                                                          tail=0)), 1, torch.device("cpu"), torch.float64)
    state = econ.reset()
    s0 = state.labour_state
    nxt, _, _ = econ.step(state, econ.decode({"household": torch.ones(1, 20000, 1, dtype=torch.int64)}))
    counts = np.zeros((7, 7))
    np.add.at(counts, (s0.ravel().numpy(), nxt.labour_state.ravel().numpy()), 1)
    rows = counts.sum(1) > 1000
    assert np.abs(counts[rows] / counts[rows].sum(1, keepdims=True) - econ.chain.P[rows]).max() < 0.03


@pytest.mark.parametrize("n", [1000, 10000])
def test_large_economies_step(n):
    config = dataclasses.replace(AiyagariConfig(), num_households=n, horizon=3, tail=1)
    econ = get_entry("aiyagari").build(types.SimpleNamespace(economy=config), 2, torch.device("cpu"), torch.float32)
    state = econ.reset()
    obs = econ.observe(state)["household"]
    assert obs.shape == (2, n, econ.obs_size)
    nxt, rewards, info = econ.step(state, econ.decode({"household": torch.full((2, n, 1), 30)}))
    assert rewards["household"].shape == (2, n) and bool(torch.isfinite(rewards["household"]).all())
    assert econ.invariants(state, econ.decode({"household": torch.full((2, n, 1), 30)}), nxt, info) == []


def test_config_errors_name_the_field():
    with pytest.raises(ConfigError, match="burn_in \\+ tail"):
        AiyagariConfig(horizon=10, tail=10)
    with pytest.raises(ConfigError, match="discretisation"):
        AiyagariConfig(discretisation="adda-cooper")
    with pytest.raises(ConfigError, match="savings_shares"):
        AiyagariConfig(savings_shares=(0.5, 0.2))
    with pytest.raises(ConfigError, match="savings_shares\\[1\\]"):
        AiyagariConfig(savings_shares=(0.5, 1.0))
    with pytest.raises(ConfigError, match="risk_aversion"):
        AiyagariConfig(risk_aversion=0)
    with pytest.raises(ConfigError, match="fixed.household.savings"):
        _tiny().fixed_indices("household", {"savings": 0.123})
    assert _tiny().fixed_indices("household", {"savings": 0.5}) == (1,)


def test_default_grid_reaches_the_continuous_equilibrium():
    """The default calibration (configs/aiyagari.yaml): same-grid and continuous r within 0.05 pp."""
    config = AiyagariConfig()
    grid, fine = solution.solve(config, "grid"), solution.solve(config, "fine")
    assert abs(grid.r_percent - fine.r_percent) < 0.05
    assert abs(grid.gini - fine.gini) < 0.01
    assert 0.0 < grid.r < solution.complete_markets_r(0.96)
    assert math.isfinite(grid.K) and grid.K == pytest.approx(solution.capital_demand(grid.r, 0.36, 0.08), rel=1e-3)
