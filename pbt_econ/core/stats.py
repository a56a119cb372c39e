"""The statistics every layer shares: the mean, its standard error, normal 95% intervals, paired gains.

One place, so that a best-response row, a verdict, an outcome's descriptor errors and a report's
interval all mean the same thing (docs/model.md §6):

.. math::  \\bar x = \\frac1n \\sum_i x_i, \\qquad
           \\mathrm{se} = \\sqrt{\\frac{1}{n(n-1)} \\sum_i (x_i - \\bar x)^2}, \\qquad
           \\text{ci95} = 1.96\\, \\mathrm{se}.

A paired gain is the mean of the differences ``after_i - before_i`` of samples drawn on the same random
numbers (common random numbers), with the ci95 of those differences. Plain Python on lists of floats:
the samples are short and the order of operations is part of the results' bit-identity.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from statistics import NormalDist

__all__ = ["Z95", "ci95", "mean", "normal_cdf", "normal_quantile", "paired_gain", "standard_error"]

Z95 = 1.96
"""The normal quantile of a two-sided 95% interval."""


def mean(values: Sequence[float]) -> float:
    """The arithmetic mean (raises ``ZeroDivisionError`` on no values)."""
    return sum(values) / len(values)


def standard_error(values: Sequence[float], center: float | None = None) -> float:
    """Standard error of the mean (sample variance with ``n - 1``); NaN with fewer than 2 values.

    ``center``: the mean when the caller already has it (it must be the mean of ``values``)."""
    n = len(values)
    if n < 2:
        return math.nan
    m = sum(values) / n if center is None else center
    var = sum((v - m) ** 2 for v in values) / (n - 1)
    return math.sqrt(var / n)


def ci95(values: Sequence[float]) -> float:
    """Half-width of the normal 95% interval of the mean; NaN with fewer than 2 values."""
    return Z95 * standard_error(values)


def paired_gain(after: Sequence[float], before: Sequence[float]) -> tuple[float, float]:
    """``(mean difference, 95% half-width)`` of paired samples (NaN half-width if fewer than 2 pairs)."""
    if len(after) != len(before) or not after:
        raise ValueError(f"paired samples must have one equal, non-zero length ({len(after)} vs {len(before)})")
    d = [a - b for a, b in zip(after, before)]
    return mean(d), ci95(d)


def normal_quantile(p: float) -> float:
    """The standard normal quantile ``Φ⁻¹(p)`` for ``0 < p < 1``."""
    return NormalDist().inv_cdf(p)


def normal_cdf(x: float) -> float:
    """The standard normal distribution function ``Φ(x)`` (``±inf`` allowed)."""
    if math.isinf(x):
        return 1.0 if x > 0 else 0.0
    return NormalDist().cdf(x)
