"""Sequential evaluation of paired gains: stops as soon as the verdict is decided."""

from __future__ import annotations

import numpy as np
import pytest

from pbt_econ.equilibrium.sequential import interval, sequential_verdict, verdict_of


class Stream:
    """A stream of paired gains that counts its calls and samples."""

    def __init__(self, draw):
        self.draw, self.calls, self.drawn = draw, 0, 0

    def __call__(self, n):
        self.calls += 1
        self.drawn += n
        return self.draw(n)


def normal(mean, sd, seed=0):
    rng = np.random.default_rng(seed)
    return Stream(lambda n: rng.normal(mean, sd, n))


def test_verdict_rule():
    assert verdict_of(-0.1, 0.05, 0.05) == "verified"  # high == tolerance counts as verified
    assert verdict_of(0.06, 0.2, 0.05) == "violated"
    assert verdict_of(0.05, 0.2, 0.05) == "inconclusive"
    assert verdict_of(float("nan"), float("nan"), 0.05) == "inconclusive"
    mean, se, lo, hi = interval([1.0, 2.0, 3.0])
    assert mean == 2.0 and se == pytest.approx(1 / np.sqrt(3)) and hi - mean == pytest.approx(1.96 * se)


def test_clearly_violated_stops_after_the_initial_batch():
    stream = normal(1.0, 0.1)
    r = sequential_verdict(stream, tolerance=0.05, initial=16, step=16, cap=256)
    assert r.verdict == "violated" and r.low > 0.05
    assert (stream.calls, stream.drawn, r.n, r.rounds) == (1, 16, 16, 1)


def test_zero_variance_at_zero_gain_is_verified_at_once():
    stream = Stream(lambda n: np.zeros(n))
    r = sequential_verdict(stream, tolerance=0.0, initial=8, step=8, cap=64)
    assert r.verdict == "verified" and (r.mean, r.stderr, r.low, r.high) == (0.0, 0.0, 0.0, 0.0)
    assert stream.calls == 1 and r.n == 8


def test_borderline_stream_draws_more_then_decides():
    stream = normal(0.2, 1.0, seed=1)  # se after 16 draws ~0.25: undecided; after ~150: lo > 0.05 usually
    r = sequential_verdict(stream, tolerance=0.05, initial=16, step=16, cap=4096)
    assert r.verdict == "violated" and stream.calls > 1 and r.n == stream.drawn > 16
    assert r.rounds == stream.calls == len(r.trace)
    # it stopped at the first decided round: every earlier round was undecided
    assert all(verdict_of(lo, hi, 0.05) == "inconclusive" for _, _, lo, hi in r.trace[:-1])
    assert [n for n, *_ in r.trace] == list(range(16, r.n + 1, 16))


def test_straddling_the_tolerance_stops_at_the_cap():
    stream = Stream(lambda n: np.tile([-1.0, 1.0], n)[:n] + 0.05)  # mean 0.05 == tolerance, forever
    r = sequential_verdict(stream, tolerance=0.05, initial=10, step=25, cap=100)
    assert r.verdict == "inconclusive" and r.n == 100 == stream.drawn
    assert stream.calls == 5  # 10 + 25 + 25 + 25 + 15: the last round is cut to the cap
    assert r.low < 0.05 < r.high


def test_bad_inputs():
    with pytest.raises(ValueError):
        sequential_verdict(normal(0, 1), 0.05, initial=10, cap=5)
    with pytest.raises(ValueError, match="returned"):
        sequential_verdict(Stream(lambda n: np.zeros(n + 1)), 0.05)
    with pytest.raises(ValueError, match="non-finite"):
        sequential_verdict(Stream(lambda n: np.full(n, np.nan)), 0.05)
