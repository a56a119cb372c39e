"""Meta-solvers over an empirical payoff table (in the style of OpenSpiel's psro_v2 meta-strategies).

A solver keeps, per agent type ``p``, a *pool* of frozen policies ``S_p`` (index 0: the current learned
policy, ``1..``: deviations found by best response). Evaluating every combination gives an ``n``-player
normal-form game: ``payoffs[p]`` is a tensor of shape ``[|S_1|, ..., |S_n|]`` with type ``p``'s payoff
when type ``q`` plays pool entry ``s_q``. A meta-solver returns, per type, a probability vector
``sigma_p`` over ``S_p``: how often each pooled policy is played in the others' training batches.

With ``u_p(a, sigma_-p)`` the expected payoff of pure ``a`` against the others' mixtures and
``u_p(sigma) = sum_a sigma_p(a) u_p(a, sigma_-p)``:

* ``uniform``: ``sigma_p = 1/|S_p|`` (fictitious self-play over the pool);
* ``regret_matching``: cumulative regrets ``R_p^T(a) = sum_t u_p(a, sigma_-p^t) - u_p(sigma^t)``,
  next strategy ``sigma_p^{T+1}(a) = [R_p^T(a)]^+ / sum_b [R_p^T(b)]^+`` (uniform if no positive
  regret); the *average* strategy converges to a coarse correlated equilibrium, in 2-player zero-sum
  games to a Nash equilibrium. The ``plus`` variant (RM+) clips the cumulative regret at 0 every step,
  ``R <- [R + r]^+``, and averages with linear weights ``t``;
* ``nash``: a Nash equilibrium of a 2-player bimatrix game by support enumeration (equal-size supports,
  smallest first, so pure equilibria come first); past ``max_supports`` pairs, or where no support pair
  solves (degenerate games), the average strategy of fictitious play;
* ``exploitability``: per player, ``max_a u_p(a, sigma_-p) - u_p(sigma) >= 0`` (0 for all players iff
  ``sigma`` is a Nash equilibrium). OpenSpiel's ``nash_conv`` is their sum.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["NAMES", "NashResult", "exploitability", "fictitious_play", "matched", "nash_2p", "nash_conv", "nash_equilibria_2p",
           "regret_matching", "regret_matching_plus", "solve", "uniform"]

NAMES = ("uniform", "regret_matching", "regret_matching_plus", "nash")
"""The meta-solvers :func:`solve` knows."""


@dataclass(frozen=True)
class NashResult:
    """A Nash mixture of a 2-player game: ``strategies`` (row, column), ``values`` (each player's expected
    payoff), ``method`` (``"support_enumeration"`` or ``"fictitious_play"``: the latter is approximate) and
    ``exploitability`` (each player's best pure deviation gain; ~0 for an exact equilibrium)."""

    strategies: tuple[np.ndarray, np.ndarray]
    values: tuple[float, float]
    method: str
    exploitability: tuple[float, float]


def _tables(payoffs) -> list[np.ndarray]:
    """``payoffs`` as a list of ``n`` float tensors, each of shape ``[|S_1|, ..., |S_n|]``."""
    tables = [np.asarray(t, dtype=float) for t in payoffs]
    n = len(tables)
    if n == 0:
        raise ValueError("payoffs must hold one tensor per player")
    shape = tables[0].shape
    if len(shape) != n or any(s < 1 for s in shape):
        raise ValueError(f"{n} players need payoff tensors of {n} non-empty axes, got shape {shape}")
    for p, t in enumerate(tables):
        if t.shape != shape:
            raise ValueError(f"payoffs[{p}] has shape {t.shape}, payoffs[0] {shape}")
        if not np.all(np.isfinite(t)):
            raise ValueError(f"payoffs[{p}] has non-finite entries")
    return tables


def _strategies(strategies, shape: tuple[int, ...]) -> list[np.ndarray]:
    out = [np.asarray(s, dtype=float) for s in strategies]
    if len(out) != len(shape) or any(s.shape != (k,) for s, k in zip(out, shape)):
        raise ValueError(f"need one probability vector per player of lengths {shape}")
    for p, s in enumerate(out):
        if np.any(s < -1e-9) or abs(s.sum() - 1.0) > 1e-6:
            raise ValueError(f"strategies[{p}] is not a probability vector: {s}")
    return out


def _action_values(table: np.ndarray, strategies: Sequence[np.ndarray], p: int) -> np.ndarray:
    """``u_p(a, sigma_-p)`` for every pure ``a`` of player ``p``: contract every other axis."""
    out = table
    for q in reversed(range(table.ndim)):  # from the last axis down, so the remaining indices stay put
        if q != p:
            out = np.tensordot(out, strategies[q], axes=([q], [0]))
    return out


def uniform(sizes: Sequence[int]) -> list[np.ndarray]:
    """``1/|S_p|`` over each pool of size ``sizes[p]``."""
    if any(int(k) < 1 for k in sizes):
        raise ValueError(f"pool sizes must be positive, got {list(sizes)}")
    return [np.full(int(k), 1.0 / int(k)) for k in sizes]


def regret_matching(payoffs, iterations: int = 10_000, *, plus: bool = False,
                    initial: Sequence[Sequence[float]] | None = None) -> list[np.ndarray]:
    """The average strategy of ``iterations`` rounds of simultaneous full-information regret matching
    (RM+ with linear averaging if ``plus``), starting from ``initial`` (default uniform)."""
    tables = _tables(payoffs)
    shape = tables[0].shape
    if iterations < 1:
        raise ValueError(f"iterations must be positive, got {iterations}")
    sigma = uniform(shape) if initial is None else _strategies(initial, shape)
    regret = [np.zeros(k) for k in shape]
    total = [np.zeros(k) for k in shape]
    weight_sum = 0.0
    for t in range(1, iterations + 1):
        w = float(t) if plus else 1.0
        weight_sum += w
        for p in range(len(shape)):
            total[p] += w * sigma[p]
        values = [_action_values(tables[p], sigma, p) for p in range(len(shape))]
        for p, v in enumerate(values):
            regret[p] += v - float(v @ sigma[p])
            if plus:
                np.maximum(regret[p], 0.0, out=regret[p])
        sigma = [matched(r) for r in regret]
    return [s / weight_sum for s in total]


def regret_matching_plus(payoffs, iterations: int = 10_000, *,
                         initial: Sequence[Sequence[float]] | None = None) -> list[np.ndarray]:
    """:func:`regret_matching` with ``plus=True``."""
    return regret_matching(payoffs, iterations, plus=True, initial=initial)


def matched(regret: np.ndarray) -> np.ndarray:
    """Regret matching's strategy: ``[R]^+ / sum [R]^+`` (uniform if no regret is positive)."""
    positive = np.maximum(regret, 0.0)
    total = positive.sum()
    return positive / total if total > 0 else np.full(regret.shape, 1.0 / regret.size)


def exploitability(payoffs, strategies) -> np.ndarray:
    """Each player's best pure deviation gain ``max_a u_p(a, sigma_-p) - u_p(sigma)`` (shape ``[n]``)."""
    tables = _tables(payoffs)
    sigma = _strategies(strategies, tables[0].shape)
    gains = []
    for p, table in enumerate(tables):
        v = _action_values(table, sigma, p)
        gains.append(max(float(v.max() - v @ sigma[p]), 0.0))
    return np.array(gains)


def nash_conv(payoffs, strategies) -> float:
    """The sum of :func:`exploitability` over players (OpenSpiel's ``nash_conv``)."""
    return float(exploitability(payoffs, strategies).sum())


def _solve_support(M: np.ndarray, tol: float) -> tuple[np.ndarray, float] | None:
    """The mixture ``y >= 0`` (``sum y = 1``) with ``M y = v 1``: the opponent mixture on the support's
    columns that makes every row of the support indifferent; None if singular or negative."""
    k_rows, k_cols = M.shape
    system = np.zeros((k_rows + 1, k_cols + 1))
    system[:k_rows, :k_cols] = M
    system[:k_rows, k_cols] = -1.0
    system[k_rows, :k_cols] = 1.0
    rhs = np.zeros(k_rows + 1)
    rhs[k_rows] = 1.0
    try:
        solution = np.linalg.solve(system, rhs)
    except np.linalg.LinAlgError:
        return None
    y, v = solution[:k_cols], float(solution[k_cols])
    if np.any(y < -tol) or not np.allclose(system @ solution, rhs, atol=1e-9):
        return None
    y = np.maximum(y, 0.0)
    return y / y.sum(), v


def nash_equilibria_2p(A, B, *, tol: float = 1e-9, max_supports: int | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
    """Every Nash equilibrium with equal-size supports of the bimatrix game ``(A, B)`` (row player gets
    ``A[i, j]``, column player ``B[i, j]``), by support enumeration, smallest supports first: for
    supports ``I, J`` with ``|I| = |J| = k``, ``y`` on ``J`` makes the rows in ``I`` indifferent
    (``A_IJ y = v``), ``x`` on ``I`` the columns in ``J`` (``B_IJ^T x = u``); kept if ``x, y >= 0`` and no
    pure strategy outside does better (``A y <= v``, ``B^T x <= u``). Complete for nondegenerate games.
    Stops after ``max_supports`` support pairs (None: all)."""
    A, B = _tables([A, B])
    m, n = A.shape
    found: list[tuple[np.ndarray, np.ndarray]] = []
    tried = 0
    for k in range(1, min(m, n) + 1):
        for rows in itertools.combinations(range(m), k):
            for cols in itertools.combinations(range(n), k):
                tried += 1
                if max_supports is not None and tried > max_supports:
                    return found
                col = _solve_support(A[np.ix_(rows, cols)], tol)
                row = _solve_support(B[np.ix_(rows, cols)].T, tol)
                if col is None or row is None:
                    continue
                x, y = np.zeros(m), np.zeros(n)
                x[list(rows)], y[list(cols)] = row[0], col[0]
                if np.max(A @ y) > x @ A @ y + 1e-7 or np.max(x @ B) > x @ B @ y + 1e-7:
                    continue
                if not any(np.allclose(x, fx, atol=1e-7) and np.allclose(y, fy, atol=1e-7) for fx, fy in found):
                    found.append((x, y))
    return found


def fictitious_play(payoffs, iterations: int = 10_000) -> list[np.ndarray]:
    """The empirical average of ``iterations`` rounds of simultaneous fictitious play (each player plays a
    pure best response, lowest index on ties, to the others' empirical mixtures so far), from uniform."""
    tables = _tables(payoffs)
    shape = tables[0].shape
    counts = [np.full(k, 1.0 / k) for k in shape]  # a uniform prior of weight 1
    for _ in range(iterations):
        mixtures = [c / c.sum() for c in counts]
        plays = [int(np.argmax(_action_values(tables[p], mixtures, p))) for p in range(len(shape))]
        for p, a in enumerate(plays):
            counts[p][a] += 1.0
    return [c / c.sum() for c in counts]


def nash_2p(A, B=None, *, max_supports: int = 20_000, iterations: int = 20_000) -> NashResult:
    """A Nash equilibrium of the bimatrix game ``(A, B)`` (``B = -A``, zero-sum, if omitted): the first
    one support enumeration finds (pure ones first; among equal supports, lowest indices first); if none
    within ``max_supports`` support pairs, the average strategy of ``iterations`` rounds of fictitious
    play (exact in the limit for zero-sum and 2x2 games; check ``exploitability``)."""
    A = np.asarray(A, dtype=float)
    B = -A if B is None else np.asarray(B, dtype=float)
    found = nash_equilibria_2p(A, B, max_supports=max_supports)
    if found:
        x, y = found[0]
        method = "support_enumeration"
    else:
        x, y = fictitious_play([A, B], iterations)
        method = "fictitious_play"
    gains = exploitability([A, B], [x, y])
    return NashResult((x, y), (float(x @ A @ y), float(x @ B @ y)), method, (float(gains[0]), float(gains[1])))


def solve(name: str, payoffs, **options) -> list[np.ndarray]:
    """The meta-strategy ``name`` (one of :data:`NAMES`) of the game ``payoffs``: one probability vector
    per player. ``nash`` needs one or two players (one: uniform over the best pool entries);
    ``options`` go to the solver (e.g. ``iterations``)."""
    if name not in NAMES:
        raise ValueError(f"unknown meta-solver {name!r}; known: {', '.join(NAMES)}")
    tables = _tables(payoffs)
    if name == "uniform":
        return uniform(tables[0].shape)
    if name == "regret_matching":
        return regret_matching(tables, **options)
    if name == "regret_matching_plus":
        return regret_matching_plus(tables, **options)
    if len(tables) == 1:
        best = np.isclose(tables[0], tables[0].max(), rtol=0.0, atol=1e-12).astype(float)
        return [best / best.sum()]
    if len(tables) != 2:
        raise ValueError(f"meta-solver 'nash' needs 1 or 2 players, got {len(tables)}; use 'regret_matching'")
    return list(nash_2p(tables[0], tables[1], **options).strategies)
