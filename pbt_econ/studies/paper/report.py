"""The reproduction's report: ``reproduction.md``, ``reproduction.parquet`` and plots.

:func:`write_reproduction` takes the rows of every run (``pbt_econ.reproduce``),
evaluates the claims (:mod:`pbt_econ.studies.paper.claims`) and writes, into ``OUT``:

* ``reproduction.md``: the claims table (paper, ours with a 95% interval, verdict
  and its rule), the paper's Table 3 layout, the fixed-tax table, the curricula
  table and the plots;
* ``reproduction.parquet``: one row per run (columns in docs/outputs.md);
* ``plots/collapse.png``, ``plots/best_response.png``, ``plots/fixed_tax.png``,
  ``plots/relations.png``.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from analysis import plots
from analysis.stats import wilson_interval
from pbt_econ.core.files import atomic_write_text
from pbt_econ.core.rundir import ReproduceDir
from pbt_econ.core.tables import write_table
from pbt_econ.studies.paper.claims import (
    VERDICT_RULES,
    ClaimRow,
    evaluate_claims,
    fixed_tax_table,
    learned,
    learned_welfare,
    table_three,
)

__all__ = ["write_reproduction"]


def _f(x: float, digits: int = 4) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}g}"


def _pct(x: float) -> str:
    return "–" if math.isnan(x) else ("∞" if math.isinf(x) else f"{100 * x:.3g}%")


def _collapse_plot(rows: list[dict[str, Any]], curricula: list[str], path: Path) -> plots.PlotInfo:
    plt = plots._plt()
    fig, ax = plt.subplots(figsize=(7, 4))
    width = 0.38
    drawn = 0
    for k, economy in enumerate(("open", "closed")):
        rates, errs = [], [[], []]
        for c in curricula:
            group = [r for r in learned(rows) if r["curriculum"] == c and r["economy"] == economy]
            s, n = sum(bool(r["collapsed"]) for r in group), len(group)
            lo, hi = wilson_interval(s, n)
            p = s / n if n else math.nan
            rates.append(p)
            errs[0].append(p - lo if n else 0)
            errs[1].append(hi - p if n else 0)
            drawn += n
        xs = np.arange(len(curricula)) + (k - 0.5) * width
        ax.bar(xs, rates, width, yerr=errs, capsize=4, label=f"{economy} economy")
    ax.set_xticks(np.arange(len(curricula)), curricula)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("share of runs collapsed (95% Wilson)")
    ax.legend()
    ax.grid(axis="y", alpha=0.3)
    title = "Claim 1: collapse rate by curriculum"
    ax.set_title(title)
    return plots.save(fig, path, drawn, title)


def _best_response_plot(rows: list[dict[str, Any]], path: Path) -> plots.PlotInfo:
    from pbt_econ.studies.paper.claims import EPSILON_CAP, PAPER_TOLERANCE

    plt = plots._plt()
    fig, axes = plt.subplots(1, 3, figsize=(12, 4))
    drawn = 0
    ok = [r for r in learned(rows) if not r["collapsed"]]
    for ax, t in zip(axes, PAPER_TOLERANCE):
        for k, economy in enumerate(("open", "closed")):
            eps = [min(r[f"epsilon_rel_{t}"], EPSILON_CAP) for r in ok if r["economy"] == economy
                   and r[f"epsilon_rel_{t}"] is not None and not math.isnan(r[f"epsilon_rel_{t}"])]
            eps = [max(e, 1e-5) for e in eps]
            rng = np.random.default_rng(k)
            ax.scatter(k + rng.uniform(-0.15, 0.15, len(eps)), eps, s=20, alpha=0.8)
            drawn += len(eps)
        ax.axhline(PAPER_TOLERANCE[t], color="red", ls="--", lw=1, label="paper's worst-case bound")
        ax.set_yscale("log")
        ax.set_xticks([0, 1], ["open", "closed"])
        ax.set_title(f"{t}")
        ax.set_ylabel("relative best-response gain (floor 1e-5)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    title = "Claim 2: best-response gains of the non-collapsed learned runs"
    fig.suptitle(title)
    return plots.save(fig, path, drawn, title)


def _fixed_tax_plot(rows: list[dict[str, Any]], fixed_curriculum: str, path: Path) -> plots.PlotInfo:
    from analysis.stats import mean_ci

    plt = plots._plt()
    table = fixed_tax_table(rows)
    fig, ax = plt.subplots(figsize=(7, 4))
    labels = [f"{p['income_tax']:g}/{p['corporate_tax']:g}" for p in table]
    ax.errorbar(range(len(table)), [p["welfare"] for p in table],
                yerr=[0 if math.isnan(p["ci95"]) else p["ci95"] for p in table], fmt="o", capsize=4,
                label="government fixed (mean, 95% t)")
    lw = learned_welfare(rows, fixed_curriculum)
    mean, half = mean_ci(lw)
    if lw:
        ax.axhline(mean, color="green", label=f"government learned ({len(lw)} runs)")
        if math.isfinite(half):
            ax.axhspan(mean - half, mean + half, color="green", alpha=0.15)
    ax.set_xticks(range(len(table)), labels, rotation=30)
    ax.set_xlabel("fixed income tax / corporate tax")
    ax.set_ylabel("social welfare per episode")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    title = "Claim 3: welfare with fixed taxes and with the learned government (open economy)"
    ax.set_title(title, fontsize=10)
    return plots.save(fig, path, len(table) + len(lw), title)


def write_reproduction(out: Path, rows: list[dict[str, Any]], preset, scale: str, analysis_config,
                       wall_s: float | None = None, runs_total: int | None = None) -> list[ClaimRow]:
    """Write the report, the table and the plots into ``out``; returns the claim rows."""
    out = Path(out)
    layout = ReproduceDir(out)
    layout.plots.mkdir(parents=True, exist_ok=True)
    write_table(rows, layout.table, "reproduction")
    fixed_curriculum = preset.fixed_tax.curriculum
    claims = evaluate_claims(rows, analysis_config, fixed_curriculum)
    curricula = list(preset.curricula)
    open_rows = [r for r in learned(rows) if r["economy"] == "open" and r["status"] == "ok"]
    drawn = [
        _collapse_plot(rows, curricula, layout.plots / "collapse.png"),
        _best_response_plot(rows, layout.plots / "best_response.png"),
        _fixed_tax_plot(rows, fixed_curriculum, layout.plots / "fixed_tax.png"),
    ]
    if open_rows:
        from analysis.cluster import cluster_outcomes
        from analysis.schema import Schema
        from pbt_econ.config.load import RunConfig

        labels = cluster_outcomes(open_rows, analysis_config).labels
        rbc = Schema.of(RunConfig())  # the reproduction is of the RBC model: its relations
        drawn.append(plots.paper_relations(open_rows, labels, layout.plots / "relations.png", rbc)[0])

    counts = {v: sum(c.verdict == v for c in claims) for v in ("reproduced", "not reproduced", "inconclusive")}
    lines = [
        f"# Reproduction of Curry et al. 2022 at scale `{scale}`",
        "",
        f"{preset.description[:1].upper()}{preset.description[1:]}. {len(rows)} runs"
        + (f" of {runs_total}" if runs_total and runs_total != len(rows) else "")
        + (f", {wall_s / 60:.1f} min wall time" if wall_s is not None else "") + ". "
        f"Verdicts: {counts['reproduced']} reproduced, {counts['not reproduced']} not reproduced, "
        f"{counts['inconclusive']} inconclusive.",
        "",
        "Written by `python -m pbt_econ.reproduce`; every run is a member trained from scratch and measured "
        "like a search's outcomes (docs/reproduce.md). Collapsed = trivial outcome (no work or no production) "
        "or diverged training.",
        "",
        "## Claims",
        "",
        "| claim | statement | paper | ours (95% interval) | runs | verdict | rule |",
        "|---|---|---|---|---|---|---|",
    ]
    lines += [f"| {c.claim} | {c.statement} | {c.paper} | {c.ours} | {c.n} | **{c.verdict}** | {c.rule} |"
              for c in claims]
    lines += ["", "Verdict rules:", ""]
    lines += [f"- **{k}**: {v}." for k, v in VERDICT_RULES.items()]
    lines += ["", "Intervals: Wilson (proportions), Newcombe hybrid score (difference of proportions), percentile "
              "bootstrap with 2000 resamples (medians, worst cases, ratios, r²). Best-response gains are relative "
              "to the type's improvement during training (relative to |before| when training did not improve it), "
              "as in the paper.", ""]

    lines += ["## Best response (the paper's Table 3 layout)", "",
              "Relative best-response gain per agent type and economy, over the non-collapsed learned runs.", "",
              "| type | economy | runs | worst case [95%] | median [95%] | within the paper's bound |",
              "|---|---|---|---|---|---|"]
    for t in table_three(rows):
        lines.append(f"| {t.agent_type} | {t.economy} | {t.n} | {_pct(t.worst)} [{_pct(t.worst_low)}, "
                     f"{_pct(t.worst_high)}] | {_pct(t.median)} [{_pct(t.median_low)}, {_pct(t.median_high)}] "
                     f"| {t.passing}/{t.n} |")
    lines += ["", "## Fixed-tax baselines", "",
              f"Open economy, curriculum `{fixed_curriculum}`, the government fixed at each point, consumers and "
              "firms learning.", "", "| income tax | corporate tax | runs | welfare (mean ± 95% t) |", "|---|---|---|---|"]
    for p in fixed_tax_table(rows):
        lines.append(f"| {p['income_tax']:g} | {p['corporate_tax']:g} | {p['n']} | {_f(p['welfare'])} ± {_f(p['ci95'], 3)} |")
    lw = learned_welfare(rows, fixed_curriculum)
    if lw:
        from analysis.stats import mean_ci

        m, h = mean_ci(lw)
        lines.append(f"| learned | learned | {len(lw)} | {_f(m)} ± {_f(h, 3)} |")
    lines += ["", "## Runs by curriculum and economy", "",
              "| curriculum | economy | runs | collapsed | regimes | welfare (mean) | hours | price | wage |",
              "|---|---|---|---|---|---|---|---|---|"]
    for economy in ("open", "closed"):
        for c in curricula:
            group = [r for r in learned(rows) if r["curriculum"] == c and r["economy"] == economy]
            if not group:
                continue
            ok = [r for r in group if r["status"] == "ok"]
            regimes = sorted({r["regime"] for r in group})
            counts = ", ".join(f"{g} ({sum(r['regime'] == g for r in group)})" for g in regimes)
            means = {k: float(np.mean([r[k] for r in ok])) if ok else math.nan
                     for k in ("welfare", "hours", "price", "wage")}
            lines.append(f"| {c} | {economy} | {len(group)} | {sum(bool(r['collapsed']) for r in group)} | "
                         f"{counts} | {_f(means['welfare'])} | {_f(means['hours'], 3)} | {_f(means['price'], 4)} | "
                         f"{_f(means['wage'], 3)} |")
    lines += ["", "## Plots", ""]
    for p in drawn:
        rel = os.path.relpath(p.path, out)
        lines += [f"### {p.title}", "", f"![{p.title}]({rel})", ""]
    lines += ["## Files", "", "- `reproduction.parquet`: one row per run (columns: docs/outputs.md)",
              "- `runs/<run_id>/`: each run's config, metrics, checkpoint and `result.json`", ""]
    atomic_write_text(layout.report, "\n".join(lines))
    return claims
