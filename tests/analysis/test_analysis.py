"""Analysis: clustering, degenerate inputs, Parquet discipline, plots and the report."""

from __future__ import annotations

import dataclasses
import math
import os
import random

import matplotlib.image
import pyarrow.parquet as pq
import pytest

from analysis.__main__ import main as analysis_main
from analysis.cluster import INVALID, NOISE, AnalysisError, cluster_outcomes
from analysis.plots import fit_r2
from analysis.report import analyse_runs
from analysis.schema import Schema
from pbt_econ.config.load import AnalysisConfig, RunConfig
from pbt_econ.core.tables import SCHEMA_VERSION, TableError, columns_of, flatten, read_table, unflatten, write_table
from pbt_econ.equilibrium.outcomes import OutcomeRow, outcome_groups

DESCRIPTORS = tuple(d.name for d in RunConfig().economy_model.descriptors)
TYPES = RunConfig().agent_types
GROUPS = outcome_groups(DESCRIPTORS, TYPES)
"""The column groups of an outcome row of the default (RBC) economy, for ``unflatten``."""

CENTRES = [
    dict(price=500.0, wage=10.0, hours=100.0, consumption=2.0, production=20.0, exports=15.0, welfare=200.0),
    dict(price=2000.0, wage=40.0, hours=800.0, consumption=9.0, production=120.0, exports=60.0, welfare=900.0),
    dict(price=1200.0, wage=25.0, hours=400.0, consumption=5.0, production=0.0, exports=0.0, welfare=-100.0),
]


def outcome(member_id: str, rng: random.Random | None = None, centre: dict | None = None, **over) -> dict:
    base = dict(price=1000.0, wage=20.0, hours=500.0, consumption=5.0, production=50.0, exports=20.0, stock=10.0,
                income_tax=0.2, corporate_tax=0.4, welfare=500.0, reward_consumer=50.0, reward_firm=1e5,
                gini=0.2, export_share=0.5)
    base.update(centre or {})
    if rng is not None:
        base = {k: v * (1 + rng.gauss(0, 0.02)) for k, v in base.items()}
    base.update({f"{k}_se": 0.02 * abs(v) for k, v in base.items()})  # evaluation noise like the planted spread
    row = dict(member_id=member_id, niche="paper", curriculum="paper", seed=0, episode=100, hyperparameters="",
               is_trivial=False, epsilon_abs_consumer=0.1, epsilon_abs_firm=0.1, epsilon_abs_government=0.1,
               epsilon_rel_consumer=0.01, epsilon_rel_firm=0.05, epsilon_rel_government=0.005,
               passes_consumer=True, passes_firm=True, passes_government=True, epsilon_max_rel=0.05,
               is_epsilon_equilibrium=True, verdict="verified", **base)
    for t in TYPES:
        row.update({f"epsilon_unilateral_{t}": 0.1, f"verdict_type_{t}": "verified", f"verdict_{t}": "verified",
                    f"undertrained_{t}": False, f"converged_{t}": t != "firm" or member_id != "c0m0"})
    row.update(over)
    return row


