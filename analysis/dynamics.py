"""Learning-dynamics plots: what each agent type does, phase by phase, from ``metrics.parquet`` alone.

``python -m analysis.dynamics RUN_DIR [RUN_DIR ...] --out FILE.png`` draws, for
each training run (a ``pbt_econ.train`` folder or a search's run directory,
one line per member), the curves that show which type moves an economy into
the trivial basin and when: hours and consumption (consumers), price and
wage (firms), income and corporate tax (government), each type's policy
entropy, and the critics' explained variance; shaded bands mark the
curriculum phases (who learns) and the mask progress.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pbt_econ.core.tables import TableError, read_table

__all__ = ["plot_dynamics"]

PANELS = [
    ("hours", "hours / consumer / step"),
    ("consumption", "units / consumer / step"),
    ("price", "price"),
    ("wage", "wage"),
    ("income_tax", "income tax"),
    ("welfare", "welfare / episode"),
    ("entropy_consumer", "consumer entropy (nats, summed over its F + 2 heads)"),
    ("entropy_firm", "firm entropy (nats)"),
    ("entropy_government", "government entropy (nats)"),
    ("explained_variance_consumer", "consumer critic expl. var."),
    ("explained_variance_firm", "firm critic expl. var."),
    ("explained_variance_government", "government critic expl. var."),
]


def _load(run: Path) -> dict[str, list[dict]]:
    rows = read_table(run / "metrics.parquet", "metrics").to_pylist()
    by_member: dict[str, list[dict]] = {}
    for r in rows:
        by_member.setdefault(f"{run.name}/{r['member_id']}", []).append(r)
    return {k: sorted(v, key=lambda r: r["episode"]) for k, v in by_member.items()}


def plot_dynamics(runs: list[Path], out: Path, title: str | None = None) -> Path:
    """Draw the panels of every member of ``runs`` into ``out`` (PNG); returns ``out``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series: dict[str, list[dict]] = {}
    for run in runs:
        series.update(_load(run))
    fig, axes = plt.subplots(4, 3, figsize=(15, 12), sharex=True)
    first = max(series.values(), key=len)  # phases from the longest run
    for ax, (key, label) in zip(axes.flat, PANELS):
        for name, rows in series.items():
            ep = [r["episode"] for r in rows]
            values = [r.get(key) for r in rows]
            if all(v is None for v in values):
                continue
            trivial = rows[-1]["is_trivial"]
            ax.plot(ep, values, lw=1.2, ls="--" if trivial else "-", label=name + (" (trivial)" if trivial else ""))
        # Phase bands from the first member: firms learn (light), government learns (darker).
        for agent, shade in (("firm", 0.08), ("government", 0.16)):
            starts = [r["episode"] for r in first if r.get(f"learns_{agent}")]
            if starts:
                ax.axvspan(min(starts), first[-1]["episode"], color="k", alpha=shade, lw=0)
        if key.startswith("explained_variance"):
            ax.set_ylim(-1.05, 1.05)  # a collapsed economy's returns have ~0 variance: values far below -1
        ax.set_ylabel(label, fontsize=9)
        ax.grid(alpha=0.3)
    for ax in axes[-1]:
        ax.set_xlabel("episode")
    axes[0, 0].legend(fontsize=7, loc="best")
    fig.suptitle(title or "learning dynamics (grey: firms learn; darker: government learns too; dashed: ends trivial)")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=80)
    plt.close(fig)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m analysis.dynamics", description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, required=True, help="PNG file to write")
    parser.add_argument("--title", default=None)
    args = parser.parse_args(argv)
    try:
        path = plot_dynamics(args.runs, args.out, args.title)
    except TableError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    from pbt_econ.core.cli import run

    run(main)
