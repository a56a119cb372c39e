"""Run directories -> equilibria table, plots and ``report.md`` (from Parquet files alone).

:func:`analyse_runs` is what ``python -m analysis`` and the end of a search
call. With one run directory it writes into it; with several (read together
as one ``pyarrow.dataset``, a ``run`` column telling them apart) it writes to
``out``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.dataset as ds

from analysis import plots
from analysis.cluster import INVALID, NOISE, AnalysisError, EquilibriumRow, cluster_outcomes
from analysis.schema import Schema
from analysis.stats import chao1
from analysis.verification import META, NASH, NOT_VERIFIED, verified_as
from pbt_econ.config.load import RunConfig, load_config
from pbt_econ.core.errors import ConfigError
from pbt_econ.core.files import atomic_write_text
from pbt_econ.core.rundir import RunDir
from pbt_econ.core.tables import flatten, read_table, rows_to_table, write_table
from pbt_econ.equilibrium.verdicts import VERDICTS

__all__ = ["AnalysisResult", "analyse_runs"]


@dataclass(frozen=True)
class AnalysisResult:
    out_dir: Path
    equilibria: list[EquilibriumRow]
    plots: list[plots.PlotInfo]
    r2: dict[str, float]
    report: Path


def _read_many(run_dirs: list[Path], file_of: Callable[[RunDir], Path], kind: str,
               required: bool) -> list[dict[str, Any]]:
    """Rows of one table (``file_of(layout)``) from every run directory (one dataset), with a ``run`` column if several."""
    files = []
    for d in run_dirs:
        path = file_of(RunDir(d))
        if path.exists():
            read_table(path, kind)  # checks kind and schema version, with a clear error
            files.append(path)
        elif required:
            raise AnalysisError(f"{path}: missing; is {d} a finished search run directory?")
    if not files:
        return []
    rows: list[dict[str, Any]] = []
    dataset = ds.dataset([str(f) for f in files], format="parquet")
    for fragment in dataset.get_fragments():
        table: pa.Table = fragment.to_table()
        run = Path(fragment.path).parent.name if len(run_dirs) > 1 else ""
        for row in table.to_pylist():
            row["run"] = run
            rows.append(row)
    return rows


def _config_of(run_dir: Path) -> RunConfig | None:
    """The run's config; ``None`` when it has none. A config.yaml that does not load is an error, not
    a silent fall-back to defaults (which would misdescribe the run)."""
    path = RunDir(run_dir).config
    if not path.exists():
        return None
    try:
        return load_config(path)
    except ConfigError as exc:
        raise AnalysisError(f"{path}: the run's config does not load, so the run cannot be described: {exc}") from None


def analyse_runs(run_dirs: list[Path], out: Path | None = None) -> AnalysisResult:
    """Cluster the outcomes of ``run_dirs``; write equilibria, labelled outcomes, plots and the report."""
    run_dirs = [Path(d) for d in run_dirs]
    if not run_dirs:
        raise AnalysisError("no run directory given")
    for d in run_dirs:
        if not d.is_dir():
            raise AnalysisError(f"{d}: not a directory")
    out = Path(out) if out is not None else (run_dirs[0] if len(run_dirs) == 1 else Path("runs") / "combined")
    if out.exists() and not out.is_dir():
        raise AnalysisError(f"--out {out}: exists and is not a directory")
    config = _config_of(run_dirs[0]) or RunConfig()
    schema = Schema.of(config)
    layout = RunDir(out)
    layout.plots.mkdir(parents=True, exist_ok=True)

    outcomes = _read_many(run_dirs, lambda d: d.outcomes, "outcomes", required=True)
    metrics = _read_many(run_dirs, lambda d: d.metrics, "metrics", required=False)
    lineage = _read_many(run_dirs, lambda d: d.lineage, "lineage", required=False)
    result = cluster_outcomes(outcomes, config.analysis, schema)

    labelled = []
    for row, label, note in zip(outcomes, result.labels, result.notes):
        row = {k: v for k, v in row.items() if k not in ("cluster", "cluster_note")}
        if len(run_dirs) == 1:
            row.pop("run", None)
        row_regime = schema.regime(row) if label != INVALID else "invalid"
        labelled.append({**row, "cluster": int(label), "cluster_note": note, "regime": row_regime,
                         "verified_as": verified_as(row, schema.types)})
    write_table(rows_to_table(labelled, "outcomes"), layout.outcomes)
    write_table(result.equilibria, layout.equilibria, "equilibria", EquilibriumRow)

    eq_rows = [flatten(e) for e in result.equilibria]
    tolerance = config.best_response.tolerance
    drawn = [
        plots.spectrum(outcomes, result.labels, layout.plots / "spectrum.png", schema),
        plots.profiles(eq_rows, schema.descriptors, layout.plots / "profiles.png"),
        plots.epsilon_bars(eq_rows, tolerance, layout.plots / "epsilon.png", schema.types),
    ]
    r2: dict[str, float] = {}
    if schema.relations:
        relations, r2 = plots.paper_relations(outcomes, result.labels, layout.plots / "relations.png", schema)
        drawn.append(relations)
    if metrics:
        drawn.append(plots.training_curves(metrics, lineage, layout.plots / "training_curves.png", schema))
    archive = _read_many(run_dirs, lambda d: d.archive, "archive", required=False)
    probes = _read_many(run_dirs, lambda d: d.probes, "probes", required=False)
    if archive and len(run_dirs) == 1:
        drawn.append(plots.coverage(archive, config.population.archive.bins, layout.plots / "coverage.png",
                                    schema.labels))
    if probes:
        drawn.append(plots.discovery(probes, config.analysis, layout.plots / "discovery.png", schema))
    solved = _read_many(run_dirs, lambda d: d.solve, "solve", required=False)
    if solved and len(run_dirs) == 1:
        from analysis.convergence import solver_convergence

        drawn.append(solver_convergence(solved, layout.plots / "solve_convergence.png"))
    r2_ci = {f"{xk}~{yk}": plots.relation_r2(outcomes, xk, yk)[1:] for xk, yk, _ in schema.relations}
    report = _write_report(out, run_dirs, config, schema, outcomes, result, drawn, r2, r2_ci)
    return AnalysisResult(out, result.equilibria, drawn, r2, report)


def _fmt(v: Any) -> str:
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return "–" if math.isnan(v) else f"{v:.4g}"
    return str(v)


def _unseen_line(outcomes, labels: list[int], types) -> str:
    """How many equilibria the search has likely not seen: Chao1 over the clusters' counts of outcomes
    verified in at least one sense (:func:`~analysis.verification.verified_as`); unverified outcomes never
    count, and with fewer than 2 verified outcomes in clusters there is no estimate."""
    verified = [lbl for o, lbl in zip(outcomes, labels) if lbl >= 0 and verified_as(o, types) != NOT_VERIFIED]
    left_out = len(outcomes) - len(verified)
    if len(verified) < 2:
        return (f"Unseen equilibria: no estimate ({len(verified)} outcome{'' if len(verified) == 1 else 's'} "
                f"verified in at least one sense, in a cluster; Chao1 needs at least 2 and never counts the "
                f"{left_out} others).")
    counts = [verified.count(c) for c in sorted(set(verified))]
    estimate, low, high = chao1(counts)
    f1, f2 = counts.count(1), counts.count(2)
    return (f"Unseen equilibria (Chao1 over the {len(verified)} outcomes verified in at least one sense, "
            f"{left_out} others left out; {f1} clusters seen once, {f2} seen twice): about "
            f"{estimate - len(counts):.1f} more than the {len(counts)} seen (total {estimate:.1f}, "
            f"95% interval {low:.1f}–{high:.1f}).")


def _unconverged(outcomes, schema: Schema) -> int:
    """Outcomes with a checked type whose trained deviation had not converged (``converged_<type>``)."""
    checked = [t for t in schema.types]
    return sum(any(o.get(f"converged_{t}") is False and o.get(f"epsilon_abs_{t}") is not None
                   and o.get(f"epsilon_abs_{t}") == o.get(f"epsilon_abs_{t}") for t in checked) for o in outcomes)


def _describe_economy(config: RunConfig, schema: Schema) -> str:
    e = config.economy
    agents = ", ".join(f"{n} {t}" for t, n in schema.counts.items())
    parts = [f"kind `{getattr(e, 'kind', '?')}`", agents]
    if hasattr(e, "open_economy"):
        parts.append("open economy" if e.open_economy else "closed economy")
    if hasattr(e, "episode_length"):
        parts.append(f"episode length {e.episode_length}")
    return "; ".join(parts)


def _counts_line(outcomes, schema: Schema, result, criterion: str) -> str:
    """The report's first line: outcomes, ε-equilibria (Nash), ε-meta-equilibria only (type-level), clusters.

    Each outcome counts once, by :func:`~analysis.verification.verified_as` (verdicts, never point
    estimates); a cluster is an equilibrium only when every member is (``verified_as``)."""
    senses = [verified_as(o, schema.types) for o in outcomes]
    point_only = sum(s == NOT_VERIFIED and bool(o.get("is_epsilon_equilibrium")) for s, o in zip(senses, outcomes))
    kinds = [q.verified_as for q in result.equilibria]
    return (f"{len(outcomes)} outcomes: {senses.count(NASH)} ε-equilibria (Nash: every unilateral check verified), "
            f"{senses.count(META)} ε-meta-equilibria only (type-level checks verified, the paper's sense), "
            f"{senses.count(NOT_VERIFIED)} verified in neither sense"
            + (f" ({point_only} of them within tolerance on point estimates alone)" if point_only else "") + "; "
            f"{len(result.equilibria)} clusters {criterion}: {kinds.count(NASH)} ε-equilibria, "
            f"{kinds.count(META)} ε-meta-equilibria only, {kinds.count(NOT_VERIFIED)} not verified.")


def _write_report(out: Path, run_dirs: list[Path], config: RunConfig, schema: Schema, outcomes, result, drawn, r2,
                  r2_ci) -> Path:
    pop = config.population
    a = config.analysis
    row_regimes = [schema.regime(o) for o, lbl in zip(outcomes, result.labels) if lbl != INVALID]
    regimes = sorted(set(row_regimes))
    verified_regimes = sorted({schema.regime(o) for o, lbl in zip(outcomes, result.labels)
                               if lbl != INVALID and verified_as(o, schema.types) != NOT_VERIFIED})
    criterion = ("distinct beyond evaluation noise" if a.method == "noise"
                 else f"distinct by {a.method} clustering")
    lines = [
        f"# pbt-econ report: {', '.join(d.name for d in run_dirs)}",
        "",
        _counts_line(outcomes, schema, result, criterion),
        "",
        f"{len(regimes)} regimes. Verdicts with 95% intervals (Nash: unilateral deviations where measured): "
        + ", ".join(f"{sum(o.get('verdict') == v for o in outcomes)} {v}" for v in VERDICTS) + "; "
        f"{_unconverged(outcomes, schema)} rest on a best response that had not converged.",
        "",
        _unseen_line(outcomes, result.labels, schema.types),
        "",
        f"Regimes: {', '.join(f'{r} ({row_regimes.count(r)})' for r in regimes)}; "
        f"with an outcome verified in at least one sense: {', '.join(verified_regimes) or 'none'}. "
        "Rules, first match wins: " + "; ".join(f"**{r.name}**: {r.rule}" for r in schema.regimes) + ".",
        "",
        "## Configuration",
        "",
        f"- economy: {_describe_economy(config, schema)}",
        f"- population: {pop.size} members x {pop.episodes} episodes, segments of {pop.ready_interval}; "
        f"curricula {', '.join(c.name for c in config.member_curricula)}; fitness `{pop.fitness}`; "
        f"explore `{pop.explore}`"
        + (f"; quality-diversity archive over {pop.archive.x} x {pop.archive.y} ({pop.archive.bins}x{pop.archive.bins} "
           f"cells, probes of {pop.archive.probe_episodes} episodes per type; stalled members restart from sparse "
           f"cells' elites)" if pop.archive.enabled else ""),
        f"- best response: {config.best_response.episodes} episodes per type, tolerances "
        + ", ".join(f"{k} {v:g}" for k, v in config.best_response.tolerance.items()),
        f"- clustering: {config.analysis.method}"
        + (f", average linkage, distance threshold {config.analysis.distance_threshold:g} per descriptor (standardised)"
           if config.analysis.method == "agglomerative" else f", min cluster size {config.analysis.min_cluster_size}"),
        "",
        "## Clusters of outcomes (called equilibria only where verified: `verified_as`)",
        "",
    ]
    if a.method == "noise":
        at = lines.index("## Configuration")
        lines[at:at] = [
            f"Criterion: two outcomes are one equilibrium unless a descriptor differs beyond its evaluation noise "
            f"({a.eval_seeds} evaluation seeds per outcome; z-test per descriptor, Holm-corrected at α = {a.alpha:g}) "
            f"and by more than {a.min_relative_difference:.0%} of its size; equilibria are average-linkage "
            f"clusters of that relation (groups merge while fewer than half their cross pairs are distinct). Stability: clusterwise bootstrap Jaccard over {a.bootstrap} resamples.",
            "",
        ]
    cols = (["cluster", "size", "regime", "stability"] + list(schema.report_columns)
            + ["trivial_share", "epsilon_max_rel", "verified_as", "representative"])
    lines.append("| " + " | ".join(cols) + " |")
    lines.append("|" + "---|" * len(cols))
    for q in result.equilibria:
        flat = flatten(q)
        lines.append("| " + " | ".join(_fmt(flat[c]) for c in cols) + " |")
    lines.append("")
    odd = [(o, lbl, note) for o, lbl, note in zip(outcomes, result.labels, result.notes) if lbl in (NOISE, INVALID)]
    if odd:
        lines += ["Outcomes not in any cluster:", ""]
        lines += [f"- {o.get('run', '') and o['run'] + '/'}{o['member_id']}: {note}" for o, _, note in odd]
        lines.append("")
    unchecked = [o["member_id"] for o in outcomes if o.get("epsilon_max_rel") is None
                 or (isinstance(o.get("epsilon_max_rel"), float) and math.isnan(o["epsilon_max_rel"]))]
    if unchecked:
        lines += [f"Members without best-response results (never counted as ε-verified): {', '.join(unchecked)}", ""]
    if r2:
        lines += ["## Relations across outcomes (declared by the economy)", "",
                  "r² of a least-squares line across all outcomes, with a percentile bootstrap 95% interval "
                  "(outcomes resampled, 1000 resamples).", "",
                  "| relation | r² | 95% interval |", "|---|---|---|"]
        lines += [f"| {k.replace('~', ' vs ')} | {_fmt(v)} | {_fmt(r2_ci[k][0])}–{_fmt(r2_ci[k][1])} |"
                  for k, v in r2.items()]
    lines += ["", "## Plots", ""]
    for p in drawn:
        rel = os.path.relpath(p.path, out)
        lines += [f"### {p.title}", "", f"![{p.title}]({rel})", ""]
    lines += ["## Files", "",
              "- `outcomes.parquet`: one row per member (descriptors, epsilons, verdicts, `verified_as`, cluster label)",
              "- `equilibria.parquet`: one row per cluster",
              "- `metrics.parquet`, `lineage.parquet`, `best_response.parquet`: training, PBT events, deviations",
              "- `archive.parquet`, `probes.parquet` (quality-diversity search): the archive's cells, every probe",
              "- columns and units: docs/outputs.md", ""]
    return atomic_write_text(RunDir(out).report, "\n".join(lines))
