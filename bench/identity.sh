#!/usr/bin/env bash
# Bit-identity runs for a refactor: run the same small jobs in two checkouts (one sitting, one machine),
# then compare every Parquet table with bench/compare_tables.py.
#   bash bench/identity.sh TREE OUT      # e.g. a `git worktree` of the old commit, then this checkout
# IDENTITY_SET="key=value ..." adds --set overrides to the RBC runs (e.g. to switch off a check that a newer
# default config turns on, so that both trees run the same settings).
set -euo pipefail
TREE=$(cd "$1" && pwd); OUT=$(mkdir -p "$2" && cd "$2" && pwd)
cd "$TREE"
export PYTHONPATH="$TREE" RAY_AUTH_MODE=token
run() { local name=$1; shift; [ -e "$OUT/$name.done" ] && return 0; echo "[identity] $name"; "$@" > "$OUT/$name.log" 2>&1; touch "$OUT/$name.done"; }
SETS=(); for kv in ${IDENTITY_SET:-}; do SETS+=(--set "$kv"); done
run train python -m pbt_econ.train --episodes 200 --out "$OUT/train" --no-progress "${SETS[@]}"
run best_response python -m pbt_econ.best_response "$OUT/train" --no-progress
run search python -m pbt_econ.search --set population.episodes=200 --out "$OUT/search" --no-progress "${SETS[@]}"
for e in cournot coordination growth; do
  run "$e" python -m pbt_econ.search --config configs/$e.yaml --out "$OUT/$e" --no-progress
done
echo "[identity] done: $OUT"
