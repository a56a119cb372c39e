"""Finite Markov chains for the log labour endowment of the Aiyagari economy (numpy only).

The log endowment follows :math:`z_{t+1} = \\rho z_t + \\varepsilon_{t+1}`,
:math:`\\varepsilon \\sim N(0, \\sigma_\\varepsilon^2)`. Following Aiyagari (1994, Table II),
``sigma`` here is the **unconditional** standard deviation of :math:`z`, so
:math:`\\sigma_\\varepsilon = \\sigma \\sqrt{1 - \\rho^2}`.

* :func:`tauchen`: Tauchen (1986), ``n`` equally spaced points on
  :math:`[-m\\sigma, m\\sigma]` (``m = 3``), transition probabilities from the normal
  cdf at the midpoints. Aiyagari's own discretisation (7 states).
* :func:`rouwenhorst`: Rouwenhorst (1995) / Kopecky-Suen (2010); exactly matches
  the unconditional variance and the autocorrelation for any ``n``.

:func:`labour_chain` returns the labour endowments :math:`l_s = e^{z_s} / \\sum_j \\pi_j e^{z_j}`,
normalised so that mean labour under the stationary distribution is exactly
:math:`L = 1`. The normalisation scales every household's labour income by the same
constant; with a zero borrowing limit and CRRA utility the household problem is
homogeneous of degree one in (assets, income), so assets and :math:`K` scale with
it, :math:`K/L` and therefore the interest rate are unchanged (only :math:`K` in
levels differs from an unnormalised chain).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["LabourChain", "labour_chain", "moments", "rouwenhorst", "stationary", "tauchen"]


def _normal_cdf(x: np.ndarray) -> np.ndarray:
    erf = np.vectorize(math.erf, otypes=[float])
    return 0.5 * (1.0 + erf(np.asarray(x, dtype=float) / math.sqrt(2.0)))


def tauchen(n: int, rho: float, sigma: float, m: float = 3.0) -> tuple[np.ndarray, np.ndarray]:
    """``(z [n], P [n, n])``: Tauchen's discretisation of an AR(1) with unconditional std ``sigma``."""
    if n < 1:
        raise ValueError(f"n = {n}: need at least one state")
    if n == 1 or sigma == 0:
        return np.zeros(n), np.full((n, n), 1.0 / n)
    sigma_e = sigma * math.sqrt(1.0 - rho ** 2)
    z = np.linspace(-m * sigma, m * sigma, n)
    step = z[1] - z[0]
    P = np.empty((n, n))
    if sigma_e == 0:  # rho = 1: a unit root with no innovation, never in Aiyagari's table
        return z, np.eye(n)
    for i in range(n):
        mean = rho * z[i]
        upper = _normal_cdf((z - mean + step / 2) / sigma_e)
        lower = _normal_cdf((z - mean - step / 2) / sigma_e)
        row = upper - lower
        row[0] = upper[0]
        row[-1] = 1.0 - lower[-1]
        P[i] = row
    return z, P / P.sum(1, keepdims=True)


def rouwenhorst(n: int, rho: float, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """``(z [n], P [n, n])``: Rouwenhorst's chain; exact unconditional std ``sigma`` and autocorrelation ``rho``."""
    if n < 1:
        raise ValueError(f"n = {n}: need at least one state")
    if n == 1:
        return np.zeros(1), np.ones((1, 1))
    p = q = (1.0 + rho) / 2.0
    P = np.array([[p, 1 - p], [1 - q, q]])
    for k in range(3, n + 1):
        big = np.zeros((k, k))
        big[:-1, :-1] += p * P
        big[:-1, 1:] += (1 - p) * P
        big[1:, :-1] += (1 - q) * P
        big[1:, 1:] += q * P
        big[1:-1] /= 2.0
        P = big
    psi = sigma * math.sqrt(n - 1)
    return np.linspace(-psi, psi, n), P / P.sum(1, keepdims=True)


def stationary(P: np.ndarray) -> np.ndarray:
    """The stationary distribution ``pi`` (``pi P = pi``, sums to 1) of an irreducible chain."""
    n = P.shape[0]
    A = np.vstack([P.T - np.eye(n), np.ones((1, n))])
    b = np.zeros(n + 1)
    b[-1] = 1.0
    pi = np.linalg.lstsq(A, b, rcond=None)[0]
    pi = np.clip(pi, 0.0, None)
    return pi / pi.sum()


def moments(z: np.ndarray, P: np.ndarray) -> tuple[float, float, float]:
    """``(mean, std, first autocorrelation)`` of ``z`` under the chain's stationary distribution."""
    pi = stationary(P)
    mean = float(pi @ z)
    var = float(pi @ (z - mean) ** 2)
    cov = float(((pi[:, None] * P) * np.outer(z - mean, z - mean)).sum())
    return mean, math.sqrt(var), cov / var if var > 0 else float("nan")


@dataclass(frozen=True)
class LabourChain:
    """A labour-endowment chain: endowments (mean 1 under ``pi``), transitions and stationary distribution."""

    log_states: np.ndarray
    """``[n]`` the discretised log endowment :math:`z_s` before normalisation."""
    labour: np.ndarray
    """``[n]`` endowments :math:`l_s = e^{z_s} / E_\\pi[e^z]` (mean 1 under ``pi``)."""
    P: np.ndarray
    """``[n, n]`` transition matrix, rows sum to 1."""
    pi: np.ndarray
    """``[n]`` stationary distribution."""


def labour_chain(n: int, rho: float, sigma: float, method: str = "tauchen", m: float = 3.0) -> LabourChain:
    """The chain of the config's ``discretisation`` with labour normalised to mean 1 (module docstring)."""
    if method == "tauchen":
        z, P = tauchen(n, rho, sigma, m)
    elif method == "rouwenhorst":
        z, P = rouwenhorst(n, rho, sigma)
    else:
        raise ValueError(f"discretisation = {method!r}: must be 'tauchen' or 'rouwenhorst'")
    pi = stationary(P)
    level = np.exp(z)
    return LabourChain(log_states=z, labour=level / float(pi @ level), P=P, pi=pi)
