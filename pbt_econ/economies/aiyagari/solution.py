"""The stationary equilibrium of the Aiyagari (1994) economy (numpy/scipy; no torch).

**Household.** Labour endowment :math:`l_s` follows a finite chain (:mod:`.markov`,
mean 1). With assets :math:`a \\ge 0` and prices :math:`(r, w)` the household has cash
on hand :math:`x = (1 + r) a + w l_s`, consumes :math:`c` and saves
:math:`a' = x - c \\ge 0`, maximising :math:`E \\sum_t \\beta^t u(c_t)`,
:math:`u(c) = c^{1-\\mu}/(1-\\mu)` (:math:`\\ln c` at :math:`\\mu = 1`).

**Firm.** :math:`Y = K^\\alpha L^{1-\\alpha}`, :math:`r = \\alpha (K/L)^{\\alpha-1} - \\delta`,
:math:`w = (1-\\alpha)(K/L)^\\alpha`. **Equilibrium**: the households' stationary mean
assets equal the firm's capital demand at :math:`r`, found by Brent's method on
:math:`r \\in (r_{lo}, 1/\\beta - 1)` (excess supply is increasing in :math:`r`).

Two household solvers, one distribution routine:

* :func:`household_fine`: the continuous choice :math:`a'`, the endogenous grid
  method (Carroll 2006) on a fine asset grid; Aiyagari's problem. The answer of
  :func:`solve_fine`, to compare with his Table II.
* :func:`household_grid`: the learners' problem: the household chooses a savings
  *share* :math:`g_k` of cash on hand from the economy's grid
  (:math:`a' = g_k x`, :math:`c = (1 - g_k) x`), assets stay continuous. Howard
  policy iteration on a fine asset grid, values linearly interpolated in
  :math:`a`. The answer of :func:`solve_grid`: the best the learners can reach.
* :func:`stationary_distribution`: the asset/state distribution on the asset grid,
  a next-period asset between two nodes split between them in proportion to
  distance (Young 2010's lottery), as a sparse transition iterated to its fixed point.

A solve is a few seconds (vectorised numpy); :func:`solve` caches by calibration.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import optimize, sparse
from scipy.sparse.linalg import spsolve

from pbt_econ.economies.aiyagari.markov import LabourChain, labour_chain

__all__ = [
    "Stationary",
    "asset_grid",
    "capital_demand",
    "factor_prices",
    "gini",
    "household_fine",
    "household_grid",
    "inverse_marginal_utility",
    "marginal_utility",
    "solve",
    "solve_fine",
    "solve_grid",
    "stationary_distribution",
    "utility",
]


# ------------------------------------------------------------------ primitives
def utility(c, mu: float):
    """CRRA utility :math:`c^{1-\\mu}/(1-\\mu)` (:math:`\\ln c` at :math:`\\mu = 1`)."""
    c = np.asarray(c, dtype=float)
    return np.log(c) if mu == 1 else c ** (1.0 - mu) / (1.0 - mu)


def marginal_utility(c, mu: float):
    return np.asarray(c, dtype=float) ** (-mu)


def inverse_marginal_utility(m, mu: float):
    return np.asarray(m, dtype=float) ** (-1.0 / mu)


def factor_prices(K: float, L: float, alpha: float, delta: float) -> tuple[float, float]:
    """``(r, w)``: :math:`r = \\alpha K^{\\alpha-1} L^{1-\\alpha} - \\delta`, :math:`w = (1-\\alpha)(K/L)^\\alpha`."""
    return alpha * (K / L) ** (alpha - 1.0) - delta, (1.0 - alpha) * (K / L) ** alpha


def capital_demand(r: float, alpha: float, delta: float, L: float = 1.0) -> float:
    """The firm's capital at interest ``r``: :math:`K = L (\\alpha / (r + \\delta))^{1/(1-\\alpha)}`."""
    return L * (alpha / (r + delta)) ** (1.0 / (1.0 - alpha))


def wage(r: float, alpha: float, delta: float) -> float:
    return (1.0 - alpha) * (alpha / (r + delta)) ** (alpha / (1.0 - alpha))


def asset_grid(a_max: float = 250.0, n: int = 1000, curvature: float = 2.0) -> np.ndarray:
    """``[n]`` asset nodes from 0 to ``a_max``, dense near the borrowing limit (power spacing)."""
    return a_max * np.linspace(0.0, 1.0, n) ** curvature


