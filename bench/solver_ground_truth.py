"""The solver on ground truth: Cournot from the collusive profile, at the shipped calibration and two others.

    python bench/solver_ground_truth.py [--seeds 10] [--out runs/bench-solver] [--meta regret,uniform,none]

For each calibration (``--set economy.*`` only; the shipped ``configs/cournot.yaml`` otherwise), each seed
and each meta-solver, a member is built from the config with its firm policy a point mass at the grid
value nearest the collusive quantity, then solved (:func:`pbt_econ.equilibrium.solver.solve`). ``none`` is
the baseline: the same rounds and episodes of plain training (no pool). "The collusive profile" is 99% of
the probability at the grid value nearest the collusive quantity (a saturated point mass has no gradient). Each run appends one JSON line to
``OUT/results.jsonl`` as it finishes (resumable: finished runs are skipped); the summary prints per
calibration and meta-solver: seeds within one grid step of q*, the worst exact unilateral gain relative to
the Nash profit, rounds, endings and wall time.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from pbt_econ.config.load import load_config
from pbt_econ.economies.cournot import solution as sol
from pbt_econ.equilibrium.solver import solve, train_against_pool
from pbt_econ.learning.member import Member
from pbt_econ.studies.validation.compare import policy_probs, set_profile

CALIBRATIONS = {
    "shipped": [],
    "A": ["economy.num_firms=3", "economy.a=120", "economy.b=1.5", "economy.c=12"],
    "B": ["economy.num_firms=8", "economy.a=80", "economy.b=0.5", "economy.c=5"],
}
"""Named before they were run; A and B were never tuned on (q* = 18 and 16.7, collusion 12 and 9.4)."""
ROUNDS, EPISODES, EVAL_SEEDS = 4, 100, 2


def run(calibration: str, seed: int, meta: str, share: float) -> dict:
    torch.set_num_threads(1)
    config = load_config("configs/cournot.yaml", CALIBRATIONS[calibration] + [f"seed={seed}"])
    e = config.economy
    q_star, q_c = sol.nash_quantity(e.a, e.b, e.c, e.num_firms), sol.collusive_quantity(e.a, e.b, e.c, e.num_firms)
    member = Member(config, seed=seed)
    k = min(range(len(e.quantities)), key=lambda i: abs(e.quantities[i] - q_c))
    # 99% at the collusive grid value (a saturated point mass would leave the shared policy no gradient)
    K = len(e.quantities)
    set_profile(member, "firm", [0.99 if i == k else 0.01 / (K - 1) for i in range(K)])
    started = time.perf_counter()
    if meta == "none":
        train_against_pool(member, [], [], ROUNDS * EPISODES, share, seed)
        result = solve(member, config.best_response, 0, EPISODES, share, "uniform", EVAL_SEEDS, seed)
    else:
        result = solve(member, config.best_response, ROUNDS, EPISODES, share, meta, EVAL_SEEDS, seed)
    wall = time.perf_counter() - started
    probs = policy_probs(member, "firm")
    exact = sol.unilateral_gain(probs, list(e.quantities), e.a, e.b, e.c, e.num_firms)
    nash = sol.nash_profit(e.a, e.b, e.c, e.num_firms)
    mean_q = sum(p * q for p, q in zip(probs, e.quantities))
    step = max(b - a for a, b in zip(e.quantities, e.quantities[1:]))
    first, last = result.rounds[0].exploitability[0], result.final_exploitability[0]  # last: the returned member
    return {"calibration": calibration, "seed": seed, "meta": meta, "share": share, "q_star": q_star, "q_collusive": q_c,
            "mean_quantity": mean_q, "within_step": abs(mean_q - q_star) <= step,
            "exact_unilateral_gain_rel": exact.gain / nash, "best_deviation": exact.quantity,
            "framework_unilateral_first": first.unilateral_max, "framework_unilateral_last": last.unilateral_max,
            "framework_unilateral_last_ci95": last.unilateral_max_ci95,
            "verdict": result.final_verdicts[0], "rounds": len(result.rounds) - 1, "chosen": result.chosen,
            "ending": result.ending,
            "pool": len(result.pool), "wall_s": wall}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--out", type=Path, default=Path("runs/bench-solver"))
    parser.add_argument("--meta", default="regret,uniform,none")
    parser.add_argument("--calibrations", default=",".join(CALIBRATIONS))
    parser.add_argument("--share", type=float, default=0.5, help="population.solve.share (copies with a deviator)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "results.jsonl"
    done = {(r["calibration"], r["seed"], r["meta"]) for r in map(json.loads, path.read_text().splitlines())} \
        if path.exists() else set()
    for meta in args.meta.split(","):
        for calibration in args.calibrations.split(","):
            for seed in range(args.seeds):
                if (calibration, seed, meta) in done:
                    continue
                row = run(calibration, seed, meta, args.share)
                with open(path, "a") as handle:
                    handle.write(json.dumps(row) + "\n")
                print(json.dumps(row), flush=True)
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    print("\ncalibration meta     within-step  worst exact gain/Nash  verified  endings  wall s/run")
    for calibration in CALIBRATIONS:
        for meta in args.meta.split(","):
            mine = [r for r in rows if r["calibration"] == calibration and r["meta"] == meta]
            if not mine:
                continue
            endings = {}
            for r in mine:
                endings[r["ending"]] = endings.get(r["ending"], 0) + 1
            print(f"{calibration:<11} {meta:<8} {sum(r['within_step'] for r in mine):>3}/{len(mine):<8} "
                  f"{max(r['exact_unilateral_gain_rel'] for r in mine):>12.4f}          "
                  f"{sum(r['verdict'] == 'verified' for r in mine):>3}/{len(mine)}  {endings}  "
                  f"{sum(r['wall_s'] for r in mine) / len(mine):.0f}")


if __name__ == "__main__":
    main()
