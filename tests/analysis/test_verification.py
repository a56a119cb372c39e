"""One answer to "is it an equilibrium?": verdicts, never point estimates, in every place that says so.

The case of the review: an outcome whose largest gain is below the tolerance as a point estimate
(``passes_*``, ``is_epsilon_equilibrium``) but whose verdict is ``inconclusive`` (the interval reaches
above the tolerance). It must not be marked verified by the console table, the spectrum's markers,
the report or ``equilibria.parquet``/``outcomes.parquet``; and the unseen-equilibria estimate (Chao1)
must not extrapolate from unverified outcomes.
"""

from __future__ import annotations

import matplotlib.axes
import pytest

from analysis import plots
from analysis.cluster import cluster_outcomes
from analysis.report import analyse_runs
from analysis.schema import Schema
from analysis.verification import META, NASH, NOT_VERIFIED, cluster_verified_as, is_verified, verified_as
from pbt_econ.config.load import RunConfig
from pbt_econ.core.tables import read_table, unflatten
from pbt_econ.equilibrium.outcomes import OutcomeRow
from tests.analysis.test_analysis import CENTRES, GROUPS, TYPES, fake_run, outcome


def point_only(member_id: str, **over) -> dict:
    """Within tolerance on point estimates (largest relative gain 0.046), verdicts ``inconclusive``."""
    row = outcome(member_id, epsilon_max_rel=0.046, is_epsilon_equilibrium=True, verdict="inconclusive", **over)
    row.update({f"verdict_{t}": "inconclusive" for t in TYPES} | {f"verdict_type_{t}": "inconclusive" for t in TYPES}
               | {f"passes_{t}": True for t in TYPES})
    return row


def violated(member_id: str, **over) -> dict:
    row = outcome(member_id, epsilon_max_rel=0.5, is_epsilon_equilibrium=False, verdict="violated", **over)
    row.update({f"verdict_{t}": "violated" for t in TYPES} | {f"verdict_type_{t}": "violated" for t in TYPES}
               | {f"passes_{t}": False for t in TYPES})
    return row


def meta_only(member_id: str, **over) -> dict:
    """Type-level verdicts verified (the paper's sense), a single agent's deviation violated (Nash)."""
    row = outcome(member_id, verdict="violated", **over)
    row.update({f"verdict_{t}": "violated" for t in TYPES})
    return row


def scaled(k: int) -> dict:
    """The k-th of several outcomes far apart (every descriptor of ``CENTRES[0]`` times ``3**k``)."""
    return {key: value * 3 ** k for key, value in CENTRES[0].items()}


def test_the_rule_reads_verdicts_not_point_estimates():
    assert verified_as(outcome("v"), TYPES) == NASH
    assert verified_as(meta_only("m"), TYPES) == META
    assert verified_as(point_only("p"), TYPES) == NOT_VERIFIED and not is_verified(point_only("p"), TYPES)
    assert verified_as(violated("x"), TYPES) == NOT_VERIFIED
    assert cluster_verified_as([outcome("v"), point_only("p")], TYPES) == NOT_VERIFIED
    assert cluster_verified_as([outcome("v"), meta_only("m")], TYPES) == META
    assert cluster_verified_as([], TYPES) == NOT_VERIFIED


def test_console_table_marks_only_verified_outcomes():
    from pbt_econ.search import summary_lines

    rows = [unflatten(OutcomeRow, r, GROUPS) for r in (outcome("m000"), point_only("m003~s"), meta_only("m004"),
                                                       violated("m005"))]
    lines = summary_lines(rows, RunConfig().economy_model)
    header = lines[0].split()
    assert header[-2:] == ["verified", "trivial"] and "eq" not in header
    sense = {line.split()[0]: line.split()[-2] for line in lines[2:]}
    assert sense == {"m000": "Nash", "m003~s": "no", "m004": "meta", "m005": "no"}


def test_spectrum_markers_follow_verdicts(tmp_path, monkeypatch):
    rows = [outcome("m000"), point_only("m003~s", centre=CENTRES[1]), meta_only("m004", centre=CENTRES[2])]
    schema = Schema.of(RunConfig())
    drawn = []
    real = matplotlib.axes.Axes.scatter

    def spy(ax, x, y, *args, **kwargs):
        drawn.append(kwargs.get("marker"))
        return real(ax, x, y, *args, **kwargs)

    monkeypatch.setattr(matplotlib.axes.Axes, "scatter", spy)
    plots.spectrum(rows, cluster_outcomes(rows).labels, tmp_path / "s.png", schema)
    assert drawn == ["o", "x", "s"] * 2  # two panels, one marker per outcome
    assert plots.spectrum_markers(rows, schema.types) == ["o", "x", "s"]


