"""Verdicts at their stated confidence over several looks, with planned episodes (docs/model.md §6).

A best-response row is a paired gain on common random numbers, decided against the type's tolerance by
the one verdict rule (:func:`pbt_econ.equilibrium.verdicts.verdict`). Sequential evaluation reads that
verdict at up to ``K`` *looks* on one stream: ``n0 = best_response.eval_episodes`` episodes, then more
episodes of the same stream (the first ``n`` episodes of a longer evaluation are the shorter one), until
the verdict is decided or ``cap * n0`` episodes (``cap = best_response.sequential_cap``).

**The error is spent across the looks.** A 95% interval read at every look spends the error once per
look: simulated at the boundary with looks at 1, 2, 4 and 8 times ``n0`` it reads ``verified`` (or
``violated``) 7.1% of the time instead of 2.5%. Here every look reads the interval with

.. math:: z_K = \\Phi^{-1}\\!\\left(1 - \\frac{\\alpha}{2K}\\right), \\qquad \\alpha = 0.05,

so that, by the union bound, P(some look reads ``verified`` | true relative gain >= tol) <= K α / (2K) =
α / 2 = 2.5%, and the same for ``violated`` below the tolerance: a verdict read at any look holds at the
stated one-sided 97.5% (a two-sided 95% interval). Bonferroni is conservative for nested looks (a Pocock
boundary for four equally spaced looks is 2.36 where this uses 2.50) but it holds for any spacing,
including spacing chosen from the measured variance, which is why it is used rather than a boundary
tabulated for fixed information fractions. With ``cap = 1`` there is one look and ``z = 1.96``.

**Looks at least double**, and the last is ``cap * n0``, so ``K = 1 + ceil(log2 cap)``. After an
undecided look the next is *planned* from the variance measured so far: the smallest ``n0 * 2^k`` (at
least twice the current ``n``) at which the relative gain's standard error, extrapolated as
``se * sqrt(n_now / n)``, reaches ``(tol / 2) / (z_K + z_{0.9})``: at that ``n`` a gain half a tolerance
away from the tolerance (0.5x or 1.5x) is decided with probability 0.9. The row reports its ``power``:
that probability at the standard error it was decided with, ``Φ(tol / (2 se) - z_K)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Protocol

from pbt_econ.core.stats import normal_cdf, normal_quantile

__all__ = ["ALPHA", "POWER", "SWEEP_SHARE", "certificate_z", "decide", "looks", "look_z", "next_look", "power"]

ALPHA = 0.05
"""Two-sided error of a verdict: at most ``ALPHA / 2`` for ``verified`` and for ``violated`` each."""

POWER = 0.9
"""The probability of a decided verdict the planned episodes aim at, half a tolerance from it."""


SWEEP_SHARE = 0.2
"""Of a certificate's ``verified`` error, the share spent on the candidates it did not choose."""


class _Row(Protocol):
    verdict: str
    interval_verdict: str
    half_width_rel: float
    tolerance: float


def looks(cap: int) -> int:
    """The most looks with ``cap`` (``1 + ceil(log2 cap)``: ``n0, 2 n0, 4 n0, ..., cap n0``)."""
    if cap < 1:
        raise ValueError(f"sequential_cap must be >= 1 (got {cap})")
    return 1 + math.ceil(math.log2(cap)) if cap > 1 else 1


def look_z(cap: int, alpha: float = ALPHA) -> float:
    """The normal quantile every look reads its interval with: ``Φ⁻¹(1 - alpha / (2 K))``."""
    return normal_quantile(1.0 - alpha / (2 * looks(cap)))


def certificate_z(cap: int, candidates: int, alpha: float = ALPHA) -> tuple[float, float]:
    """``(z of the chosen candidate's looks, z of every other candidate's looks)`` of a certificate sweep.

    ``violated`` rests on the chosen candidate alone, decided on a fresh stream. ``verified`` claims that
    *no* candidate gains the tolerance, so it needs the chosen one's upper bound and, simultaneously, every
    other candidate's (on the stream they were swept on). One side's error ``alpha / 2`` is split: the
    chosen candidate's looks spend ``(1 - SWEEP_SHARE)`` of it, the other ``m - 1`` candidates
    ``SWEEP_SHARE`` of it between them, each over ``K`` looks. If the best candidate was not chosen, a
    wrong ``verified`` needs its own bound to fall below the tolerance, so P(wrong ``verified``) <=
    ``alpha / 2`` in all (one candidate: the plain :func:`look_z`)."""
    k = looks(cap)
    if candidates <= 1:
        return look_z(cap, alpha), math.inf
    side = alpha / 2
    chosen = normal_quantile(1.0 - side * (1 - SWEEP_SHARE) / k)
    others = normal_quantile(1.0 - side * SWEEP_SHARE / ((candidates - 1) * k))
    return chosen, others


def power(se_rel: float, tolerance: float, z: float) -> float:
    """P(decided) for a true relative gain ``tolerance / 2`` from the tolerance, at standard error ``se_rel``."""
    if not (math.isfinite(se_rel) and math.isfinite(tolerance)) or tolerance <= 0:
        return math.nan
    if se_rel <= 0:
        return 1.0
    return normal_cdf(tolerance / (2 * se_rel) - z)


def next_look(n: int, episodes: int, cap: int, se_rel: float, tolerance: float, z: float) -> int:
    """The episodes of the look after an undecided one at ``n`` (see the module docstring); ``n`` itself
    when no look is left."""
    last = cap * episodes
    if n >= last:
        return n
    want = 2 * n
    if math.isfinite(se_rel) and se_rel > 0 and math.isfinite(tolerance) and tolerance > 0:
        target = (tolerance / 2) / (z + normal_quantile(POWER))
        want = max(want, math.ceil(n * (se_rel / target) ** 2))
    else:  # no variance estimate (a gain that never varied, or no tolerance): straight to the last look
        want = last
    step = episodes
    while step < want:
        step *= 2
    return min(step, last)


def decide(row_at: Callable[[int, float], _Row], episodes: int, cap: int, z: float | None = None) -> _Row:
    """Sequential evaluation: ``row_at(n, z)`` (a row from ``n`` evaluation episodes whose verdict reads the
    interval with quantile ``z``) at ``n = episodes`` and then at planned looks until the interval is decided
    or ``cap * episodes`` episodes are used; the last row.

    ``row_at(n, z)`` must evaluate before and after on one stream, so that the first episodes of a longer
    evaluation are the shorter one's. A row whose interval is decided but whose verdict is not (a trained
    deviation that had not converged cannot be ``verified``) stops too: more evaluation cannot change it.
    ``z``: the quantile of every look (default :func:`look_z`; a certificate's from :func:`certificate_z`).
    """
    z = look_z(cap) if z is None else z
    n = episodes
    row = row_at(n, z)
    while row.interval_verdict == "inconclusive":
        following = next_look(n, episodes, cap, row.half_width_rel / z, row.tolerance, z)
        if following == n:
            break
        n = following
        row = row_at(n, z)
    return row
