"""Compare every Parquet table under two run folders, cell by cell (bit-identity of a refactor).

    python bench/compare_tables.py BEFORE AFTER

Columns that measure wall time (``*seconds*``, ``*wall*``, ``*time*``) are skipped. Prints one line per
table: rows, columns compared, and the columns that differ (with the largest absolute difference).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

SKIP = ("seconds", "wall", "time", "elapsed", "per_s")


def compare(a: Path, b: Path) -> str:
    ta, tb = pq.read_table(a).to_pandas(), pq.read_table(b).to_pandas()
    if len(ta) != len(tb):
        return f"rows differ: {len(ta)} vs {len(tb)}"
    cols = [c for c in ta.columns if not any(s in c for s in SKIP)]
    missing = sorted(set(cols) ^ {c for c in tb.columns if not any(s in c for s in SKIP)})
    differ = []
    for c in cols:
        if c not in tb:
            continue
        x, y = ta[c].to_numpy(), tb[c].to_numpy()
        if x.dtype.kind in "fc" and y.dtype.kind in "fc":
            same = np.array_equal(x, y, equal_nan=True)
            if not same:
                differ.append(f"{c} (max |d| {np.nanmax(np.abs(x - y)):.3g})")
        elif not all((p == q) or (p != p and q != q) for p, q in zip(x, y)):
            differ.append(c)
    status = "identical" if not differ and not missing else "DIFFERENT"
    extra = f"; columns only in one: {missing}" if missing else ""
    return f"{status}: {len(ta)} rows, {len(cols)} columns" + (f"; differ: {', '.join(differ)}" if differ else "") + extra


def main() -> int:
    before, after = Path(sys.argv[1]), Path(sys.argv[2])
    bad = 0
    for a in sorted(before.rglob("*.parquet")):
        rel = a.relative_to(before)
        b = after / rel
        line = compare(a, b) if b.exists() else "missing after"
        bad += not line.startswith("identical")
        print(f"{rel}: {line}")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
