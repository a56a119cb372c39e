"""Plots of a run (PNG, readable without the code). matplotlib is imported lazily.

Each function takes plain rows (dicts from Parquet), writes one PNG, and
returns a :class:`PlotInfo` saying how many points it drew (tests check it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from analysis.verification import META, NASH, NOT_VERIFIED, verified_as

__all__ = ["MARKERS", "PlotInfo", "coverage", "discovery", "epsilon_bars", "fit_r2", "paper_relations", "profiles",
           "relation_r2", "spectrum", "spectrum_markers", "training_curves"]

MARKERS = {NASH: "o", META: "s", NOT_VERIFIED: "x"}
"""The spectrum's marker per :func:`analysis.verification.verified_as`: filled circle (ε-equilibrium, Nash),
filled square (ε-meta-equilibrium only), cross (not verified, whatever the point estimates say)."""

@dataclass(frozen=True)
class PlotInfo:
    path: Path
    points: int
    title: str


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save(fig, path: Path, points: int, title: str) -> PlotInfo:
    """Lay out, write and close a figure; what every plot function returns."""
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    _plt().close(fig)
    return PlotInfo(path, points, title)


def _colour(label: int):
    plt = _plt()
    return "lightgrey" if label < 0 else plt.get_cmap("tab10")(label % 10)


def fit_r2(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """Least-squares line ``y = a x + b`` and its r²; NaN r² with fewer than 3 points or constant x/y."""
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return math.nan, math.nan, math.nan
    a, b = np.polyfit(x, y, 1)
    resid = y - (a * x + b)
    r2 = 1.0 - (resid**2).sum() / ((y - y.mean()) ** 2).sum()
    return float(a), float(b), float(r2)


def spectrum_markers(outcomes: list[dict[str, Any]], types) -> list[str]:
    """Each outcome's spectrum marker (:data:`MARKERS`): by its verdicts, never by its point estimates."""
    return [MARKERS[verified_as(row, types)] for row in outcomes]


