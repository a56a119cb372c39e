"""Closed forms of the finite-horizon Brock-Mirman economy (docs/ground-truth.md, "Growth"); no torch.

A household lives for decision periods :math:`t = 0, \\dots, T`, produces
:math:`y_t = z_t k_t^\\alpha` (full depreciation), saves the fraction
:math:`s_t`, consumes :math:`c_t = (1 - s_t) y_t`, carries :math:`k_{t+1} = s_t y_t`
and maximises :math:`E \\sum_{t=0}^T \\beta^t \\ln c_t`; capital left after
:math:`T` is worth nothing. Shocks are iid, :math:`\\ln z_t \\sim N(-\\sigma^2/2, \\sigma^2)`,
and :math:`z_t` is known when :math:`s_t` is chosen.

**Backward induction.** Guess :math:`V_t(k, z) = A_t \\ln k + (\\text{terms in } z, t)`.
At :math:`T` the household eats everything (:math:`s_T = 0`), so :math:`A_T = \\alpha`.
At :math:`t < T` it maximises :math:`\\ln((1-s) y) + \\beta A_{t+1} \\ln(s y) + \\dots`;
the first-order condition :math:`1/(1-s) = \\beta A_{t+1}/s` gives
:math:`s_t = \\beta A_{t+1} / (1 + \\beta A_{t+1})`, independent of :math:`k` and
:math:`z` because only :math:`\\ln y` enters. Substituting back,
:math:`V_t = (1 + \\beta A_{t+1}) \\ln y + \\dots`, so :math:`A_t = \\alpha D_t` with
:math:`D_t = 1 + \\alpha\\beta D_{t+1}`, :math:`D_T = 1`, i.e.
:math:`D_t = \\sum_{j=0}^{T-t} (\\alpha\\beta)^j = (1 - (\\alpha\\beta)^{T-t+1}) / (1 - \\alpha\\beta)`, and

.. math::  s_t = 1 - 1/D_t = \\alpha\\beta \\, \\frac{1 - (\\alpha\\beta)^{T-t}}{1 - (\\alpha\\beta)^{T-t+1}},
           \\qquad s_T = 0.

**Lifetime utility of any state-independent sequence** :math:`s_0..s_T`. Logs
are linear: :math:`\\ln c_t = \\ln(1-s_t) + \\ln y_t` and
:math:`\\ln y_{t+1} = \\ln z_{t+1} + \\alpha(\\ln s_t + \\ln y_t)`. With
:math:`m_t = E \\ln y_t`: :math:`m_0 = \\alpha \\ln k_0 - \\sigma^2/2`,
:math:`m_{t+1} = \\alpha(\\ln s_t + m_t) - \\sigma^2/2`, and
:math:`U = \\sum_t \\beta^t (\\ln(1 - s_t) + m_t)` exactly. The objective is separable:
:math:`U = \\text{const} + \\sum_t \\beta^t [\\ln(1-s_t) + (D_t - 1) \\ln s_t]`, which
is what makes the best *grid* policy a per-period choice (:func:`grid_policy`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "EULER_FLOOR",
    "GridFloor",
    "ce_loss",
    "euler_errors",
    "euler_residuals",
    "grid_floor",
    "grid_policy",
    "lifetime_utility",
    "savings_rates",
]

EULER_FLOOR = -16.0
"""``log10`` Euler error reported when the residual is exactly 0 (machine precision, not ``-inf``)."""


def _horizon_weights(alpha: float, beta: float, T: int) -> list[float]:
    """``D_t = sum_{j=0}^{T-t} (alpha beta)^j`` for ``t = 0..T`` (summed, stable for alpha beta near 1)."""
    ab = alpha * beta
    return [sum(ab ** j for j in range(T - t + 1)) for t in range(T + 1)]


def savings_rates(alpha: float, beta: float, T: int) -> list[float]:
    """Optimal savings rate of periods ``t = 0..T`` (``T + 1`` values, the last 0); see the module docstring."""
    return [1.0 - 1.0 / d for d in _horizon_weights(alpha, beta, T)]


def _check_sequence(s_seq: Sequence[float]) -> list[float]:
    s = [float(x) for x in s_seq]
    if not s or any(not 0.0 <= x < 1.0 for x in s):
        raise ValueError(f"savings sequence {s}: every rate must lie in [0, 1)")
    return s


def lifetime_utility(s_seq: Sequence[float], alpha: float, beta: float, k0: float, sigma: float) -> float:
    """Exact expected lifetime utility :math:`E \\sum_t \\beta^t \\ln c_t` of the rates ``s_seq`` (length ``T + 1``).

    ``-inf`` if some :math:`s_t = 0` with :math:`t < T` (the next capital is 0,
    so is every later consumption); the economy's ``capital_floor`` keeps its
    simulated utility finite in that case.
    """
    s = _check_sequence(s_seq)
    mean_log_output = alpha * math.log(k0) - 0.5 * sigma ** 2
    total = 0.0
    for t, rate in enumerate(s):
        total += beta ** t * (math.log1p(-rate) + mean_log_output)
        if t < len(s) - 1:
            if rate == 0.0:
                return -math.inf
            mean_log_output = alpha * (math.log(rate) + mean_log_output) - 0.5 * sigma ** 2
    return total


def ce_loss(s_seq: Sequence[float], alpha: float, beta: float, k0: float, sigma: float) -> float:
    """Consumption-equivalent loss of ``s_seq`` against the optimum, a fraction in [0, 1].

    The :math:`\\lambda` such that consuming :math:`(1 - \\lambda) c^*_t` in every
    period and state gives the utility :math:`U` of ``s_seq``:
    :math:`U^* + \\ln(1 - \\lambda) \\sum_t \\beta^t = U`, so
    :math:`\\lambda = 1 - \\exp((U - U^*) / \\sum_{t=0}^T \\beta^t)` (1 when :math:`U = -\\infty`).
    """
    T = len(s_seq) - 1
    best = lifetime_utility(savings_rates(alpha, beta, T), alpha, beta, k0, sigma)
    utility = lifetime_utility(s_seq, alpha, beta, k0, sigma)
    return 1.0 - math.exp((utility - best) / sum(beta ** t for t in range(T + 1)))


def euler_residuals(s_seq: Sequence[float], alpha: float, beta: float) -> list[float]:
    """Unit-free Euler residuals :math:`|1 - \\tilde c_t / c_t|` of periods ``t = 0..T-1``.

    The Euler equation :math:`1/c_t = \\beta E[\\alpha y_{t+1} / (k_{t+1} c_{t+1})]`
    defines the consumption :math:`\\tilde c_t` it implies. With
    :math:`c_{t+1} = (1 - s_{t+1}) y_{t+1}` the ratio :math:`y_{t+1}/c_{t+1}` is
    :math:`1/(1 - s_{t+1})` in every state, so the expectation is exact and shock-free:
    :math:`\\tilde c_t = (1 - s_{t+1}) k_{t+1} / (\\alpha\\beta) = (1 - s_{t+1}) s_t y_t / (\\alpha\\beta)`
    and, dividing by :math:`c_t = (1 - s_t) y_t`,

    .. math::  |1 - \\tilde c_t / c_t| = |1 - (1 - s_{t+1}) s_t / (\\alpha\\beta (1 - s_t))|.

    Zero for the closed form; 1 when :math:`s_t = 0`.
    """
    s = _check_sequence(s_seq)
    ab = alpha * beta
    return [abs(1.0 - (1.0 - s[t + 1]) * s[t] / (ab * (1.0 - s[t]))) for t in range(len(s) - 1)]


def euler_errors(s_seq: Sequence[float], alpha: float, beta: float) -> list[float]:
    """``log10`` of :func:`euler_residuals`, periods ``t = 0..T-1``; an exact 0 is reported as :data:`EULER_FLOOR`."""
    return [math.log10(r) if r > 10.0 ** EULER_FLOOR else EULER_FLOOR for r in euler_residuals(s_seq, alpha, beta)]


def grid_policy(grid: Sequence[float], alpha: float, beta: float, T: int, rule: str = "best") -> list[float]:
    """A grid savings rate per period ``t = 0..T``.

    ``rule="best"`` (default): the grid sequence of highest lifetime utility.
    By separability (module docstring) it maximises
    :math:`\\ln(1 - s) + (D_t - 1) \\ln s` period by period, so it is the grid's own
    optimum and its :func:`ce_loss` is the smallest any grid policy can reach.
    ``rule="nearest"``: the grid value nearest the closed form (ties: the
    smaller); usually the same, but not always, since the per-period objective
    is asymmetric around its peak.
    """
    values = sorted(float(g) for g in grid)
    _check_sequence(values)
    targets = savings_rates(alpha, beta, T)
    if rule == "nearest":
        return [min(values, key=lambda g, s=s: (abs(g - s), g)) for s in targets]
    if rule != "best":
        raise ValueError(f"rule = {rule!r}: must be 'best' or 'nearest'")

    def objective(g: float, weight: float) -> float:
        if g == 0.0:
            return 0.0 if weight == 0.0 else -math.inf
        return math.log1p(-g) + weight * math.log(g)

    weights = [d - 1.0 for d in _horizon_weights(alpha, beta, T)]
    return [max(values, key=lambda g, w=w: (objective(g, w), -g)) for w in weights]


@dataclass(frozen=True)
class GridFloor:
    """How close the best grid policy can get to the continuous optimum."""

    policy: tuple[float, ...]
    """Grid savings rate per period ``t = 0..T`` (:func:`grid_policy`)."""
    ce_loss: float
    """Its consumption-equivalent loss (fraction of consumption)."""
    euler_errors: tuple[float, ...]
    """Its ``log10`` Euler errors, periods ``t = 0..T-1``."""


def grid_floor(grid: Sequence[float], alpha: float, beta: float, T: int, k0: float, sigma: float,
               rule: str = "best") -> GridFloor:
    """The grid's own floor: :func:`grid_policy`'s CE loss and Euler errors (a learned policy cannot beat it)."""
    policy = grid_policy(grid, alpha, beta, T, rule)
    return GridFloor(tuple(policy), ce_loss(policy, alpha, beta, k0, sigma), tuple(euler_errors(policy, alpha, beta)))