def test_report_tables_and_chao1_ignore_point_estimates(tmp_path):
    """The review's run: 8 distinct outcomes, one Nash-verified, one within tolerance on point estimates
    only (inconclusive), six violated. Chao1 over all 8 singletons would claim about 28 unseen."""
    rows = ([outcome("m000", centre=scaled(0)), point_only("m003~s", centre=CENTRES[2])]
            + [violated(f"m1{k}", centre=scaled(k)) for k in range(1, 7)])
    fake_run(tmp_path / "run", rows, metrics=False)
    result = analyse_runs([tmp_path / "run"])
    assert len(result.equilibria) == 8  # the setting: every outcome its own cluster
    lines = result.report.read_text().splitlines()
    assert lines[2] == ("8 outcomes: 1 ε-equilibria (Nash: every unilateral check verified), 0 ε-meta-equilibria "
                        "only (type-level checks verified, the paper's sense), 7 verified in neither sense (1 of them "
                        "within tolerance on point estimates alone); 8 clusters distinct beyond evaluation noise: "
                        "1 ε-equilibria, 0 ε-meta-equilibria only, 7 not verified.")
    assert lines[6] == ("Unseen equilibria: no estimate (1 outcome verified in at least one sense, in a cluster; "
                        "Chao1 needs at least 2 and never counts the 7 others).")
    schema = Schema.of(RunConfig())
    assert schema.regime(rows[1]) == "trivial" and schema.regime(rows[0]) != "trivial"
    assert f"with an outcome verified in at least one sense: {schema.regime(rows[0])}. " in lines[8]

    eq = {r["members"]: r for r in read_table(tmp_path / "run" / "equilibria.parquet", "equilibria").to_pylist()}
    assert eq["m003~s"]["verified_as"] == NOT_VERIFIED and eq["m003~s"]["is_epsilon_equilibrium"]  # point flag kept
    assert eq["m000"]["verified_as"] == NASH
    out = {r["member_id"]: r for r in read_table(tmp_path / "run" / "outcomes.parquet", "outcomes").to_pylist()}
    assert out["m003~s"]["verified_as"] == NOT_VERIFIED and out["m000"]["verified_as"] == NASH
    assert all(out[f"m1{k}"]["verified_as"] == NOT_VERIFIED for k in range(1, 7))


def test_chao1_counts_only_verified_outcomes(tmp_path):
    """Two verified outcomes in one cluster (a doubleton), five unverified singletons elsewhere: the
    estimate rests on the doubleton alone (nothing unseen), not on five singletons (about 5 unseen)."""
    rows = ([outcome("v0", centre=scaled(0)), meta_only("v1", centre=scaled(0))]
            + [violated(f"x{k}", centre=scaled(k)) for k in range(1, 4)]
            + [point_only(f"p{k}", centre=scaled(k)) for k in range(4, 6)])
    fake_run(tmp_path / "run", rows, metrics=False)
    result = analyse_runs([tmp_path / "run"])
    assert sorted(q.size for q in result.equilibria) == [1, 1, 1, 1, 1, 2]
    assert {q.members: q.verified_as for q in result.equilibria}["v0,v1"] == META
    line = result.report.read_text().splitlines()[6]
    assert line == ("Unseen equilibria (Chao1 over the 2 outcomes verified in at least one sense, 5 others left out; "
                    "0 clusters seen once, 1 seen twice): about 0.0 more than the 1 seen (total 1.0, 95% interval "
                    "1.0–1.0).")


@pytest.mark.parametrize("verdict_type", ["inconclusive", "violated"])
def test_no_sense_from_point_estimates_alone(verdict_type):
    row = point_only("p")
    row.update({f"verdict_type_{t}": verdict_type for t in TYPES})
    assert row["is_epsilon_equilibrium"] and all(row[f"passes_{t}"] for t in TYPES)
    assert verified_as(row, TYPES) == NOT_VERIFIED