def spectrum(outcomes: list[dict[str, Any]], labels: list[int], path: Path, schema) -> PlotInfo:
    """The equilibrium spectrum over the economy's two spectrum axes (the RBC: price vs hours and
    income tax vs welfare), coloured by cluster. Marker by :func:`spectrum_markers`: filled circles
    ε-equilibria (Nash verdict verified), filled squares ε-meta-equilibria only, crosses not verified.
    """
    plt = _plt()
    LABELS = schema.labels
    markers = spectrum_markers(outcomes, schema.types)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
    drawn = 0
    for ax, (xk, yk) in zip(axes, schema.spectrum_axes[:2]):
        for row, label, marker in zip(outcomes, labels, markers):
            x, y = row[xk], row[yk]
            if not (np.isfinite(x) and np.isfinite(y)):
                continue
            verified = marker != MARKERS[NOT_VERIFIED]
            ax.scatter([x], [y], color=_colour(label), marker=marker, s=60,
                       edgecolors="black" if verified else None, linewidths=0.5)
            drawn += 1
        ax.set_xlabel(LABELS[xk])
        ax.set_ylabel(LABELS[yk])
        ax.grid(alpha=0.3)
    handles = [plt.Line2D([], [], color=_colour(c), marker="o", linestyle="", label=f"cluster {c}")
               for c in sorted(set(labels)) if c >= 0]
    handles += [plt.Line2D([], [], color="black", marker=MARKERS[NASH], linestyle="",
                           label="ε-equilibrium (Nash verdict verified)"),
                plt.Line2D([], [], color="black", marker=MARKERS[META], linestyle="",
                           label="ε-meta-equilibrium (type-level verdicts verified)"),
                plt.Line2D([], [], color="black", marker=MARKERS[NOT_VERIFIED], linestyle="",
                           label="not verified (point estimates alone never count)")]
    axes[1].legend(handles=handles, fontsize=8, loc="best")
    title = "Equilibrium spectrum (one point per member outcome)"
    fig.suptitle(title)
    return save(fig, path, drawn // 2, title)


def profiles(equilibria: list[dict[str, Any]], descriptors: tuple[str, ...], path: Path) -> PlotInfo:
    """One line per cluster over the standardised centroid of every descriptor."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(11, 4.5))
    if equilibria:
        M = np.array([[e[d] for d in descriptors] for e in equilibria], dtype=float)
        mean = np.nanmean(M, axis=0)
        std = np.nanstd(M, axis=0)
        std[~np.isfinite(std) | (std == 0)] = 1.0
        Z = (M - mean) / std
        for e, z in zip(equilibria, Z):
            ax.plot(range(len(descriptors)), z, marker="o", color=_colour(e["cluster"]),
                    label=f"cluster {e['cluster']} (n={e['size']}"
                          f"{', ' + e['verified_as'] if e['verified_as'] != NOT_VERIFIED else ''})")
        ax.legend(fontsize=8)
    ax.set_xticks(range(len(descriptors)), descriptors, rotation=40, ha="right")
    ax.set_ylabel("centroid, standardised across clusters")
    ax.axhline(0, color="grey", lw=0.5)
    title = "Profile of each equilibrium"
    ax.set_title(title)
    return save(fig, path, len(equilibria), title)


def training_curves(metrics: list[dict[str, Any]], lineage: list[dict[str, Any]], path: Path, schema) -> PlotInfo:
    """The economy's welfare and two spectrum descriptors per member over episodes (the RBC: welfare,
    hours, price); PBT exploits marked with triangles."""
    plt = _plt()
    LABELS = schema.labels
    axes_keys = [schema.fitness] + [k for pair in schema.spectrum_axes for k in pair if k != schema.fitness]
    keys = tuple(dict.fromkeys(axes_keys))[:3]
    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    members = sorted({_member(r) for r in metrics})
    cmap = plt.get_cmap("tab20")
    drawn = 0
    for i, m in enumerate(members):
        rows = sorted((r for r in metrics if _member(r) == m), key=lambda r: r["episode"])
        episodes = [r["episode"] for r in rows]
        events = {(e["episode"]) for e in lineage if _member(e, "child") == m}
        for ax, k in zip(axes, keys):
            ax.plot(episodes, [r[k] for r in rows], color=cmap(i % 20), lw=1.2, label=m)
            for ep in events:
                near = [r for r in rows if r["episode"] == ep]
                if near:
                    ax.scatter([ep], [near[0][k]], marker="v", color="black", s=40, zorder=3)
        drawn += len(rows)
    for ax, k in zip(axes, keys):
        ax.set_xlabel("episode")
        ax.set_ylabel(LABELS.get(k, k))
        ax.grid(alpha=0.3)
    if members:
        axes[0].legend(fontsize=7, ncol=2)
    title = "Training curves (▼ = PBT exploit: weights copied from a better member)"
    fig.suptitle(title)
    return save(fig, path, drawn, title)


def _member(row: dict[str, Any], key: str = "member_id") -> str:
    return f"{row['run']}/{row[key]}" if row.get("run") else row[key]


def epsilon_bars(equilibria: list[dict[str, Any]], tolerance: dict[str, float], path: Path,
                 types: tuple[str, ...]) -> PlotInfo:
    """Worst relative best-response gain per type per cluster, with the tolerances as dashed lines."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(9, 4.5))
    width = 0.8 / len(types)
    drawn = 0
    for j, t in enumerate(types):
        xs = [i + j * width for i in range(len(equilibria))]
        ys = [e[f"epsilon_rel_{t}"] for e in equilibria]
        ax.bar(xs, [0 if not np.isfinite(y) else y for y in ys], width=width, label=t,
               color=plt.get_cmap("Set2")(j))
        drawn += sum(np.isfinite(y) for y in ys)
        if t in tolerance:
            ax.axhline(tolerance[t], color=plt.get_cmap("Set2")(j), ls="--", lw=1)
    ax.set_xticks([i + width for i in range(len(equilibria))], [f"cluster {e['cluster']}" for e in equilibria])
    ax.set_ylabel("ε: best-response gain / training improvement")
    ax.set_yscale("symlog", linthresh=0.01)
    ax.legend()
    title = "Best-response gain per agent type (dashed: tolerance)"
    ax.set_title(title)
    return save(fig, path, int(drawn), title)


