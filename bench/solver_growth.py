"""The solver on the growth economy: consumption-equivalent loss before and after, at three calibrations.

    python bench/solver_growth.py [--seeds 3] [--out runs/bench-solver-growth]

For each calibration (only ``economy.*`` changes; named before they were run: the shipped one, ``A``
alpha 0.3 / beta 0.9 / horizon 8, ``B`` alpha 0.4 / beta 0.98 / horizon 4 / sigma 0.2) and seed, one member
trains ``training.episodes`` episodes of ``configs/growth.yaml``; then, from the same trained member,
(a) the solver (3 rounds of ``best_response.episodes``, end-game certificates on the last period) and
(b) plain training for the same number of episodes. Reported per arm: the CE loss of the learned savings
path against the closed form (docs/ground-truth.md), the last period's saving, and the Nash verdict.
One JSON line per (calibration, seed) in ``OUT/results.jsonl`` (resumable).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

import torch

from pbt_econ.config.load import load_config
from pbt_econ.economies.growth.known import errors
from pbt_econ.equilibrium.solver import solve, train_against_pool
from pbt_econ.learning.member import Member

CALIBRATIONS = {
    "shipped": [],
    "A": ["economy.alpha=0.3", "economy.beta=0.9", "economy.horizon=8"],
    "B": ["economy.alpha=0.4", "economy.beta=0.98", "economy.horizon=4", "economy.sigma=0.2"],
}
ROUNDS = 3


def path_of(member) -> dict:
    e = member.config.economy
    d = member.evaluate(8, seed=12345).stats.descriptors
    r = errors([d[f"savings_t{t}"] for t in range(e.horizon + 1)], e)
    return {"ce_loss": r["ce_loss"], "last_saving": r["learned"][-1], "mean_abs_error": r["mean_abs_error"]}


def run(calibration: str, seed: int) -> dict:
    torch.set_num_threads(1)
    config = load_config("configs/growth.yaml", CALIBRATIONS[calibration] + [f"seed={seed}"])
    br = dataclasses.replace(config.best_response, endgame_steps=1, sequential_cap=8)
    member = Member(config, seed=seed)
    member.train(config.training.episodes)
    trained = path_of(member)
    plain = Member(config, seed=seed)
    plain.set_state(member.get_state())
    started = time.perf_counter()
    result = solve(member, br, ROUNDS, br.episodes, 0.5, "regret", 2, seed)
    solver_wall = time.perf_counter() - started
    episodes = (len(result.rounds) - 1) * br.episodes
    train_against_pool(plain, [], [], episodes, 0.5, seed)
    return {"calibration": calibration, "seed": seed, "trained": trained, "solver": path_of(member),
            "plain": path_of(plain), "solver_verdict": result.final_verdicts[0], "chosen": result.chosen,
            "ending": result.ending,
            "rounds": len(result.rounds) - 1, "pool": [e.label for e in result.pool], "solver_wall_s": solver_wall}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("runs/bench-solver-growth"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "results.jsonl"
    done = {(r["calibration"], r["seed"]) for r in map(json.loads, path.read_text().splitlines())} \
        if path.exists() else set()
    for calibration in CALIBRATIONS:
        for seed in range(args.seeds):
            if (calibration, seed) not in done:
                row = run(calibration, seed)
                with open(path, "a") as handle:
                    handle.write(json.dumps(row) + "\n")
                print(json.dumps(row), flush=True)
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    print("\ncalibration seed  CE loss: trained  solver  plain   last saving: trained solver plain  verdict ending")
    for r in rows:
        print(f"{r['calibration']:<11} {r['seed']:>4}  {r['trained']['ce_loss']:>14.4%} {r['solver']['ce_loss']:>7.4%} "
              f"{r['plain']['ce_loss']:>7.4%}   {r['trained']['last_saving']:>18.3f} {r['solver']['last_saving']:.3f} "
              f"{r['plain']['last_saving']:.3f}  {r['solver_verdict']} {r['ending']}")


if __name__ == "__main__":
    main()
