"""How decided are a search's verdicts? Reads a run directory (before and after a change, on the same seeds).

Prints, for the members' own checks and for the solved outcomes (``<member>~s``) separately: the
best-response rows by verdict (the share ``inconclusive`` is the issue's target, at most 10%), then one
line per outcome with its Nash and type-level verdicts and every type's, and, where the solver ran, each
member's final recheck from ``solve.parquet``.

Usage:
    python bench/verdict_summary.py RUN_DIR [RUN_DIR ...]
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq


def summarise(run: Path) -> None:
    rows = pq.read_table(run / "best_response.parquet").to_pylist()
    outcomes = pq.read_table(run / "outcomes.parquet").to_pylist()
    print(f"== {run}")
    for label, keep in (("members", lambda m: "~" not in m), ("solved", lambda m: m.endswith("~s"))):
        mine = [r for r in rows if keep(r["member_id"])]
        if not mine:
            continue
        counts = Counter(r["verdict"] for r in mine)
        share = counts["inconclusive"] / len(mine)
        print(f"{label}: {len(mine)} rows: " + ", ".join(f"{v} {counts[v]}" for v in ("verified", "inconclusive",
                                                                                          "violated"))
              + f"  ({100 * share:.0f}% inconclusive)")
        for kind in ("constant", "endgame", "learned", "scratch"):
            k = Counter(r["verdict"] for r in mine if r["start"] == kind)
            if k:
                print(f"    {kind:<9}" + ", ".join(f"{v} {k[v]}" for v in ("verified", "inconclusive", "violated")))
    types = sorted({r["agent_type"] for r in rows})
    for o in outcomes:
        per_type = "  ".join(f"{t}: {o.get(f'verdict_{t}', '-')}/{o.get(f'verdict_type_{t}', '-')}" for t in types)
        print(f"  {o['member_id']:<8} Nash {o['verdict']:<12} {per_type}")
    solve = run / "solve.parquet"
    if solve.exists():
        table = pq.read_table(solve).to_pylist()
        for r in table:
            if r.get("stage") == "recheck":
                print(f"  recheck {r['member_id']} (round {r['round']}) {r['agent_type']:<10} Nash {r['verdict']:<12} "
                      f"type {r['verdict_type']:<12} gain/tol {r['rank']:.3g}  pool {r['pool_size']} "
                      f"({r['pool_policies']} policies)")
        endings = Counter((r["member_id"], r["ending"]) for r in table)
        print("  endings: " + ", ".join(f"{m} {e}" for (m, e) in sorted(endings)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path)
    for run in parser.parse_args().runs:
        summarise(run)


if __name__ == "__main__":
    main()
