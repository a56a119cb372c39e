"""Closed forms of the Cournot market (docs/ground-truth.md, "Cournot"); pure Python, no torch.

``N`` firms choose quantities ``q_i``; the inverse demand is linear and *not*
clamped at zero, :math:`P = a - b Q` with :math:`Q = \\sum_i q_i`; marginal cost
``c``. Firm ``i``'s profit per step is

.. math::  \\pi_i = q_i (a - c - b q_i - b Q_{-i}).

Because :math:`\\pi_i` is linear in :math:`Q_{-i}`, the *expected* profit of a
firm against others who draw quantities independently depends on the others
only through their mean quantity. That is what makes the gains of mixed
profiles below exact closed forms.

Every figure is **per firm per step** (money). A stationary profile repeated
over an episode of ``T`` steps earns ``T`` times as much per episode, and so do
its gains.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "Deviation",
    "collusive_quantity",
    "expected_profit",
    "nash_profit",
    "nash_quantity",
    "type_level_gain",
    "unilateral_gain",
]


@dataclass(frozen=True)
class Deviation:
    """The best deviation from a symmetric profile and what it gains."""

    gain: float
    """Expected profit of the deviation minus that of the profile (money per firm per step, >= 0)."""
    quantity: float
    """Mean quantity of the deviation (a grid value when ``probs`` is one-hot)."""
    probs: tuple[float, ...]
    """The deviation as probabilities over the grid (one-hot: a constant quantity)."""


def nash_quantity(a: float, b: float, c: float, n: int) -> float:
    """Symmetric Nash quantity per firm, :math:`q^* = (a - c) / (b (N + 1))`.

    First-order condition of :math:`\\max_{q_i} q_i (a - c - b q_i - b Q_{-i})`:
    :math:`a - c - 2 b q_i - b Q_{-i} = 0`; symmetry :math:`Q_{-i} = (N - 1) q`
    gives :math:`q = (a - c) / (b (N + 1))`.
    """
    return (a - c) / (b * (n + 1))


def collusive_quantity(a: float, b: float, c: float, n: int) -> float:
    """Quantity per firm that maximises joint profit, :math:`(a - c) / (2 b N)`.

    Joint profit :math:`Q (a - c - b Q)` peaks at the monopoly output
    :math:`Q = (a - c) / (2 b)`, shared equally.
    """
    return (a - c) / (2 * b * n)


def nash_profit(a: float, b: float, c: float, n: int) -> float:
    """Profit per firm per step at the Nash quantity, :math:`b q^{*2} = (a - c)^2 / (b (N + 1)^2)`."""
    q = nash_quantity(a, b, c, n)
    return q * (a - c - b * n * q)


def _check_profile(probs: Sequence[float], grid: Sequence[float]) -> tuple[list[float], list[float]]:
    probs, grid = [float(p) for p in probs], [float(g) for g in grid]
    if len(probs) != len(grid) or not grid:
        raise ValueError(f"probs ({len(probs)}) and grid ({len(grid)}) must have the same, non-zero length")
    if any(p < 0 for p in probs) or not math.isclose(sum(probs), 1.0, abs_tol=1e-9):
        raise ValueError(f"probs = {probs}: must be non-negative and sum to 1")
    if any(h <= g for g, h in zip(grid, grid[1:])):
        raise ValueError(f"grid = {grid}: must be strictly increasing")
    return probs, grid


def _moments(probs: list[float], grid: list[float]) -> tuple[float, float]:
    mean = sum(p * g for p, g in zip(probs, grid))
    return mean, sum(p * g * g for p, g in zip(probs, grid))


def _symmetric_value(mean: float, second: float, a: float, b: float, c: float, n: int) -> float:
    """Expected profit per firm when every firm draws iid with these moments (see :func:`expected_profit`)."""
    return (a - c) * mean - b * second - b * (n - 1) * mean * mean


def expected_profit(probs: Sequence[float], grid: Sequence[float], a: float, b: float, c: float, n: int) -> float:
    """Expected profit per firm per step when every firm draws its quantity iid from ``probs`` over ``grid``.

    With mean :math:`\\nu = E q` and second moment :math:`E q^2`, independence gives
    :math:`E[\\pi_i] = (a - c) \\nu - b E q^2 - b (N - 1) \\nu^2`.
    """
    probs, grid = _check_profile(probs, grid)
    return _symmetric_value(*_moments(probs, grid), a, b, c, n)


def unilateral_gain(probs: Sequence[float], grid: Sequence[float], a: float, b: float, c: float,
                    n: int) -> Deviation:
    """Best deviation of ONE firm while the other ``N - 1`` keep drawing iid from ``probs``.

    The deviator's expected profit from playing ``q`` is
    :math:`u(q) = q (a - c - b q - b (N - 1) \\nu)`. For a deviation that is itself a
    distribution ``r`` over the grid, the expected profit is :math:`E_r[u(q)]`,
    which is *linear* in ``r``; a linear function on the simplex attains its
    maximum at a vertex, so the best deviation is a constant grid quantity
    :math:`\\arg\\max_{g \\in grid} u(g)` (ties: the smallest). The gain is
    :math:`\\max_g u(g) -` :func:`expected_profit`, exact and >= 0.
    """
    probs, grid = _check_profile(probs, grid)
    mean, second = _moments(probs, grid)
    others = b * (n - 1) * mean
    values = [g * (a - c - b * g - others) for g in grid]
    best = max(range(len(grid)), key=lambda k: (values[k], -k))
    onehot = tuple(1.0 if k == best else 0.0 for k in range(len(grid)))
    return Deviation(values[best] - _symmetric_value(mean, second, a, b, c, n), grid[best], onehot)


def type_level_gain(probs: Sequence[float], grid: Sequence[float], a: float, b: float, c: float,
                    n: int) -> Deviation:
    """Best deviation of ALL firms together (the shared policy changes) to a common iid profile ``r``.

    Every firm drawing iid from ``r`` (mean :math:`\\nu`, variance
    :math:`V`) earns :math:`(a - c) \\nu - b E_r q^2 - b (N - 1) \\nu^2 = f(\\nu) - b V` with
    :math:`f(\\nu) = \\nu (a - c - b N \\nu)`. Since :math:`E q^2 \\ge (E q)^2`,
    :math:`V \\ge 0`, so no profile beats the constant :math:`\\nu` -- **when every real
    quantity is allowed**, constants are optimal.

    On a grid the mean :math:`\\nu` of a mixed profile may fall between grid
    points, where no constant exists, and independent mixing costs only
    :math:`b V`, not :math:`b N V`. So the exact optimum is computed over all
    distributions: for a given mean, :math:`E_r q^2` is smallest (by convexity
    of :math:`q^2`) for the two-point distribution on the adjacent grid values
    :math:`g_k \\le \\nu \\le g_{k+1}`, where :math:`E q^2 = (g_k + g_{k+1}) \\nu - g_k g_{k+1}`.
    On that interval the value is the concave quadratic

    .. math::  h(\\nu) = (a - c - b (g_k + g_{k+1})) \\nu + b g_k g_{k+1} - b (N - 1) \\nu^2,

    maximised at its clipped vertex :math:`(a - c - b (g_k + g_{k+1})) / (2 b (N - 1))`
    (for ``N = 1`` it is linear: an endpoint). The best over all intervals is the
    type-level optimum; it is a constant grid quantity on fine grids (the
    default integer grid: the collusive 9), and a two-point mix on coarse ones
    (grid ``{0, 2}``, ``a - c = 4``, ``b = 1``, ``N = 2``: constants earn 0, the
    50/50 mix earns 1). The gain is that optimum minus :func:`expected_profit`.
    """
    probs, grid = _check_profile(probs, grid)
    base = _symmetric_value(*_moments(probs, grid), a, b, c, n)
    best_value, best_mean, best_probs = -math.inf, grid[0], ()
    for k, g in enumerate(grid):
        value = _symmetric_value(g, g * g, a, b, c, n)
        if value > best_value:
            best_value, best_mean = value, g
            best_probs = tuple(1.0 if j == k else 0.0 for j in range(len(grid)))
    if n > 1:
        for k in range(len(grid) - 1):
            lo, hi = grid[k], grid[k + 1]
            mean = min(max((a - c - b * (lo + hi)) / (2 * b * (n - 1)), lo), hi)
            value = _symmetric_value(mean, (lo + hi) * mean - lo * hi, a, b, c, n)
            if value > best_value + 1e-12 * max(1.0, abs(best_value)):
                w_hi = (mean - lo) / (hi - lo)
                best_value, best_mean = value, mean
                best_probs = tuple((1.0 - w_hi) if j == k else w_hi if j == k + 1 else 0.0
                                   for j in range(len(grid)))
    return Deviation(best_value - base, best_mean, best_probs)