def planted(n_per: int = 6, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    return [outcome(f"c{c}m{i}", rng, centre) for c, centre in enumerate(CENTRES) for i in range(n_per)]


@pytest.mark.parametrize("method", ["agglomerative", "hdbscan"])
def test_clustering_recovers_planted_clusters(method):
    rows = planted()
    result = cluster_outcomes(rows, AnalysisConfig(method=method, min_cluster_size=3))
    groups = {}
    for row, label in zip(rows, result.labels):
        groups.setdefault(row["member_id"][:2], set()).add(label)
    assert all(len(labels) == 1 for labels in groups.values()), groups
    assert len({next(iter(v)) for v in groups.values()}) == 3
    assert sorted(e.size for e in result.equilibria) == [6, 6, 6]
    rich = next(e for e in result.equilibria if e.centroid.price > 1500)
    assert rich.centroid.welfare == pytest.approx(900, rel=0.05) and rich.is_epsilon_equilibrium
    assert rich.representative in rich.members.split(",")


def test_identical_outcomes_make_one_cluster_and_a_single_outcome_works():
    same = [outcome(f"m{i}") for i in range(5)]
    result = cluster_outcomes(same)
    assert set(result.labels) == {0} and len(result.equilibria) == 1
    assert result.equilibria[0].size == 5 and result.equilibria[0].spread == 0
    one = cluster_outcomes([outcome("solo")])
    assert one.labels == [0] and one.equilibria[0].members == "solo"


def test_scales_to_thousands_of_outcomes():
    rows = planted(n_per=700, seed=1)
    result = cluster_outcomes(rows)
    assert len(result.labels) == 2100 and len(result.equilibria) == 3


def test_degenerate_inputs_are_explicit():
    with pytest.raises(AnalysisError, match="no outcomes to analyse"):
        cluster_outcomes([])
    rows = planted(3) + [outcome("broken", wage=math.nan)]
    result = cluster_outcomes(rows)
    assert result.labels[-1] == INVALID and result.notes[-1] == "non-finite descriptors: wage"
    assert "broken" not in ",".join(e.members for e in result.equilibria)
    # a member without best-response results is never counted as epsilon-verified
    unchecked = [outcome(f"u{i}", epsilon_rel_consumer=math.nan, epsilon_rel_firm=math.nan,
                         epsilon_rel_government=math.nan, epsilon_max_rel=math.nan, is_epsilon_equilibrium=False)
                 for i in range(3)]
    eq = cluster_outcomes(unchecked).equilibria[0]
    assert eq.checked_share == 0 and not eq.is_epsilon_equilibrium and math.isnan(eq.epsilon_max_rel)
    noisy = cluster_outcomes(planted(2) + [outcome("far", price=1e6)], AnalysisConfig(method="hdbscan",
                                                                                     min_cluster_size=2))
    assert noisy.labels[-1] == NOISE and "noise" in noisy.notes[-1]


def test_parquet_round_trip_and_atomic_write(tmp_path, monkeypatch):
    rows = [unflatten(OutcomeRow, outcome(f"m{i}"), GROUPS) for i in range(3)]
    path = tmp_path / "outcomes.parquet"
    write_table(rows, path, "outcomes", OutcomeRow)
    table = read_table(path, "outcomes")
    assert table.schema.metadata[b"pbt_econ.schema_version"].decode() == SCHEMA_VERSION
    # the group fields' columns (descriptors, their SEs, per-type epsilons) are written in place
    expected = [c for f in dataclasses.fields(OutcomeRow) for c in GROUPS.get(f.name, (f.name,))]
    assert table.column_names == expected
    assert set(expected) == set(columns_of(OutcomeRow)) | {c for cols in GROUPS.values() for c in cols}
    def comparable(row):  # NaN-aware: a fresh NaN from Parquet is not the same object as the default
        return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in flatten(row).items()}

    assert [comparable(unflatten(OutcomeRow, r, GROUPS)) for r in table.to_pylist()] == [comparable(r) for r in rows]
    empty = tmp_path / "empty.parquet"
    write_table([], empty, "outcomes", OutcomeRow)
    # an empty table has every column its row type fixes; the economy's group columns need rows (see report)
    assert read_table(empty).column_names == list(columns_of(OutcomeRow))
    with pytest.raises(TableError, match="expected a pbt-econ 'metrics' table"):
        read_table(path, "metrics")

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(pq, "write_table", crash)
    with pytest.raises(OSError, match="disk full"):
        write_table(rows[:1], path, "outcomes", OutcomeRow)
    monkeypatch.undo()
    assert read_table(path, "outcomes").num_rows == 3  # previous file intact
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]


def fake_run(run_dir, rows, metrics=True):
    run_dir.mkdir(parents=True, exist_ok=True)
    write_table([unflatten(OutcomeRow, r, GROUPS) for r in rows], run_dir / "outcomes.parquet", "outcomes", OutcomeRow)
    if metrics:
        mrows = [dict(member_id=r["member_id"], episode=e, welfare=float(e), hours=100.0 + e,
                      price=1000.0) for r in rows for e in (10, 20, 30)]
        write_table(mrows, run_dir / "metrics.parquet", "metrics")
        write_table([dict(segment=0, episode=20, child=rows[0]["member_id"], parent=rows[1]["member_id"],
                          niche="paper", child_fitness=0.0, parent_fitness=1.0, explore="perturb", changes="")],
                    run_dir / "lineage.parquet", "lineage")


