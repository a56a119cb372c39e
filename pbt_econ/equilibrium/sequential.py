"""Sequential evaluation of a deviation's gain on common random numbers.

A check evaluates an agent's return before and after a deviation on the same random numbers, so each
draw is a paired difference ``d_i = after_i - before_i`` (a gain). With ``n`` draws, mean ``\\bar d``,
sample standard deviation ``s`` (``ddof=1``) and ``z`` (1.96 for 95%), the normal interval is

.. math:: [lo, hi] = \\bar d \\mp z\\, s / \\sqrt{n},

and against the tolerance ``tol``:

* ``verified``: ``hi <= tol`` (the gain is within tolerance);
* ``violated``: ``lo > tol`` (a profitable deviation);
* ``inconclusive``: otherwise (the interval contains the tolerance, or it is undefined, ``n < 2``).

:func:`sequential_verdict` draws ``initial`` samples, then ``step`` more at a time, and stops as soon as
the verdict is decided or the total reaches ``cap``. Looking repeatedly at the same stream makes the
per-look 95% level optimistic (optional stopping); ``z`` can be raised to compensate.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = ["SequentialResult", "interval", "sequential_verdict", "verdict_of"]


@dataclass(frozen=True)
class SequentialResult:
    """The final interval of a sequential check: ``mean`` gain, ``stderr`` (``s / sqrt(n)``), ``low`` and
    ``high`` (``mean -/+ z stderr``), ``n`` samples used, ``verdict``, ``rounds`` (calls to ``sample``),
    ``tolerance`` and ``z``, and ``trace``: ``(n, mean, low, high)`` after each round."""

    mean: float
    stderr: float
    low: float
    high: float
    n: int
    verdict: str
    rounds: int
    tolerance: float
    z: float
    trace: tuple[tuple[int, float, float, float], ...]


def interval(samples, z: float = 1.96) -> tuple[float, float, float, float]:
    """``(mean, stderr, low, high)`` of ``samples`` (stderr and bounds NaN if fewer than 2)."""
    d = np.asarray(samples, dtype=float).ravel()
    if d.size == 0:
        raise ValueError("no samples")
    mean = float(d.mean())
    if d.size < 2:
        return mean, math.nan, math.nan, math.nan
    stderr = float(d.std(ddof=1) / math.sqrt(d.size))
    return mean, stderr, mean - z * stderr, mean + z * stderr


def verdict_of(low: float, high: float, tolerance: float) -> str:
    """``verified`` if ``high <= tolerance``, ``violated`` if ``low > tolerance``, else ``inconclusive``."""
    if math.isfinite(high) and high <= tolerance:
        return "verified"
    if math.isfinite(low) and low > tolerance:
        return "violated"
    return "inconclusive"


def sequential_verdict(sample: Callable[[int], np.ndarray], tolerance: float, initial: int = 16, step: int = 16,
                       cap: int = 256, z: float = 1.96) -> SequentialResult:
    """Draw ``initial`` paired gains from ``sample(n)`` (each call returns ``n`` new samples, continuing the
    stream), then ``step`` more per round (the last round capped so the total never exceeds ``cap``),
    until the verdict is ``verified`` or ``violated``, or ``cap`` samples are used (``inconclusive``)."""
    if initial < 1 or step < 1 or cap < initial:
        raise ValueError(f"need initial >= 1, step >= 1 and cap >= initial (got {initial}, {step}, {cap})")
    if not math.isfinite(tolerance) or not (math.isfinite(z) and z > 0):
        raise ValueError(f"tolerance must be finite and z positive (got {tolerance}, {z})")
    drawn: list[np.ndarray] = []
    total, rounds, trace = 0, 0, []
    want = initial
    while True:
        batch = np.asarray(sample(want), dtype=float).ravel()
        rounds += 1
        if batch.size != want:
            raise ValueError(f"sample({want}) returned {batch.size} samples")
        if not np.all(np.isfinite(batch)):
            raise ValueError(f"sample({want}) returned non-finite gains")
        drawn.append(batch)
        total += want
        mean, stderr, low, high = interval(np.concatenate(drawn), z)
        trace.append((total, mean, low, high))
        verdict = verdict_of(low, high, tolerance)
        if verdict != "inconclusive" or total >= cap:
            return SequentialResult(mean, stderr, low, high, total, verdict, rounds, float(tolerance), float(z),
                                    tuple(trace))
        want = min(step, cap - total)
