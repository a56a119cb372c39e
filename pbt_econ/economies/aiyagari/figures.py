"""The figures an economist draws of an Aiyagari economy, learned against known (``KnownAnswer.figures``).

One figure per run, three panels, for the run's first member on disk:

* **Capital market**: capital demand :math:`K_d(r) = (\\alpha / (r + \\delta))^{1/(1-\\alpha)}` and the
  households' capital supply against r: the learned policy's (its long run at prices held fixed at r,
  :func:`.longrun.simulate` with ``prices``) and the same-grid solution's (the stationary distribution of
  the grid problem at r); the learned long-run point and the solution's equilibrium.
* **Savings policy**: net saving :math:`a' - a` against assets for the lowest, middle and highest labour state:
  the learned policy's expected choice at its long-run prices beside the solution's at its equilibrium.
* **Lorenz curves of wealth**: the learned long run's households and the solution's distribution.

Matplotlib is imported inside :func:`figures` (heavy imports are lazy).
"""

from __future__ import annotations

import numpy as np

from pbt_econ.economies.aiyagari import longrun, solution

__all__ = ["figures", "lorenz", "supply_curve"]

SUPPLY_HOUSEHOLDS = 1000
SUPPLY_PERIODS = 400


def lorenz(values: np.ndarray, weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(population share, wealth share)`` of the Lorenz curve of nonnegative ``values``, from ``(0, 0)``."""
    x = np.asarray(values, dtype=float).ravel()
    f = np.full(x.shape, 1.0 / x.size) if weights is None else np.asarray(weights, dtype=float).ravel()
    order = np.argsort(x, kind="stable")
    x, f = x[order], f[order] / f.sum()
    total = float(f @ x)
    wealth = np.cumsum(f * x) / total if total > 0 else np.cumsum(f)
    return np.concatenate([[0.0], np.cumsum(f)]), np.concatenate([[0.0], wealth])


def supply_curve(cfg, rates: np.ndarray, policy=None, seed: int = 0, a_grid: np.ndarray | None = None) -> np.ndarray:
    """Households' mean assets at each interest rate of ``rates`` (prices held fixed, ``w = w(r)``): the
    learned ``policy``'s long run, or (``policy=None``) the same-grid solution's stationary distribution on
    ``a_grid`` (default 400 nodes to 150: a figure's resolution; the equilibrium's own grid is 1,000 to 250)."""
    chain = solution.chain_of(cfg)
    a_grid = solution.asset_grid(150.0, 400) if a_grid is None else a_grid
    out = []
    for r in rates:
        w, K_d = solution.wage(r, cfg.alpha, cfg.delta), solution.capital_demand(r, cfg.alpha, cfg.delta)
        if policy is None:
            _, _, a_next = solution.household_grid(r, w, chain, cfg.beta, cfg.risk_aversion, a_grid,
                                                   cfg.savings_shares)
            dist = solution.stationary_distribution(a_next, a_grid, chain.P)
            out.append(float((dist * a_next).sum()))
        else:
            run = longrun.simulate(policy, cfg, households=SUPPLY_HOUSEHOLDS, periods=SUPPLY_PERIODS, seed=seed,
                                   prices=(r, w, K_d))
            out.append(run.K)
    return np.asarray(out)


def _expected_next_assets(policy, cfg, a: np.ndarray, s: int, r: float, w: float, K: float) -> np.ndarray:
    chain = solution.chain_of(cfg)
    probs = longrun.policy_probs_fn(policy, cfg, r, w, K)(a, np.full(a.size, s))
    cash = (1.0 + r) * a + w * chain.labour[s]
    return cash * (probs @ np.asarray(cfg.savings_shares, dtype=float))


def figures(view) -> dict:
    """``{"markets": Figure}`` for the run's first member (module docstring)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cfg = view.economy_config
    members = view.member_ids()
    if not members:
        return {}
    member = members[0]
    policy = view.policy(member, "household")
    grid = solution.solve(cfg, "grid")
    run = longrun.simulate(policy, cfg, households=longrun.HOUSEHOLDS, periods=longrun.PERIODS, seed=view.seed)
    r_top = 1.0 / cfg.beta - 1.0 - 5e-4
    rates = np.linspace(max(grid.r, run.r) - 0.02, min(min(grid.r, run.r) + 0.015, r_top), 7)
    fig, (market, saving, curve) = plt.subplots(1, 3, figsize=(15, 4.4))
    demand = [solution.capital_demand(r, cfg.alpha, cfg.delta) for r in rates]
    market.plot(demand, 100 * rates, "k-", label="capital demand $K_d(r)$")
    market.plot(supply_curve(cfg, rates), 100 * rates, "C0-", label="supply, same-grid solution")
    market.plot(supply_curve(cfg, rates, policy, view.seed), 100 * rates, "C1--o", ms=3, label="supply, learned policy")
    market.plot([grid.K], [100 * grid.r], "C0*", ms=12, label=f"solution: r = {100 * grid.r:.2f}%")
    market.plot([run.K], [100 * run.r], "C1o", ms=8, label=f"learned long run: r = {100 * run.r:.2f}%")
    market.set_xlabel("capital per household")
    market.set_ylabel("r (%)")
    market.set_title("capital market")
    market.legend(fontsize="small")
    chain = solution.chain_of(cfg)
    a = np.linspace(0.0, max(4.0 * grid.K, 1.0), 80)
    for i, s in enumerate(sorted({0, chain.labour.size // 2, chain.labour.size - 1})):
        known_next = np.interp(a, grid.a_grid, grid.a_next[:, s])
        saving.plot(a, known_next - a, f"C{i}-", label=f"solution, labour {chain.labour[s]:.2f}")
        saving.plot(a, _expected_next_assets(policy, cfg, a, s, run.r, run.w, run.K) - a, f"C{i}--",
                    label=f"learned, labour {chain.labour[s]:.2f}")
    saving.axhline(0.0, color="0.6", lw=0.8, label="a' = a")
    saving.set_xlabel("assets a")
    saving.set_ylabel("net saving a' - a")
    saving.set_title("savings policy")
    saving.legend(fontsize="x-small")
    S = grid.dist.shape[1]
    for label, (p, q) in ((f"solution (Gini {grid.gini:.3f})", lorenz(np.repeat(grid.a_grid, S), grid.dist.ravel())),
                          (f"learned long run (Gini {run.gini:.3f})", lorenz(run.assets))):
        curve.plot(p, q, label=label)
    curve.plot([0, 1], [0, 1], color="0.6", lw=0.8)
    curve.set_xlabel("share of households")
    curve.set_ylabel("share of wealth")
    curve.set_title("wealth Lorenz curves")
    curve.legend(fontsize="small")
    fig.suptitle(f"Aiyagari, seed {view.seed}, member {member}: learned against the same-grid solution")
    fig.tight_layout()
    return {"markets": fig}
