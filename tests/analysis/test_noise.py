"""The noise-aware equilibrium criterion, regimes and stability."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from analysis.cluster import cluster_outcomes
from analysis.noise import distinct_matrix
from analysis.schema import Schema, regime_of
from pbt_econ.config.load import RunConfig
from pbt_econ.economies.rbc.plugin import REGIMES
from tests.analysis.test_analysis import CENTRES, outcome


def replicates(centre: dict, n: int, rel_se: float, seed: int, prefix: str) -> list[dict]:
    """``n`` evaluations of one outcome on other seeds: values drawn around ``centre`` with the stated SE."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        row = outcome(f"{prefix}{i}", centre=centre)
        for k in list(row):
            if k.endswith("_se"):
                d = k[:-3]
                se = rel_se * abs(row[d])
                row[d] = row[d] + rng.gauss(0, se)
                row[k] = se
        rows.append(row)
    return rows


def test_replicates_of_one_outcome_form_one_equilibrium():
    rows = replicates(CENTRES[1], 40, 0.03, seed=0, prefix="r")
    result = cluster_outcomes(rows)
    assert len(result.equilibria) == 1 and result.equilibria[0].size == 40


def test_groups_closer_than_their_noise_merge_and_separated_ones_do_not():
    a = replicates(CENTRES[0], 10, 0.02, seed=1, prefix="a")
    near = {k: v * 1.04 for k, v in CENTRES[0].items()}  # 4% apart: below the 10% resolution
    b = replicates(near, 10, 0.02, seed=2, prefix="b")
    assert len(cluster_outcomes(a + b).equilibria) == 1
    far = {k: v * 1.5 for k, v in CENTRES[0].items()}  # 50% apart, but evaluation noise of 60%
    noisy = replicates(far, 10, 0.6, seed=3, prefix="n") + replicates(CENTRES[0], 10, 0.6, seed=4, prefix="m")
    assert len(cluster_outcomes(noisy).equilibria) == 1
    precise = replicates(far, 10, 0.02, seed=3, prefix="p") + a
    result = cluster_outcomes(precise)
    assert sorted(e.size for e in result.equilibria) == [10, 10]
    assert all(e.stability > 0.9 for e in result.equilibria)


def test_distinct_matrix_by_hand():
    X = np.array([[100.0, 1.0], [130.0, 1.0], [103.0, 1.0]])
    S = np.array([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0]])
    d = distinct_matrix(X, S, alpha=0.05, min_relative_difference=0.1)
    # 100 vs 130: z = 21, 23% apart -> distinct; 100 vs 103: z = 2.1 but only 3% apart -> not distinct
    assert d[0, 1] and d[1, 2] and not d[0, 2] and not d.diagonal().any()
    wide = distinct_matrix(X, S * 40, alpha=0.05, min_relative_difference=0.1)
    assert not wide.any()  # the same gaps within noise of SE 40


@pytest.mark.parametrize(("values", "expected"), [
    (dict(hours=0.5, production=10.0, export_share=0.9), "trivial"),
    (dict(hours=300.0, production=0.0, export_share=0.0), "trivial"),
    (dict(hours=300.0, production=80.0, export_share=0.8), "export-led"),
    (dict(hours=20.0, production=5.0, export_share=0.0), "low-activity"),
    (dict(hours=300.0, production=80.0, export_share=0.2), "domestic"),
    (dict(hours=300.0, production=80.0, export_share=0.5), "domestic"),  # the boundary: more than half
])
def test_regime_rules_on_hand_made_rows(values, expected):
    assert regime_of(values, REGIMES) == expected
    assert Schema.of(RunConfig()).regime(values) == expected  # the rules the analysis reads from a run config


@pytest.mark.parametrize(("export_share", "regime"), [(0.8, "export-led"), (0.2, "domestic")])
def test_equilibria_carry_regime_stability_and_standard_errors(export_share, regime):
    """An active centre (800 hours, 120 units produced: neither trivial nor low-activity) whose export share
    lies far from the 0.5 boundary (its SE is 2% of it, so the boundary is at least 18 SEs away) has one
    regime by the RBC rules: its equilibrium's centroid must have it too."""
    rows = replicates({**CENTRES[1], "export_share": export_share}, 6, 0.02, seed=5, prefix="x")
    eq = cluster_outcomes(rows).equilibria[0]
    assert eq.regime == regime
    assert 0 <= eq.stability <= 1
    assert eq.centroid_se.price_se == pytest.approx(
        np.std([r["price"] for r in rows], ddof=1) / math.sqrt(6))