def relation_r2(outcomes: list[dict[str, Any]], xk: str, yk: str, resamples: int = 1000,
                seed: int = 0) -> tuple[float, float, float]:
    """r² of the least-squares line of ``yk`` on ``xk`` across outcomes, with a percentile bootstrap 95%
    interval (outcomes resampled with replacement; resamples where r² is undefined are dropped)."""
    from analysis.stats import bootstrap_ci

    pairs = [(float(o[xk]), float(o[yk])) for o in outcomes
             if o.get(xk) is not None and o.get(yk) is not None and math.isfinite(o[xk]) and math.isfinite(o[yk])]

    def r2_of(sample) -> float:
        if len(sample) < 3:
            return math.nan
        arr = np.array(sample, dtype=float)
        return fit_r2(arr[:, 0], arr[:, 1])[2]

    r2 = r2_of(pairs)
    if not math.isfinite(r2):
        return math.nan, math.nan, math.nan
    low, high = bootstrap_ci(pairs, r2_of, resamples=resamples, seed=seed)
    return r2, low, high


def paper_relations(outcomes: list[dict[str, Any]], labels: list[int], path: Path,
                    schema) -> tuple[PlotInfo, dict[str, float]]:
    """The economy's relations across outcomes (the RBC: the paper's four), each with a fitted line and its r²."""
    plt = _plt()
    LABELS = schema.labels
    relations = schema.relations
    fig, axes = plt.subplots(1, len(relations), figsize=(4.25 * len(relations), 4), squeeze=False)
    axes = axes[0]
    r2s = {}
    drawn = 0
    for ax, (xk, yk, caption) in zip(axes, relations):
        x = np.array([o[xk] for o in outcomes], dtype=float)
        y = np.array([o[yk] for o in outcomes], dtype=float)
        ok = np.isfinite(x) & np.isfinite(y)
        ax.scatter(x[ok], y[ok], c=[_colour(lbl) for lbl, k in zip(labels, ok) if k], s=35)
        drawn += int(ok.sum())
        a, b, r2 = fit_r2(x, y)
        if math.isfinite(r2):
            xs = np.linspace(x[ok].min(), x[ok].max(), 20)
            ax.plot(xs, a * xs + b, color="black", lw=1)
        r2s[f"{xk}~{yk}"] = r2
        ax.set_title(f"r² = {r2:.2f}" if math.isfinite(r2) else "r² undefined (too few points)", fontsize=10)
        ax.set_xlabel(LABELS.get(xk, xk))
        ax.set_ylabel(LABELS.get(yk, yk))
        ax.text(0.02, 0.98, caption, transform=ax.transAxes, fontsize=7, va="top")
        ax.grid(alpha=0.3)
    title = "Relations across outcomes (declared by the economy)"
    fig.suptitle(title)
    return save(fig, path, drawn // max(1, len(relations)), title), r2s


def coverage(archive: list[dict[str, Any]], bins: int, path: Path, labels: dict[str, str] | None = None) -> PlotInfo:
    """Heatmap of a quality-diversity archive: each filled cell coloured by its elite's welfare,
    marked ✓ when the search's archive counted it verified (``verified`` of ``archive.parquet``: the
    probe's check verified it by its verdicts), with its number of visits."""
    plt = _plt()
    LABELS = labels or {}
    fig, ax = plt.subplots(figsize=(6.5, 5.2))
    grid = np.full((bins, bins), np.nan)
    for r in archive:
        grid[r["cell_y"], r["cell_x"]] = r["welfare"]
    xd = archive[0]["x_descriptor"] if archive else "x"
    yd = archive[0]["y_descriptor"] if archive else "y"
    if archive:  # the grid's ranges, from any cell's bounds
        r0 = archive[0]
        wx0, wy0 = r0["x_high"] - r0["x_low"], r0["y_high"] - r0["y_low"]
        xr = (r0["x_low"] - r0["cell_x"] * wx0, r0["x_low"] + (bins - r0["cell_x"]) * wx0)
        yr = (r0["y_low"] - r0["cell_y"] * wy0, r0["y_low"] + (bins - r0["cell_y"]) * wy0)
    else:
        xr, yr = (0.0, 1.0), (0.0, 1.0)
    im = ax.imshow(grid, origin="lower", extent=(xr[0], xr[1], yr[0], yr[1]), aspect="auto", cmap="viridis")
    fig.colorbar(im, ax=ax, label="welfare of the cell's elite")
    wx, wy = (xr[1] - xr[0]) / bins, (yr[1] - yr[0]) / bins
    for r in archive:
        cx, cy = xr[0] + (r["cell_x"] + 0.5) * wx, yr[0] + (r["cell_y"] + 0.5) * wy
        ax.text(cx, cy, f"{'✓ ' if r['verified'] else ''}{r['visits']}", ha="center", va="center", fontsize=8,
                color="white")
    ax.set_xticks(np.linspace(xr[0], xr[1], bins + 1))
    ax.set_yticks(np.linspace(yr[0], yr[1], bins + 1))
    ax.grid(color="white", alpha=0.4)
    ax.set_xlabel(LABELS.get(xd, xd))
    ax.set_ylabel(LABELS.get(yd, yd))
    title = (f"Archive coverage: {len(archive)} of {bins * bins} cells filled "
             "(number: visits; ✓: verified by the probe's verdicts)")
    ax.set_title(title.replace(" (", "\n(", 1), fontsize=9)
    return save(fig, path, len(archive), title)


def discovery_counts(probes: list[dict[str, Any]], config, schema) -> list[tuple[int, int, int, int]]:
    """``(episodes_spent, cells filled, regimes seen, distinct equilibria)`` after each segment of a
    quality-diversity search. Regimes: over every probe (and final outcome) up to then; equilibria: the
    archive's elites then (each cell's latest added or replacing probe), clustered by the run's criterion
    (bootstrap off)."""
    import dataclasses

    from analysis.cluster import cluster_outcomes

    cfg = dataclasses.replace(config, bootstrap=0)
    out = []
    for spent in sorted({p["episodes_spent"] for p in probes}):
        seen = [p for p in probes if p["episodes_spent"] <= spent]
        finite = [p for p in seen if all(p.get(k) is not None and math.isfinite(p[k]) for k in schema.descriptors)]
        elites = {}
        for p in seen:  # rows are in insertion order
            if p["archive_event"] in ("added", "replaced"):
                elites[(p["cell_x"], p["cell_y"])] = p
        regimes = len({schema.regime(p) for p in finite})
        equilibria = len(cluster_outcomes(list(elites.values()), cfg, schema).equilibria) if elites else 0
        out.append((int(spent), len(elites), regimes, equilibria))
    return out


def discovery(probes: list[dict[str, Any]], config, path: Path, schema) -> PlotInfo:
    """Cells filled, regimes and distinct equilibria seen against episodes spent (quality-diversity search)."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 4.2))
    runs = sorted({p.get("run", "") for p in probes})
    drawn = 0
    for i, run in enumerate(runs):
        counts = discovery_counts([p for p in probes if p.get("run", "") == run], config, schema)
        drawn += len(counts)
        xs = [c[0] for c in counts]
        suffix = f" ({run})" if run else ""
        for k, (name, style) in enumerate((("archive cells filled", ":"), ("regimes seen", "--"),
                                           ("distinct equilibria among the elites", "-"))):
            ax.step(xs, [c[k + 1] for c in counts], where="post", ls=style, color=plt.get_cmap("tab10")(i),
                    label=name + suffix, marker="o", ms=3)
    ax.set_xlabel("episodes spent by the population (training, probes, evaluation)")
    ax.set_ylabel("count")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    title = "Discovery: what the search had found against episodes spent"
    ax.set_title(title, fontsize=10)
    return save(fig, path, drawn, title)