def gini(values, weights=None) -> float:
    """Gini coefficient of nonnegative ``values`` with probability ``weights`` (default equal)."""
    x = np.asarray(values, dtype=float).ravel()
    f = np.full(x.shape, 1.0 / x.size) if weights is None else np.asarray(weights, dtype=float).ravel()
    order = np.argsort(x, kind="stable")
    x, f = x[order], f[order] / f.sum()
    total = float(f @ x)
    if total <= 0:
        return 0.0
    cum = np.cumsum(f * x) / total
    prev = np.concatenate([[0.0], cum[:-1]])
    return float(1.0 - f @ (cum + prev))


def _interp_weights(grid: np.ndarray, points: np.ndarray, extrapolate: bool) -> tuple[np.ndarray, np.ndarray]:
    """Left node ``j`` and weight ``w`` on ``j + 1`` of each point (linear interpolation on ``grid``)."""
    j = np.clip(np.searchsorted(grid, points, side="right") - 1, 0, grid.size - 2)
    w = (points - grid[j]) / (grid[j + 1] - grid[j])
    if not extrapolate:
        w = np.clip(w, 0.0, 1.0)
    return j, w


# ------------------------------------------------------------------ households
def household_fine(r: float, w: float, chain: LabourChain, beta: float, mu: float, a_grid: np.ndarray,
                   tol: float = 1e-10, max_iter: int = 20000, c_init: np.ndarray | None = None):
    """EGM: ``(c [Na, S], a_next [Na, S])``, the continuous-choice policy on ``a_grid`` at prices ``(r, w)``."""
    lab, P = chain.labour, chain.P
    cash = (1.0 + r) * a_grid[:, None] + w * lab[None, :]
    c = cash.copy() if c_init is None else c_init.copy()  # start: eat everything
    for _ in range(max_iter):
        expected = beta * (1.0 + r) * marginal_utility(c, mu) @ P.T  # [Na (a'), S (s today)]
        c_endo = inverse_marginal_utility(expected, mu)
        a_endo = (c_endo + a_grid[:, None] - w * lab[None, :]) / (1.0 + r)  # today's a that chooses a' = a_grid
        a_next = np.empty_like(c)
        for s in range(lab.size):
            a_next[:, s] = np.interp(a_grid, a_endo[:, s], a_grid)  # below a_endo[0]: a' = 0 (binding limit)
            above = a_grid > a_endo[-1, s]
            if above.any():  # extrapolate linearly beyond the last endogenous point
                slope = (a_grid[-1] - a_grid[-2]) / (a_endo[-1, s] - a_endo[-2, s])
                a_next[above, s] = a_grid[-1] + slope * (a_grid[above] - a_endo[-1, s])
        a_next = np.maximum(a_next, 0.0)
        c_new = cash - a_next
        if np.max(np.abs(c_new - c)) < tol:
            c = c_new
            break
        c = c_new
    return c, cash - c


def household_grid(r: float, w: float, chain: LabourChain, beta: float, mu: float, a_grid: np.ndarray,
                   shares: Sequence[float], V_init: np.ndarray | None = None, tol: float = 1e-9,
                   max_improvements: int = 500, evaluations: int = 60):
    """Howard policy iteration of the share-grid problem: ``(V [Na, S], k [Na, S] int, a_next [Na, S])``.

    ``V(a, s) = max_k u((1 - g_k) x) + beta sum_s' P[s, s'] V(g_k x, s')``, with ``x = (1 + r) a + w l_s``
    and ``V`` linear in ``a`` between nodes (extrapolated linearly above the last node).
    """
    lab, P = chain.labour, chain.P
    g = np.asarray(shares, dtype=float)
    cash = (1.0 + r) * a_grid[:, None] + w * lab[None, :]  # [Na, S]
    a_choice = cash[..., None] * g  # [Na, S, K]
    u_choice = utility(cash[..., None] * (1.0 - g), mu)
    j, wt = _interp_weights(a_grid, a_choice, extrapolate=True)
    S = lab.size
    s_idx = np.broadcast_to(np.arange(S)[None, :, None], a_choice.shape)
    if V_init is None:
        V = utility(cash * (1.0 - g[np.argmin(np.abs(g - 0.5))]), mu) / (1.0 - beta)
    else:
        V = V_init.copy()
    k = None
    for _ in range(max_improvements):
        EV = V @ P.T  # [Na, S]: E[V(a_i, s') | s]
        Q = u_choice + beta * ((1.0 - wt) * EV[j, s_idx] + wt * EV[j + 1, s_idx])
        k_new = np.argmax(Q, axis=-1)
        V_new = np.take_along_axis(Q, k_new[..., None], -1)[..., 0]
        if k is not None and np.array_equal(k_new, k) and np.max(np.abs(V_new - V)) < tol:
            V = V_new
            break
        k = k_new
        jk = np.take_along_axis(j, k[..., None], -1)[..., 0]
        wk = np.take_along_axis(wt, k[..., None], -1)[..., 0]
        uk = np.take_along_axis(u_choice, k[..., None], -1)[..., 0]
        cols = np.broadcast_to(np.arange(S)[None, :], jk.shape)
        V = V_new
        for _ in range(evaluations):  # policy evaluation (Howard)
            EV = V @ P.T
            V = uk + beta * ((1.0 - wk) * EV[jk, cols] + wk * EV[jk + 1, cols])
    a_next = np.take_along_axis(a_choice, k[..., None], -1)[..., 0]
    return V, k, a_next


