"""Curricula at the paper's size on a CPU budget: how often does learning collapse?

Trains one member per (config, curriculum, seed) with ``configs/paper-open-cpu.yaml``
and ``configs/paper-closed-cpu.yaml`` (the paper's 100/10/1 economy, curriculum
compressed), two members at a time on one thread each, then evaluates each
final member and its untrained policies the same way best response does
(full grids, full theta, the evaluation seed). Results are written to
``OUT/<run>/result.json`` as each member finishes; running the command again
skips finished members and resumes unfinished ones from their checkpoints.

    python bench/curricula.py                      # the full grid (28 members; about 2 hours on 2 cores)
    python bench/curricula.py --only paper-open    # one cell
    python bench/curricula.py --summary            # just print the table of what has finished

Per cell it reports the non-trivial rate with a 95% Wilson interval, the
share that is non-trivial at every metrics row of the last 20% of training
("stays"), the share in which every learning type ends above its untrained
reward, and mean welfare, hours, price and consumer reward with 95% t
intervals. The table goes to ``OUT/summary.md``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import multiprocessing as mp
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analysis.stats import mean_ci, wilson_interval  # noqa: E402

GRID = [  # (cell, config, curriculum, seeds)
    ("paper-open", "paper-open-cpu.yaml", "paper", 8),
    ("none-open", "paper-open-cpu.yaml", "none", 8),
    ("paper-closed", "paper-closed-cpu.yaml", "paper", 4),
    ("none-closed", "paper-closed-cpu.yaml", "none", 4),
    ("firms-first-open", "paper-open-cpu.yaml", "firms-first", 4),
    # Ablation: the paper's equal learning rates (firm lr 0.001) instead of the two timescales.
    ("paper-open-equal-lr", "paper-open-cpu.yaml", "paper", 4, ["training.firm.lr=0.001", "training.consumer.lr=0.001"]),
]
SEED_OFFSET = 100
"""Benchmark seeds start here, away from the seeds used while developing the configs (0-9)."""


def _run_one(job: dict) -> dict:
    """Train (or resume) one member, evaluate it, write ``result.json``. Runs in a worker process."""
    import torch

    torch.set_num_threads(1)
    from pbt_econ.config.load import load_config
    from pbt_econ.core.files import atomic_write_text
    from pbt_econ.core.tables import read_table
    from pbt_econ.learning.training import run_training

    out = Path(job["out"])
    config = load_config(ROOT / "configs" / job["config"],
                         [f"curriculum={{base: {job['curriculum']}, time_scale: {job['time_scale']}}}",
                          f"seed={job['seed']}", f"name={out.name}", *job["overrides"]])
    episodes = config.training.episodes
    started = time.perf_counter()
    resume = (out / "checkpoint.pt").exists()
    member = run_training(config, out, episodes, resume=resume, show_progress=False)
    train_s = time.perf_counter() - started
    br = config.best_response
    final = member.evaluate(br.eval_episodes, seed=br.eval_seed)
    untrained = member.untrained().evaluate(br.eval_episodes, seed=br.eval_seed)
    rows = read_table(out / "metrics.parquet", "metrics").to_pylist()
    tail = [r for r in rows if r["episode"] > 0.8 * episodes]
    d = final.stats.descriptors
    learners = [t for t in ("consumer", "firm", "government")
                if config.curriculum.agent(t).learn_from is not None]
    result = {
        **{k: job[k] for k in ("cell", "config", "curriculum", "seed")},
        "episodes": episodes,
        "train_seconds": train_s if not resume else math.nan,
        "descriptors": dataclasses.asdict(d),
        "trivial": d.trivial,
        "stays_nontrivial": (not d.trivial) and bool(tail) and not any(r["is_trivial"] for r in tail),
        "reward": {t: final.mean(t) for t in ("consumer", "firm", "government")},
        "untrained": {t: untrained.mean(t) for t in ("consumer", "firm", "government")},
        "learners": learners,
        "tail_hours": [r["hours"] for r in tail],
    }
    result["all_better_than_untrained"] = all(result["reward"][t] > result["untrained"][t] for t in learners)
    atomic_write_text(out / "result.json", json.dumps(result, indent=1))
    return result


def summarise(results: list[dict]) -> str:
    lines = ["| cell | n | non-trivial (95% Wilson) | stays non-trivial | all types beat untrained | welfare | hours "
             "| price | consumer reward | train min/member, median (max) |", "|" + "---|" * 10]
    for cell, *_ in GRID:
        rs = [r for r in results if r["cell"] == cell]
        if not rs:
            continue
        n = len(rs)
        ok = sum(not r["trivial"] for r in rs)
        lo, hi = wilson_interval(ok, n)
        stays = sum(r["stays_nontrivial"] for r in rs)
        better = sum(r["all_better_than_untrained"] for r in rs)

        def fmt(values, digits=0):
            m, h = mean_ci(values)
            return f"{m:.{digits}f} ± {h:.{digits}f}" if math.isfinite(h) else f"{m:.{digits}f}"

        minutes = [r["train_seconds"] / 60 for r in rs if math.isfinite(r["train_seconds"])]
        slowest = f"{statistics.median(minutes):.1f} ({max(minutes):.1f})" if minutes else "–"
        lines.append(
            f"| {cell} | {n} | {ok}/{n} ({lo:.2f}–{hi:.2f}) | {stays}/{n} | {better}/{n} "
            f"| {fmt([r['descriptors']['welfare'] for r in rs])} | {fmt([r['descriptors']['hours'] for r in rs])} "
            f"| {fmt([r['descriptors']['price'] for r in rs])} "
            f"| {fmt([r['reward']['consumer'] for r in rs], 1)} "
            f"| {slowest} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "bench-curricula")
    parser.add_argument("--only", default=None, help="comma-separated cells (default: all)")
    parser.add_argument("--seeds", type=int, default=None, help="seeds per cell (default: the issue's 8/8/4/4/4)")
    parser.add_argument("--time-scale", type=float, default=None, help="curriculum time_scale (default: the config's)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--summary", action="store_true", help="only print the table of finished members")
    args = parser.parse_args()
    cells = set(args.only.split(",")) if args.only else {c for c, *_ in GRID}
    from pbt_econ.config.load import load_config

    jobs = []
    for cell, config, curriculum, seeds, *extra in GRID:
        if cell not in cells:
            continue
        base = load_config(ROOT / "configs" / config)
        time_scale = args.time_scale or base.curriculum.time_scale
        for i in range(args.seeds or seeds):
            seed = SEED_OFFSET + i
            out = args.out / f"{cell}-s{seed}"
            jobs.append(dict(cell=cell, config=config, curriculum=curriculum, seed=seed, out=str(out),
                             time_scale=time_scale, overrides=[*(extra[0] if extra else []), *args.overrides]))
    done = [json.loads((Path(j["out"]) / "result.json").read_text()) for j in jobs
            if (Path(j["out"]) / "result.json").exists()]
    todo = [j for j in jobs if not (Path(j["out"]) / "result.json").exists()]
    if not args.summary and todo:
        print(f"{len(done)} finished, {len(todo)} to run ({args.workers} at a time)", flush=True)
        with mp.get_context("spawn").Pool(args.workers) as pool:
            for r in pool.imap_unordered(_run_one, todo):
                done.append(r)
                d = r["descriptors"]
                print(f"{r['cell']:>17} seed {r['seed']}: {'TRIVIAL    ' if r['trivial'] else 'non-trivial'} "
                      f"stays={r['stays_nontrivial']!s:5} welfare {d['welfare']:9.1f} hours {d['hours']:6.1f} "
                      f"price {d['price']:6.0f} consumer {r['reward']['consumer']:7.2f} "
                      f"(untrained {r['untrained']['consumer']:7.2f}) {r['train_seconds'] / 60:.1f} min", flush=True)
    table = summarise(done)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "summary.md").write_text(table + "\n")
    print(table)


if __name__ == "__main__":
    main()
