"""``python -m analysis RUN_DIR [RUN_DIR ...] [--out DIR]``: rebuild tables, plots and report from Parquet."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from analysis.cluster import AnalysisError
from analysis.report import analyse_runs
from pbt_econ.core.tables import TableError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m analysis",
                                     description="Cluster outcomes into equilibria; write Parquet, plots, report.md.")
    parser.add_argument("runs", type=Path, nargs="+", help="search run directories")
    parser.add_argument("--out", type=Path, default=None,
                        help="output folder (default: the run directory; runs/combined for several)")
    args = parser.parse_args(argv)
    try:
        result = analyse_runs(args.runs, args.out)
    except (AnalysisError, TableError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{len(result.equilibria)} equilibria; report: {result.report}")
    return 0


if __name__ == "__main__":
    from pbt_econ.core.cli import run

    run(main)