def stationary_distribution(a_next: np.ndarray, a_grid: np.ndarray, P: np.ndarray,
                            dist_init: np.ndarray | None = None, tol: float = 1e-13,
                            max_iter: int = 100_000) -> np.ndarray:
    """``[Na, S]`` stationary distribution of the policy ``a_next`` (lottery onto ``a_grid``, clipped at the top)."""
    Na, S = a_next.shape
    j, wt = _interp_weights(a_grid, np.clip(a_next, a_grid[0], a_grid[-1]), extrapolate=False)
    src = np.arange(Na * S).reshape(Na, S)
    rows, cols, vals = [], [], []
    for s2 in range(S):  # (i, s) -> (j or j+1, s2) with prob P[s, s2] * lottery weight
        for node, weight in ((j, 1.0 - wt), (j + 1, wt)):
            rows.append(src.ravel())
            cols.append((node * S + s2).ravel())
            vals.append((weight * P[None, :, s2]).ravel())
    T = sparse.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                          shape=(Na * S, Na * S))
    TT = T.T.tocsr()
    # Direct solve: fix d at the richest-mass candidate node (a = 0, lowest state) to 1, solve the other
    # balance equations (sparse LU, no dense row), normalise; fall back to iterating if that fails.
    M = (sparse.identity(Na * S, format="csr") - TT).tocsc()
    keep = np.arange(1, Na * S)
    try:
        x = spsolve(M[keep][:, keep].tocsc(), -M[keep][:, [0]].toarray().ravel())
        d = np.concatenate([[1.0], x])
        if np.all(np.isfinite(d)) and d.min() > -1e-9 * d.max():
            d = np.clip(d, 0.0, None) / np.clip(d, 0.0, None).sum()
            if np.max(np.abs(TT @ d - d)) < 1e-10:
                return d.reshape(Na, S)
    except RuntimeError:  # singular: fall back to iterating
        pass
    if dist_init is None:
        from pbt_econ.economies.aiyagari.markov import stationary
        d = (np.full(Na, 1.0 / Na)[:, None] * stationary(P)[None, :]).ravel()
    else:
        d = dist_init.ravel().copy()
    for _ in range(max_iter):
        d_new = TT @ d
        if np.max(np.abs(d_new - d)) < tol:
            d = d_new
            break
        d = d_new
    d = np.clip(d, 0.0, None)
    return (d / d.sum()).reshape(Na, S)


# ------------------------------------------------------------------ equilibrium
@dataclass(frozen=True)
class Stationary:
    """A stationary equilibrium (or the household side of one at given prices)."""

    kind: str
    """``"grid"`` (the learners' share grid) or ``"fine"`` (continuous choice, Aiyagari's)."""
    r: float
    w: float
    K: float
    """Mean assets = capital (labour L = 1)."""
    Y: float
    gini: float
    """Wealth Gini of the stationary asset distribution."""
    saving_rate: float
    """Gross saving rate :math:`\\delta K / Y` (Aiyagari's Table II, in parentheses)."""
    a_grid: np.ndarray
    dist: np.ndarray
    """``[Na, S]`` stationary distribution over (asset node, labour state)."""
    a_next: np.ndarray
    """``[Na, S]`` next-period assets at each node."""
    value: np.ndarray | None = None
    """``[Na, S]`` value function (grid solution only)."""
    choice: np.ndarray | None = None
    """``[Na, S]`` chosen share index (grid solution only)."""
    excess: float = float("nan")
    """Household assets minus firm capital at ``r`` (the root-find's residual)."""

    @property
    def r_percent(self) -> float:
        return 100.0 * self.r


