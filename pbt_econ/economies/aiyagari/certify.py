"""Certificates of a household savings policy at given prices (numpy; no torch, no run needed).

A *policy* here is a callable ``probs_fn(a [M], s [M] int) -> [M, K]`` probabilities over the
savings-share grid (a learned policy wrapped by :mod:`.known`, or a grid solution's
argmax by :func:`optimal_policy`). Prices ``(r, w)`` are held fixed: these are the
household's (partial-equilibrium) optimality checks at the run's stationary prices.

* :func:`euler_errors`: mean :math:`\\log_{10}` Euler-equation error along a
  simulated path, :math:`|1 - \\tilde c / c|` with
  :math:`\\tilde c = u'^{-1}(\\beta (1 + r) E[u'(c')])`, the expectation over the
  next labour state and the policy's next-period action probabilities
  (one-sided, :math:`\\max(0, 1 - \\tilde c/c)`, where the borrowing limit binds).
  On a share grid even the best grid policy has errors of the grid's resolution.
* :func:`bellman_gain`: evaluate the policy (its value :math:`V_\\pi` on an asset grid,
  linear in assets), then let each household try every grid share for one period and
  follow the policy afterwards. The best one-step gain
  :math:`\\max_k Q_\\pi(a, s, k) - E_\\pi Q_\\pi(a, s, \\cdot) \\ge 0` is a cheap unilateral
  certificate: a lower bound on what a single household gains by deviating, 0 for
  an optimal policy (policy-improvement theorem).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from pbt_econ.economies.aiyagari.markov import LabourChain
from pbt_econ.economies.aiyagari.solution import (
    _interp_weights,
    inverse_marginal_utility,
    marginal_utility,
    utility,
)

__all__ = ["BellmanGain", "EULER_FLOOR", "bellman_gain", "distorted_policy", "euler_errors", "optimal_policy"]

EULER_FLOOR = -16.0
"""``log10`` error reported for an exact zero."""

ProbsFn = Callable[[np.ndarray, np.ndarray], np.ndarray]


def _check(probs: np.ndarray, M: int, K: int) -> np.ndarray:
    probs = np.asarray(probs, dtype=float).reshape(M, K)
    return probs / probs.sum(-1, keepdims=True)


def euler_errors(probs_fn: ProbsFn, r: float, w: float, chain: LabourChain, beta: float, mu: float,
                 shares: Sequence[float], assets: np.ndarray, states: np.ndarray, periods: int = 50,
                 seed: int = 0) -> dict[str, float]:
    """Euler errors along ``periods`` simulated periods from households ``(assets, states)``.

    Returns ``mean_log10`` (mean over households and periods of ``log10`` error), ``median_log10``,
    ``max_log10`` and ``unconstrained_mean_log10`` (only where the household saved a positive share).
    """
    g = np.asarray(shares, dtype=float)
    K, S = g.size, chain.labour.size
    rng = np.random.default_rng(seed)
    a, s = np.asarray(assets, dtype=float).copy(), np.asarray(states, dtype=int).copy()
    M = a.size
    logs, free = [], []
    for _ in range(periods):
        probs = _check(probs_fn(a, s), M, K)
        k = (probs.cumsum(-1) < rng.random(M)[:, None]).sum(-1).clip(0, K - 1)
        cash = (1.0 + r) * a + w * chain.labour[s]
        a_next, c = g[k] * cash, (1.0 - g[k]) * cash
        expected = np.zeros(M)
        for s2 in range(S):  # E over s' and the policy's mix at (a', s')
            probs2 = _check(probs_fn(a_next, np.full(M, s2)), M, K)
            cash2 = (1.0 + r) * a_next + w * chain.labour[s2]
            mu_next = (probs2 * marginal_utility(cash2[:, None] * (1.0 - g[None, :]), mu)).sum(-1)
            expected += chain.P[s, s2] * mu_next
        c_tilde = inverse_marginal_utility(beta * (1.0 + r) * expected, mu)
        err = np.abs(1.0 - c_tilde / c)
        constrained = g[k] == 0.0
        err = np.where(constrained, np.maximum(0.0, 1.0 - c_tilde / c), err)
        logs.append(np.where(err > 0, np.log10(np.maximum(err, 1e-300)), EULER_FLOOR).clip(EULER_FLOOR))
        free.append(~constrained)
        a = a_next
        u = rng.random(M)
        s = (u[:, None] > np.cumsum(chain.P[s], axis=1)[:, :-1]).sum(-1)
    logs_a, free_a = np.concatenate(logs), np.concatenate(free)
    return {"mean_log10": float(logs_a.mean()), "median_log10": float(np.median(logs_a)),
            "max_log10": float(logs_a.max()),
            "unconstrained_mean_log10": float(logs_a[free_a].mean()) if free_a.any() else float("nan")}


@dataclass(frozen=True)
class BellmanGain:
    """The one-step deviation certificate of a policy, weighted over households."""

    mean_gain: float
    """Mean (over the weights) of the best one-step gain, in utils."""
    max_gain: float
    """Largest gain at any weighted node."""
    consumption_equivalent: float
    """Mean gain as a permanent percentage increase of consumption that is worth as much (%)."""
    improvable: float
    """Mass of households whose gain exceeds 1e-6 * |V|."""
    value: np.ndarray
    """``[Na, S]`` the policy's value :math:`V_\\pi`."""
    gain: np.ndarray
    """``[Na, S]`` the gain at each node."""


