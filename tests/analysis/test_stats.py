"""Interval helpers against known values."""

from __future__ import annotations

import math
import statistics

import pytest

from analysis.stats import bootstrap_ci, mean_ci, t_quantile, wilson_interval


def test_wilson_interval_known_values():
    assert wilson_interval(7, 8) == pytest.approx((0.5291, 0.9776), abs=1e-4)
    assert wilson_interval(0, 10) == pytest.approx((0.0, 0.2775), abs=1e-4)  # lower bound 0 up to rounding
    assert wilson_interval(10, 10)[1] == 1.0
    lo, hi = wilson_interval(50, 100)
    assert lo == pytest.approx(0.4038, abs=1e-4) and hi == pytest.approx(0.5962, abs=1e-4)
    assert all(math.isnan(v) for v in wilson_interval(0, 0))


@pytest.mark.parametrize(("df", "expected"), [(3, 3.182), (7, 2.365), (10, 2.228), (30, 2.042), (1000, 1.962)])
def test_t_quantile_matches_tables(df, expected):
    assert t_quantile(0.975, df) == pytest.approx(expected, abs=2e-3)


def test_mean_ci_and_bootstrap():
    values = [1.0, 2.0, 3.0, 4.0]
    m, h = mean_ci(values)
    assert m == 2.5 and h == pytest.approx(3.182 * statistics.stdev(values) / 2, rel=1e-3)
    assert math.isnan(mean_ci([5.0])[1]) and math.isnan(mean_ci([])[0])
    lo, hi = bootstrap_ci(list(range(100)), lambda xs: sum(xs) / len(xs), resamples=2000, seed=1)
    # The mean of 0..99 has standard error 29.01 / 10: the percentile interval is about 49.5 +- 5.7.
    assert lo == pytest.approx(49.5 - 5.7, abs=0.8) and hi == pytest.approx(49.5 + 5.7, abs=0.8)
    assert bootstrap_ci([1, 2, 3], lambda xs: sum(xs), seed=3) == bootstrap_ci([1, 2, 3], lambda xs: sum(xs), seed=3)


def test_newcombe_difference_matches_published_values():
    from analysis.stats import newcombe_difference

    # Newcombe (1998), Statistics in Medicine 17:873, Table II, method 10.
    d, lo, hi = newcombe_difference(56, 70, 48, 80)
    assert d == pytest.approx(0.2) and (lo, hi) == (pytest.approx(0.0524, abs=1e-4), pytest.approx(0.3339, abs=1e-4))
    d, lo, hi = newcombe_difference(9, 10, 3, 10)
    assert (lo, hi) == (pytest.approx(0.1705, abs=1e-4), pytest.approx(0.8090, abs=1e-4))
    assert all(math.isnan(v) for v in newcombe_difference(0, 0, 1, 2))