def _equilibrium(kind: str, household, chain: LabourChain, alpha: float, beta: float, delta: float,
                 a_grid: np.ndarray, r_tol: float) -> Stationary:
    cache: dict = {"dist": None, "warm": None}

    def supply(r: float):
        w = wage(r, alpha, delta)
        out = household(r, w, cache["warm"])
        a_next, warm = out["a_next"], out["warm"]
        cache["warm"] = warm
        dist = stationary_distribution(a_next, a_grid, chain.P, cache["dist"])
        cache["dist"] = dist
        return w, out, dist, float((dist * a_next).sum())

    def excess(r: float) -> float:
        return supply(r)[3] - capital_demand(r, alpha, delta)

    r_hi = 1.0 / beta - 1.0 - 1e-5
    r_lo = -0.5 * delta
    while excess(r_lo) > 0 and r_lo > -delta + 1e-3:
        r_lo = 0.5 * (r_lo - delta)
    if excess(r_hi) < 0:
        raise ValueError(f"no stationary equilibrium ({kind}): even at r = 1/beta - 1 households hold less than "
                         "the firm demands (a savings-share grid whose largest share is too small?)")
    r = optimize.brentq(excess, r_lo, r_hi, xtol=r_tol, rtol=1e-12)
    w, out, dist, K_s = supply(r)
    K = capital_demand(r, alpha, delta)
    Y = K ** alpha
    return Stationary(kind=kind, r=r, w=w, K=K_s, Y=Y, gini=gini(np.repeat(a_grid, dist.shape[1]), dist.ravel()),
                      saving_rate=delta * K_s / Y, a_grid=a_grid, dist=dist, a_next=out["a_next"],
                      value=out.get("value"), choice=out.get("choice"), excess=K_s - K)


def solve_fine(chain: LabourChain, alpha: float = 0.36, beta: float = 0.96, delta: float = 0.08, mu: float = 3.0,
               a_grid: np.ndarray | None = None, r_tol: float = 1e-7) -> Stationary:
    """Aiyagari's stationary equilibrium: continuous savings choice (EGM), fine asset grid."""
    a_grid = asset_grid() if a_grid is None else a_grid

    def household(r, w, warm):
        c, a_next = household_fine(r, w, chain, beta, mu, a_grid, c_init=warm)
        return {"a_next": a_next, "warm": c}

    return _equilibrium("fine", household, chain, alpha, beta, delta, a_grid, r_tol)


def solve_grid(chain: LabourChain, shares: Sequence[float], alpha: float = 0.36, beta: float = 0.96,
               delta: float = 0.08, mu: float = 3.0, a_grid: np.ndarray | None = None,
               r_tol: float = 1e-7) -> Stationary:
    """The learners' stationary equilibrium: savings shares of cash on hand restricted to ``shares``."""
    a_grid = asset_grid() if a_grid is None else a_grid

    def household(r, w, warm):
        V, k, a_next = household_grid(r, w, chain, beta, mu, a_grid, shares, V_init=warm)
        return {"a_next": a_next, "warm": V, "value": V, "choice": k}

    return _equilibrium("grid", household, chain, alpha, beta, delta, a_grid, r_tol)


@functools.lru_cache(maxsize=32)
def _solve_cached(kind: str, n_states: int, rho: float, sigma: float, method: str, alpha: float, beta: float,
                  delta: float, mu: float, shares: tuple[float, ...]) -> Stationary:
    chain = labour_chain(n_states, rho, sigma, method)
    if kind == "fine":
        return solve_fine(chain, alpha, beta, delta, mu)
    return solve_grid(chain, shares, alpha, beta, delta, mu)


def solve(config, kind: str = "grid") -> Stationary:
    """The stationary equilibrium of an :class:`~pbt_econ.economies.aiyagari.model.AiyagariConfig` (cached).

    ``kind``: ``"grid"`` (the config's ``savings_shares``) or ``"fine"`` (continuous choice).
    """
    if kind not in ("grid", "fine"):
        raise ValueError(f"kind = {kind!r}: must be 'grid' or 'fine'")
    shares = tuple(float(g) for g in config.savings_shares) if kind == "grid" else ()
    return _solve_cached(kind, int(config.n_states), float(config.rho), float(config.sigma),
                         str(config.discretisation), float(config.alpha), float(config.beta), float(config.delta),
                         float(config.risk_aversion), shares)


def chain_of(config) -> LabourChain:
    """The labour chain of a config."""
    return labour_chain(int(config.n_states), float(config.rho), float(config.sigma), str(config.discretisation))


def complete_markets_r(beta: float) -> float:
    """The interest rate without idiosyncratic risk (or with complete markets): :math:`1/\\beta - 1`."""
    return 1.0 / beta - 1.0