def _q_setup(r, w, chain, mu, shares, a_grid):
    g = np.asarray(shares, dtype=float)
    cash = (1.0 + r) * a_grid[:, None] + w * chain.labour[None, :]
    a_choice = cash[..., None] * g
    u_choice = utility(cash[..., None] * (1.0 - g), mu)
    j, wt = _interp_weights(a_grid, a_choice, extrapolate=True)
    s_idx = np.broadcast_to(np.arange(chain.labour.size)[None, :, None], a_choice.shape)
    return u_choice, j, wt, s_idx


def bellman_gain(probs_fn: ProbsFn, r: float, w: float, chain: LabourChain, beta: float, mu: float,
                 shares: Sequence[float], a_grid: np.ndarray, weights: np.ndarray | None = None,
                 tol: float = 1e-10, max_iter: int = 5000) -> BellmanGain:
    """The one-step deviation gain of ``probs_fn`` on ``a_grid`` x labour states (module docstring).

    ``weights`` ``[Na, S]`` (default uniform): how households are spread over the nodes (e.g. a
    stationary distribution).
    """
    g = np.asarray(shares, dtype=float)
    Na, S, K = a_grid.size, chain.labour.size, g.size
    A = np.repeat(a_grid, S)
    Sx = np.tile(np.arange(S), Na)
    pi = _check(probs_fn(A, Sx), Na * S, K).reshape(Na, S, K)
    u_choice, j, wt, s_idx = _q_setup(r, w, chain, mu, g, a_grid)
    u_pi = (pi * u_choice).sum(-1)
    V = u_pi / (1.0 - beta)
    for _ in range(max_iter):
        EV = V @ chain.P.T
        cont = ((1.0 - wt) * EV[j, s_idx] + wt * EV[j + 1, s_idx])
        V_new = u_pi + beta * (pi * cont).sum(-1)
        done = np.max(np.abs(V_new - V)) < tol
        V = V_new
        if done:
            break
    EV = V @ chain.P.T
    Q = u_choice + beta * ((1.0 - wt) * EV[j, s_idx] + wt * EV[j + 1, s_idx])
    gain = np.maximum(Q.max(-1) - (pi * Q).sum(-1), 0.0)
    weights = np.full((Na, S), 1.0 / (Na * S)) if weights is None else np.asarray(weights, dtype=float)
    weights = weights / weights.sum()
    mean_gain = float((weights * gain).sum())
    if mu == 1:
        ce = np.expm1(gain * (1.0 - beta))
    else:  # V scales with c^(1 - mu): (1 + ce)^(1 - mu) = (V + gain) / V
        ce = ((V + gain) / V) ** (1.0 / (1.0 - mu)) - 1.0
    improvable = float((weights * (gain > 1e-6 * np.abs(V))).sum())
    return BellmanGain(mean_gain=mean_gain, max_gain=float(gain[weights > 0].max()),
                       consumption_equivalent=100.0 * float((weights * ce).sum()), improvable=improvable,
                       value=V, gain=gain)


def optimal_policy(value: np.ndarray, r: float, w: float, chain: LabourChain, beta: float, mu: float,
                   shares: Sequence[float], a_grid: np.ndarray) -> ProbsFn:
    """The greedy (one-hot) grid policy of a value function ``value [Na, S]`` at any assets."""
    g = np.asarray(shares, dtype=float)
    EV = value @ chain.P.T

    def probs_fn(a: np.ndarray, s: np.ndarray) -> np.ndarray:
        a, s = np.asarray(a, dtype=float), np.asarray(s, dtype=int)
        cash = (1.0 + r) * a + w * chain.labour[s]
        a_choice = cash[:, None] * g
        j, wt = _interp_weights(a_grid, a_choice, extrapolate=True)
        cols = np.broadcast_to(s[:, None], a_choice.shape)
        Q = utility(cash[:, None] * (1.0 - g), mu) + beta * ((1.0 - wt) * EV[j, cols] + wt * EV[j + 1, cols])
        out = np.zeros_like(Q)
        out[np.arange(a.size), Q.argmax(-1)] = 1.0
        return out

    return probs_fn


def distorted_policy(probs_fn: ProbsFn, shares: Sequence[float], factor: float) -> ProbsFn:
    """``probs_fn`` with every chosen share multiplied by ``factor`` (snapped to the nearest grid share)."""
    g = np.asarray(shares, dtype=float)
    target = np.abs(g[:, None] * factor - g[None, :]).argmin(-1)  # [K] old index -> new index

    def distorted(a: np.ndarray, s: np.ndarray) -> np.ndarray:
        probs = np.asarray(probs_fn(a, s), dtype=float)
        out = np.zeros_like(probs)
        for k in range(g.size):
            out[:, target[k]] += probs[:, k]
        return out

    return distorted