def test_plots_and_report(tmp_path):
    rows = planted(4)
    fake_run(tmp_path / "run", rows)
    result = analyse_runs([tmp_path / "run"])
    by_name = {p.path.name: p for p in result.plots}
    assert set(by_name) == {"spectrum.png", "profiles.png", "epsilon.png", "relations.png", "training_curves.png"}
    assert by_name["spectrum.png"].points == 12
    assert by_name["relations.png"].points == 12
    assert by_name["profiles.png"].points == 3
    assert by_name["training_curves.png"].points == 36
    for p in result.plots:
        image = matplotlib.image.imread(p.path)
        assert image.shape[0] > 200 and image.shape[1] > 400
    report = result.report.read_text()
    for p in result.plots:
        assert f"(plots/{p.path.name})" in report
    labelled = read_table(tmp_path / "run" / "outcomes.parquet", "outcomes").to_pylist()
    assert {r["cluster"] for r in labelled} == {0, 1, 2}
    # CENTRES 0 and 1 are active (export share about 0.5: domestic or export-led), 2 produces nothing
    schema = Schema.of(RunConfig())
    regimes = {r["regime"] for r in labelled}
    assert regimes == {schema.regime(r) for r in rows} and "trivial" in regimes and regimes <= {"domestic", "export-led",
                                                                                         "trivial"}
    assert report.splitlines()[2] == ("12 outcomes: 12 ε-equilibria (Nash: every unilateral check verified), "
                                      "0 ε-meta-equilibria only (type-level checks verified, the paper's sense), 0 "
                                      "verified in neither sense; 3 clusters distinct beyond evaluation noise: 3 "
                                      "ε-equilibria, 0 ε-meta-equilibria only, 0 not verified.")
    assert report.splitlines()[4] == (f"{len(regimes)} regimes. Verdicts with 95% intervals (Nash: unilateral deviations "
                                      "where measured): 12 verified, 0 inconclusive, 0 violated; 1 rest on a best response "
                                      "that had not converged.")
    # three equilibria of four verified outcomes each: none seen once, so nothing is estimated unseen
    assert report.splitlines()[6].startswith("Unseen equilibria (Chao1 over the 12 outcomes verified in at least one "
                                             "sense, 0 others left out; 0 clusters seen once, 0 seen twice): about 0.0")
    eq = read_table(tmp_path / "run" / "equilibria.parquet", "equilibria")
    assert eq.num_rows == 3
    assert {"regime", "stability", "price_se", "welfare_se"} <= set(eq.column_names)
    # the relation r^2 of the planted data: price and consumption move together exactly
    assert result.r2["price~consumption"] > 0.9
    x = [1.0, 2.0, 3.0, 4.0]
    assert fit_r2(__import__("numpy").array(x), __import__("numpy").array([2 * v + 1 for v in x]))[2] == pytest.approx(1)


def test_axes_are_labelled(tmp_path):
    from analysis import plots

    rows = planted(2)
    labels = cluster_outcomes(rows).labels
    import matplotlib.pyplot as plt

    captured = {}
    real_savefig = plt.Figure.savefig

    def spy(fig, path, *a, **k):
        captured[str(path)] = [(ax.get_xlabel(), ax.get_ylabel()) for ax in fig.axes]
        return real_savefig(fig, path, *a, **k)

    plt.Figure.savefig = spy
    try:
        schema = Schema.of(RunConfig())
        plots.spectrum(rows, labels, tmp_path / "s.png", schema)
        plots.paper_relations(rows, labels, tmp_path / "r.png", schema)
    finally:
        plt.Figure.savefig = real_savefig
    for axes in captured.values():
        assert all(x and y for x, y in axes)


