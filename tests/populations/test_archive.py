"""The quality-diversity archive's rules and the unseen-equilibria estimate."""

from __future__ import annotations

import math
import random

import pytest

from analysis.stats import chao1
from populations.archive import Archive, Elite, quality


def elite(member="m", x=0.1, y=0.1, verified=False, gain=0.5, welfare=100.0, episode=10):
    return Elite(member, episode, x, y, verified, gain, welfare)


def test_cells_and_clipping():
    a = Archive((0.0, 1.0), (0.0, 1.0), bins=4)
    assert a.cell(0.0, 0.0) == (0, 0) and a.cell(0.26, 0.99) == (1, 3)
    assert a.cell(1.0, 1.0) == (3, 3) and a.cell(-5, 7) == (0, 3) and a.cell(math.nan, 0.5) == (0, 2)
    with pytest.raises(ValueError, match="x_range"):
        Archive((1.0, 1.0), (0.0, 1.0))


def test_insert_and_replace_rules():
    a = Archive((0.0, 1.0), (0.0, 1.0), bins=2)
    assert a.insert(elite("a", welfare=100)).outcome == "added"
    assert a.insert(elite("b", welfare=200)).outcome == "replaced"  # same standing, more welfare
    assert a.insert(elite("c", gain=0.1, welfare=50)).outcome == "replaced"  # smaller best-response gain wins
    assert a.insert(elite("d", verified=True, gain=0.9, welfare=1)).outcome == "replaced"  # verified beats all
    event = a.insert(elite("e", verified=False, gain=0.0, welfare=1e9))
    assert event.outcome == "rejected" and event.previous == "d"
    assert a.elites[(0, 0)].member_id == "d" and a.visits[(0, 0)] == 5 and len(a.history) == 5
    assert a.insert(elite("f", x=0.9, y=0.9)).outcome == "added" and a.coverage == 0.5
    assert quality(elite(gain=math.nan)) < quality(elite(gain=10.0))  # unprobed ranks below any probed gain


def test_sparse_cells_prefer_the_least_visited():
    a = Archive((0.0, 1.0), (0.0, 1.0), bins=3)
    for _ in range(5):
        a.insert(elite("busy", x=0.1, y=0.1))
    a.insert(elite("rare", x=0.9, y=0.9))
    a.insert(elite("mid", x=0.5, y=0.5))
    a.insert(elite("mid2", x=0.5, y=0.5))
    assert a.sparse_cells(2, random.Random(0)) == [(2, 2), (1, 1)]
    assert a.sparse_cells(4, random.Random(0))[3] == (2, 2)  # wraps around
    assert Archive((0.0, 1.0), (0.0, 1.0)).sparse_cells(3, random.Random(0)) == []


def test_chao1_on_known_counts():
    # No singletons: nothing unseen.
    assert chao1([3, 2, 5]) == (3.0, 3.0, 3.0)
    # f1 = 4, f2 = 2, S_obs = 7: S = 7 + 4*3 / (2*3) = 9.
    est, lo, hi = chao1([1, 1, 1, 1, 2, 2, 5])
    assert est == pytest.approx(9.0)
    assert 7.0 <= lo < 9.0 < hi
    # by hand: var = 2 + 49/9 + 8/9 = 8.333; C = exp(1.96 sqrt(ln(1 + 8.333 / 4))) = 8.01
    assert (lo, hi) == pytest.approx((7 + 2 / 8.0146, 7 + 2 * 8.0146), rel=1e-3)
    # Only singletons, f2 = 0: S = S_obs + f1 (f1 - 1) / 2 = 5 + 10 = 15.
    assert chao1([1] * 5)[0] == pytest.approx(15.0)
    assert chao1([]) == (0.0, 0.0, 0.0)


def test_stalled_rule():
    from populations.archive import stalled

    assert not stalled([], 0.01) and not stalled([5.0], 0.01)
    assert stalled([100.0, 100.5], 0.01)  # +0.5% of 100: below the 1% threshold
    assert not stalled([100.0, 102.0], 0.01)
    assert stalled([100.0, 150.0, 120.0], 0.01)  # compared with the best earlier fitness, not the last
    assert stalled([100.0, math.nan], 0.01)  # a diverged member is stalled
    assert not stalled([math.nan, 3.0], 0.01)  # nothing finite to compare with
    assert stalled([-100.0, -100.5], 0.01) and not stalled([-100.0, -98.0], 0.01)  # |best| for negative fitness


def test_plan_restarts_spreads_stalled_members_over_sparse_cells():
    from populations.archive import plan_restarts

    a = Archive((0.0, 1.0), (0.0, 1.0), bins=2)
    for _ in range(3):
        a.insert(elite("crowded", x=0.9, y=0.9, welfare=500))
    a.insert(elite("rare", x=0.1, y=0.1, welfare=10))
    a.insert(elite("middle", x=0.9, y=0.1, welfare=20))
    a.insert(elite("middle", x=0.9, y=0.1, welfare=15))
    histories = {"m1": [1.0, 1.0], "m2": [1.0, 5.0], "m3": [2.0, 1.0], "m4": [3.0, 3.0]}
    restarts = plan_restarts(histories, a, 0.01, random.Random(0))
    assert [r.child for r in restarts] == ["m1", "m3", "m4"]  # m2 improved
    # least visited first (rare: 1, middle: 2, crowded: 3), never the crowded best while sparser ones exist
    assert [r.parent for r in restarts] == ["rare", "middle", "crowded"]
    assert restarts[0].cell == (0, 0) and restarts[0].child_fitness == 1.0
    assert plan_restarts({"m1": [1.0, 1.0]}, Archive((0.0, 1.0), (0.0, 1.0)), 0.01, random.Random(0)) == []


def test_archive_round_trips_through_its_saved_state():
    import json

    a = Archive((0.0, 2.0), (-1.0, 1.0), bins=3)
    a.insert(elite("a", x=0.1, y=0.5, gain=math.nan))
    a.insert(Elite("b", 20, 1.9, -0.9, True, 0.01, 3.0, {"training.consumer.lr": 0.002}, "archive/x.pt"))
    a.insert(elite("c", x=0.2, y=0.6, welfare=1.0))
    b = Archive.from_dict(json.loads(json.dumps(a.to_dict())))
    assert b.elites.keys() == a.elites.keys() and b.visits == a.visits and b.history == a.history
    for c in a.elites:
        ea, eb = a.elites[c], b.elites[c]
        assert (ea.member_id, ea.episode, ea.verified, ea.hyperparameters, ea.checkpoint) == \
            (eb.member_id, eb.episode, eb.verified, eb.hyperparameters, eb.checkpoint)
    assert b.bounds((1, 2)) == pytest.approx((2 / 3, 4 / 3, 1 / 3, 1.0))
