"""Does the quality-diversity archive find more of the spectrum? Searches with and without it.

Runs ``python -m pbt_econ.search`` on the default config (4 members) and with
8 members, each with the archive off (plain PBT) and on
(``population.archive.enabled=true``), one search at a time on all cores,
plus a closed-economy default search; then analyses the open and the closed
default runs together (``python -m analysis``), which should show at least two
regimes. For each search it reports regimes, distinct equilibria (noise
criterion), ε-verified equilibria, the Chao1 unseen-equilibria estimate with
its interval, archive cells filled, and wall time.

Each search's result goes to ``OUT/<cell>/bench.json`` when it finishes; running
the command again skips finished searches and resumes interrupted ones.

    python bench/quality_diversity.py [--out runs/bench-qd] [--seed 0] [--summary] [--reanalyse]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CELLS = [  # (cell, overrides)
    ("default", []),
    ("default-archive", ["population.archive.enabled=true"]),
    ("size8", ["population.size=8"]),
    ("size8-archive", ["population.size=8", "population.archive.enabled=true"]),
    ("default-closed", ["economy.open_economy=false"]),
]


def _analyse(run_dir: Path) -> dict:
    from analysis.report import analyse_runs
    from analysis.stats import chao1
    from pbt_econ.core.tables import read_table

    result = analyse_runs([run_dir])
    outcomes = read_table(run_dir / "outcomes.parquet", "outcomes").to_pylist()
    sizes = [q.size for q in result.equilibria]
    estimate, low, high = chao1(sizes)
    archive = run_dir / "archive.parquet"
    return {
        "outcomes": len(outcomes),
        "regimes": sorted({o["regime"] for o in outcomes}),
        "verified_regimes": sorted({o["regime"] for o in outcomes if o["is_epsilon_equilibrium"]}),
        "equilibria": len(result.equilibria),
        "verified": sum(q.is_epsilon_equilibrium for q in result.equilibria),
        "chao1": [estimate, low, high],
        "cells": read_table(archive, "archive").num_rows if archive.exists() else None,
        "welfare": sorted(round(o["welfare"], 1) for o in outcomes),
    }


def run_cell(out: Path, cell: str, overrides: list[str], seed: int) -> dict:
    run_dir = out / cell
    done = run_dir / "bench.json"
    if done.exists():
        return json.loads(done.read_text())
    sets = [a for o in [f"seed={seed}", f"name={cell}", *overrides] for a in ("--set", o)]
    state = run_dir / "driver.json"
    cmd = [sys.executable, "-m", "pbt_econ.search", "--no-progress", "--no-analysis"]
    cmd += ["--resume", str(run_dir)] if state.exists() else [*sets, "--out", str(run_dir)]
    print(f"[{cell}] {' '.join(cmd[1:])}", flush=True)
    started = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    result = {"cell": cell, "overrides": overrides, "seed": seed, "wall_s": wall,
              "resumed": state.exists() and "--resume" in cmd, **_analyse(run_dir)}
    done.write_text(json.dumps(result, indent=1))
    print(f"[{cell}] {wall / 60:.1f} min: {result['equilibria']} equilibria, regimes {result['regimes']}", flush=True)
    return result


def summary(out: Path) -> str:
    lines = ["| search | outcomes | regimes | regimes with an ε-verified outcome | distinct equilibria | ε-verified "
             "| Chao1 total (95%) | archive cells | wall time |", "|---|---|---|---|---|---|---|---|---|"]
    for cell, _ in CELLS:
        path = out / cell / "bench.json"
        if not path.exists():
            continue
        r = json.loads(path.read_text())
        est, lo, hi = r["chao1"]
        verified = r.get("verified_regimes")
        verified = "?" if verified is None else (", ".join(verified) or "none")
        lines.append(f"| {cell} | {r['outcomes']} | {len(r['regimes'])} ({', '.join(r['regimes'])}) | {verified} | {r['equilibria']} "
                     f"| {r['verified']} | {est:.1f} ({lo:.1f}–{hi:.1f}) | {r['cells'] if r['cells'] is not None else '–'} "
                     f"| {r['wall_s'] / 60:.1f} min{' (resumed)' if r.get('resumed') else ''} |")
    combined = out / "combined" / "bench.json"
    if combined.exists():
        r = json.loads(combined.read_text())
        lines += ["", f"`python -m analysis` over the open and the closed default searches together: "
                      f"{r['outcomes']} outcomes, {len(r['regimes'])} regimes ({', '.join(r['regimes'])}), "
                      f"{r['equilibria']} distinct equilibria."]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "bench-qd")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--summary", action="store_true")
    parser.add_argument("--reanalyse", action="store_true",
                        help="re-run the analysis of finished searches (keeps their wall times)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.reanalyse:
        for cell, _ in CELLS:
            path = args.out / cell / "bench.json"
            if path.exists():
                r = json.loads(path.read_text())
                path.write_text(json.dumps({**r, **_analyse(args.out / cell)}, indent=1))
    if not args.summary:
        for cell, overrides in CELLS:
            run_cell(args.out, cell, overrides, args.seed)
        combined = args.out / "combined"
        if not (combined / "bench.json").exists():
            from analysis.report import analyse_runs
            from pbt_econ.core.tables import read_table

            result = analyse_runs([args.out / "default", args.out / "default-closed"], out=combined)
            outcomes = read_table(combined / "outcomes.parquet", "outcomes").to_pylist()
            (combined / "bench.json").write_text(json.dumps({
                "outcomes": len(outcomes), "regimes": sorted({o["regime"] for o in outcomes}),
                "equilibria": len(result.equilibria)}, indent=1))
    text = summary(args.out)
    (args.out / "summary.md").write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
