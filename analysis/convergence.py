"""The solver's convergence curve: each member's exploitability round by round (``solve.parquet``).

Drawn by the analysis of a search whose solver stage ran, and by ``python -m pbt_econ.solve``.
"""

from __future__ import annotations

from pathlib import Path

from analysis.plots import PlotInfo, save

__all__ = ["solver_convergence"]


def solver_convergence(rows: list[dict], path: Path) -> PlotInfo:
    """Largest relative gain of one agent (Nash) and of a whole type (meta) per round, with the intervals its
    verdict read, one line per member and type; the returned member's recheck (``stage = recheck``) is a
    star at its round."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4), squeeze=False)
    keys = sorted({(r["member_id"], r["agent_type"]) for r in rows})
    for ax, (column, title) in zip(axes[0], (("unilateral_max", "one agent (Nash)"),
                                             ("type_max", "whole type (meta)"))):
        for m, t in keys:
            ours = [r for r in rows if r["member_id"] == m and r["agent_type"] == t]
            mine = sorted((r for r in ours if r.get("stage", "round") == "round"), key=lambda r: r["round"])
            line = ax.errorbar([r["round"] for r in mine], [r[column] for r in mine],
                               yerr=[r[f"{column}_ci95"] for r in mine], marker="o", capsize=2, label=f"{m} {t}")
            for r in (r for r in ours if r.get("stage") == "recheck"):
                ax.errorbar([r["round"]], [r[column]], yerr=[r[f"{column}_ci95"]], marker="*", markersize=11,
                            capsize=2, color=line[0].get_color(), linestyle="none")
        ax.set_xlabel("solver round")
        ax.set_ylabel("largest relative gain")
        ax.set_title(title)
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=7)
    title = "Exploitability per solver round (95% intervals; star: the returned member's recheck)"
    fig.suptitle(title)
    path.parent.mkdir(parents=True, exist_ok=True)
    return save(fig, path, len(rows), title)
