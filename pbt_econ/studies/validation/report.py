"""``validation.md`` and the plots of ``python -m pbt_econ.validate`` from its metric rows.

Generic over economies: per economy, its known answer's targets (``KnownAnswer.targets`` judged on the
measured figures of every seed, never tuned), a table of every metric (per seed, the interval over seeds
and the known value), the known profiles' rows, and the known answer's figure (``KnownAnswer.plot``)
when it declares one, saved as ``<economy>_validation.png``.

Intervals over seeds: mean +- 1.96 sd / sqrt(n) for n >= 3 seeds, the min-max range for fewer.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

from pbt_econ.core.files import atomic_write_text
from pbt_econ.core.stats import ci95

__all__ = ["interval", "metrics_over_seeds", "write_report"]


def interval(values: list[float]) -> str:
    """``mean [lo, hi]`` over seeds (95% normal interval for n >= 3, min-max below)."""
    v = [x for x in values if math.isfinite(x)]
    if not v:
        return "n/a"
    n, mean = len(v), sum(v) / len(v)
    if n < 3:
        return f"{mean:.4g} (min-max {min(v):.4g}-{max(v):.4g}, n={n})"
    half = ci95(v)
    return f"{mean:.4g} ± {half:.2g} (95%, n={n})"


def metrics_over_seeds(rows: list[dict], economy: str) -> dict[str, list[float]]:
    """``{metric: [value per seed]}`` of one economy, seeds in increasing order (profile rows: seed -1 first)."""
    out: dict[str, list[float]] = {}
    for r in sorted((r for r in rows if r["economy"] == economy), key=lambda r: r["seed"]):
        out.setdefault(r["metric"], []).append(float(r["value"]))
    return out


def _known(rows: list[dict], economy: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for r in rows:
        if r["economy"] == economy:
            out.setdefault(r["metric"], float(r["known"]))
    return out


def _g(x: float) -> str:
    return f"{x:.4g}" if math.isfinite(x) else "—"


def _section(economy: str, entry, rows: list[dict], lines: list[str]) -> tuple[int, int]:
    """Append the economy's section; returns ``(targets met, targets)``."""
    mine = [r for r in rows if r["economy"] == economy]
    seeds = sorted({r["seed"] for r in mine if r["seed"] >= 0})
    per_seed = metrics_over_seeds([r for r in mine if r["seed"] >= 0], economy)
    profile = {r["metric"]: r["value"] for r in mine if r["seed"] < 0}
    known = _known(mine, economy)
    lines += [f"## {economy}", ""]
    if getattr(entry, "description", ""):
        lines += [f"{entry.description}. Seeds {', '.join(map(str, seeds))}.", ""]
    lines += ["### Targets", ""]
    met = total = 0
    try:
        targets = entry.known_answer.targets({**per_seed, **{k: [v] for k, v in profile.items()}})
    except Exception as exc:  # noqa: BLE001 - a plug-in's rule; the report must still be written
        targets = []
        lines.append(f"- **MISSED** — the targets could not be judged: {exc!r}")
        total += 1
    for t in targets:
        lines.append(f"- **{'met' if t.met else 'MISSED'}** — {t.name}: {t.measured}")
        met, total = met + bool(t.met), total + 1
    lines += ["", "### Metrics", "", "| metric | per seed | over seeds | known |", "|---|---|---|---|"]
    for metric, values in per_seed.items():
        lines.append(f"| {metric} | {', '.join(_g(v) for v in values)} | {interval(values)} | {_g(known[metric])} |")
    if profile:
        lines += ["", "Known profiles, checked by the framework's own best response (a member built from seed "
                  f"{seeds[0] if seeds else 0}'s config, the profile's types set to it; money per episode):", "",
                  "| metric | value |", "|---|---|"]
        lines += [f"| {k} | {_g(v)} |" for k, v in profile.items()]
    lines.append("")
    return met, total


def _plot(economy: str, entry, rows: list[dict], out: Path) -> Path | None:
    plot = entry.known_answer.plot
    if plot is None:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    try:
        plot(metrics_over_seeds([r for r in rows if r["seed"] >= 0], economy), ax)
        fig.tight_layout()
        path = out / f"{re.sub(r'[^A-Za-z0-9_.-]', '_', economy)}_validation.png"
        fig.savefig(path, dpi=100)
    except Exception as exc:  # noqa: BLE001 - a plug-in's figure; the report must still be written
        print(f"[validate] {economy}: the known answer's plot failed ({exc!r})", flush=True)
        path = None
    finally:
        plt.close(fig)
    return path


def run_figures(entry, view, out: Path) -> list[Path]:
    """Save one run's own figures (``KnownAnswer.figures``) as ``out/<economy>_seed<k>_<name>.png``; a figure
    that fails is reported and skipped (the report must still be written)."""
    draw = entry.known_answer.figures
    if draw is None:
        return []
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    stem = re.sub(r"[^A-Za-z0-9_.-]", "_", entry.kind)
    paths = []
    try:
        drawn = draw(view)
    except Exception as exc:  # noqa: BLE001 - a plug-in's figure
        print(f"[validate] {entry.kind} seed {view.seed}: the known answer's figures failed ({exc!r})", flush=True)
        return []
    for name, fig in drawn.items():
        path = out / f"{stem}_seed{view.seed}_{re.sub(r'[^A-Za-z0-9_.-]', '_', name)}.png"
        try:
            fig.savefig(path, dpi=100)
            paths.append(path)
        finally:
            plt.close(fig)
    return paths


def write_report(rows: list[dict], out: Path, entries: dict, walls: dict | None = None,
                 overrides: list[str] | None = None, figures: list[Path] | None = None) -> Path:
    """Write ``out/validation.md`` and the plots; ``entries``: ``{economy: EconomyEntry}``; ``figures``: the
    runs' own figures already saved in ``out`` (:func:`run_figures`), linked after the plots. Returns the path."""
    walls = walls or {}
    lines = ["# Validation against known answers", "",
             f"Overrides: {' '.join(overrides) if overrides else 'none'}. Intervals over seeds: mean ± 1.96·sd/√n "
             "(n ≥ 3), else min–max. Search wall time this invocation: "
             f"{sum(walls.values()):.0f} s (0 for resumed/skipped runs).", ""]
    body: list[str] = []
    summary, plots = [], []
    for economy, entry in entries.items():
        if not any(r["economy"] == economy for r in rows):
            continue
        met, total = _section(economy, entry, rows, body)
        summary.append(f"- {economy}: {met}/{total} targets met")
        if (path := _plot(economy, entry, rows, out)) is not None:
            plots.append(path)
    lines += summary + [""] + body
    plots += list(figures or [])
    lines += ["## Plots", ""] + [f"![{p.stem}]({p.name})" for p in plots] + [""]
    path = out / "validation.md"
    atomic_write_text(path, "\n".join(lines))
    return path
