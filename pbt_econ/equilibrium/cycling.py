"""Cycle and stall detection for a solver loop.

Each round of the loop leaves a *profile* ``h_t`` (what the round's outcome looks like: the pool index
each type plays, or a vector of descriptors) and an exploitability ``e_t``. With
``d(a, b) = max_i |a_i - b_i|`` (infinite if the shapes differ; for non-numeric profiles 0 if equal,
else infinite), ``T`` rounds, a period ``p`` and ``repeats`` (2: seen at least twice):

* a *cycle* of period ``p``: the last ``repeats * p`` rounds repeat with period ``p``,
  ``d(h_t, h_{t-p}) <= tol`` for ``T - (repeats - 1) p <= t < T``, and the last ``p`` rounds are not a
  fixed point, ``max_{t, t'} d(h_t, h_t') > tol`` over them. :func:`detect_cycle` reports the smallest
  such ``p`` in ``[min_period, max_period]``;
* *stalled*: the best exploitability of the last ``window`` rounds does not improve on the best before
  them by at least ``rel_improvement * |best before|`` (a strictly positive drop is always required).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["CycleResult", "detect_cycle", "distance", "stalled"]


@dataclass(frozen=True)
class CycleResult:
    """A detected cycle: its ``period``, ``start`` (first round of the repeating stretch), ``rounds`` (the
    indices of the last cycle), ``profiles`` (its profiles), ``max_deviation`` (largest
    ``d(h_t, h_{t-p})`` over the stretch), ``spread`` (largest ``d`` between rounds of the last cycle); if
    exploitability was given, ``exploitability`` over the last cycle and ``best_round`` (its minimiser)."""

    period: int
    start: int
    rounds: tuple[int, ...]
    profiles: tuple
    max_deviation: float
    spread: float
    exploitability: tuple[float, ...] | None = None
    best_round: int | None = None


def distance(a, b) -> float:
    """``max |a - b|`` of two numeric profiles (inf if shapes differ; 0/inf equality for non-numeric)."""
    try:
        x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    except (TypeError, ValueError):
        return 0.0 if a == b else math.inf
    if x.shape != y.shape:
        return math.inf
    if x.size == 0:
        return 0.0
    diff = np.abs(x - y)
    if np.any(np.isnan(diff)):  # NaN matches only NaN at the same place
        same_nan = np.isnan(x) & np.isnan(y)
        if np.any(np.isnan(diff) & ~same_nan):
            return math.inf
        diff = np.where(same_nan, 0.0, diff)
    return float(diff.max())


def detect_cycle(history: Sequence, tolerance: float = 0.0, min_period: int = 2, max_period: int | None = None,
                 *, repeats: int = 2, exploitability: Sequence[float] | None = None) -> CycleResult | None:
    """The smallest period ``p`` in ``[min_period, max_period]`` (default ``len(history) // repeats``) with
    which the last ``repeats * p`` profiles of ``history`` repeat, not being a fixed point; else None.
    ``exploitability`` (one value per round, optional) is summarised over the last cycle."""
    if min_period < 1 or repeats < 2 or tolerance < 0:
        raise ValueError(f"need min_period >= 1, repeats >= 2 and tolerance >= 0 "
                         f"(got {min_period}, {repeats}, {tolerance})")
    if exploitability is not None and len(exploitability) != len(history):
        raise ValueError(f"{len(exploitability)} exploitability values for {len(history)} rounds")
    T = len(history)
    top = T // repeats if max_period is None else min(max_period, T // repeats)
    for p in range(min_period, top + 1):
        start = T - repeats * p
        deviation = max(distance(history[t], history[t - p]) for t in range(start + p, T))
        if deviation > tolerance:
            continue
        last = range(T - p, T)
        spread = max(distance(history[s], history[t]) for s in last for t in last)
        if spread <= tolerance:
            continue  # a fixed point (the loop converged), not a cycle
        result = CycleResult(p, start, tuple(last), tuple(history[t] for t in last), deviation, spread)
        if exploitability is None:
            return result
        values = tuple(float(exploitability[t]) for t in last)
        finite = [i for i, v in enumerate(values) if math.isfinite(v)]
        best = T - p + min(finite, key=lambda i: values[i]) if finite else None
        return CycleResult(p, start, tuple(last), result.profiles, deviation, spread, values, best)
    return None


def stalled(exploitability_history: Sequence[float], window: int, rel_improvement: float) -> bool:
    """True when the best exploitability of the last ``window`` rounds is not below the best of the rounds
    before by at least ``rel_improvement * |best before|`` (and by some positive amount). False while
    there are at most ``window`` rounds. NaN counts as no information (+inf)."""
    if window < 1 or rel_improvement < 0:
        raise ValueError(f"need window >= 1 and rel_improvement >= 0 (got {window}, {rel_improvement})")
    values = [math.inf if math.isnan(float(v)) else float(v) for v in exploitability_history]
    if len(values) <= window:
        return False
    before, recent = min(values[:-window]), min(values[-window:])
    if not math.isfinite(before):
        return not math.isfinite(recent)
    drop = before - recent
    return not (drop > 0 and drop >= rel_improvement * abs(before))