def test_several_runs_together_and_cli(tmp_path, capsys):
    fake_run(tmp_path / "a", planted(2, seed=1)[:3], metrics=False)
    fake_run(tmp_path / "b", planted(2, seed=2)[3:], metrics=False)
    assert analysis_main([str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(tmp_path / "both")]) == 0
    rows = read_table(tmp_path / "both" / "outcomes.parquet", "outcomes").to_pylist()
    assert {r["run"] for r in rows} == {"a", "b"} and len(rows) == 6
    assert "equilibria" in capsys.readouterr().out
    assert analysis_main([str(tmp_path / "missing")]) == 2
    assert "not a directory" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert analysis_main([str(tmp_path / "empty")]) == 2
    assert "outcomes.parquet: missing" in capsys.readouterr().err


def test_descriptor_columns_are_declared_in_one_place():
    """Only the economy declares the descriptors; every table that carries them holds a ``Descriptors``
    group (directly or through ``EpisodeStats``), which writes them as columns of their own names."""
    import typing

    from analysis.cluster import EquilibriumRow
    from pbt_econ.core.tables import flatten
    from pbt_econ.learning.records import Descriptors, EpisodeStats, MetricsRow

    carriers = {OutcomeRow: "descriptors", EquilibriumRow: "centroid", EpisodeStats: "descriptors",
                MetricsRow: "stats"}
    for row_type, name in carriers.items():
        own = {f.name for f in dataclasses.fields(row_type)}
        assert not own & set(DESCRIPTORS), f"{row_type.__name__} re-declares {sorted(own & set(DESCRIPTORS))}"
        assert not set(DESCRIPTORS) & set(columns_of(row_type)), row_type.__name__  # columns are data
        hint = typing.get_type_hints(row_type)[name]
        assert hint in (Descriptors, EpisodeStats), (row_type.__name__, hint)
    assert typing.get_type_hints(EpisodeStats)["descriptors"] is Descriptors
    row = unflatten(OutcomeRow, outcome("m"), GROUPS)
    assert tuple(row.descriptors) == DESCRIPTORS
    assert [c for c in flatten(row) if c in DESCRIPTORS] == list(DESCRIPTORS)


def test_dynamics_plot_from_a_training_run(tmp_path, capsys):
    from analysis.dynamics import PANELS
    from analysis.dynamics import main as dynamics_main
    from pbt_econ.train import main as train_main

    run = tmp_path / "run"
    assert train_main(["--set", "economy.num_consumers=4", "--set", "training.batch_size=4",
                       "--set", "training.log_every=2", "--episodes", "6", "--out", str(run), "--no-progress"]) == 0
    out = tmp_path / "dyn.png"
    assert dynamics_main([str(run), "--out", str(out)]) == 0
    image = matplotlib.image.imread(out)
    assert image.shape[0] > 500 and image.shape[1] > 800
    metrics = read_table(run / "metrics.parquet", "metrics").column_names
    assert all(key in metrics for key, _ in PANELS)  # every panel reads a column training writes
    assert dynamics_main([str(tmp_path / "nothing"), "--out", str(out)]) == 2
    assert "metrics.parquet: file not found" in capsys.readouterr().err


def test_only_verified_outcomes_are_called_equilibria():
    from analysis.cluster import meta_verified, nash_verified

    types = ("firm", "government")
    nash = {"verdict": "verified", "verdict_type_firm": "violated", "verdict_type_government": "verified",
            "epsilon_abs_firm": 1.0, "epsilon_abs_government": 0.0}
    meta = {"verdict": "violated", "verdict_type_firm": "verified", "verdict_type_government": "verified",
            "epsilon_abs_firm": 1.0, "epsilon_abs_government": 0.0}
    unchecked = {"verdict": "inconclusive", "verdict_type_firm": "verified", "epsilon_abs_firm": float("nan")}
    assert nash_verified(nash) and not meta_verified(nash, types)  # a coalition gains, no single agent does
    assert meta_verified(meta, types) and not nash_verified(meta)  # the paper's sense only
    assert not nash_verified(unchecked) and not meta_verified(unchecked, types)  # nothing checked: nothing verified
