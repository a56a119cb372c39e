"""Aiyagari benchmark: train households with the framework, compare the learned stationary equilibrium with the
same-grid solution, the continuous (fine-grid) solution and Aiyagari's (1994) Table II.

Each case (seed, calibration, N) trains one member with ``python -m pbt_econ.train`` (single-threaded), then
reads its last metrics rows (descriptors of the last ``--window`` training episodes: ``r_window_pct``) and its
final policy, and runs the economy's known answer (:func:`pbt_econ.economies.aiyagari.known.compare`: the
policy's long run from a point start, 1,200 periods, for r, K, Gini and K drift; Euler errors and the one-step
Bellman gain at its own long-run prices and distribution). Results are appended to ``OUT/results.jsonl`` as each case finishes; a case already
there is skipped (resumable).

    python bench/aiyagari.py --out runs/bench-aiyagari --seeds 0 1 2 --calibrations base --households 100 1000
    python bench/aiyagari.py --out /tmp/ay --seeds 0 --episodes 20 --quick      # a smoke test
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pbt_econ.economies.aiyagari import AiyagariConfig, AiyagariEconomy, known, solution  # noqa: E402

CALIBRATIONS = {  # name: (sigma, rho, mu, Aiyagari's Table II r in %; sources in docs/ground-truth.md)
    "base": (0.4, 0.9, 3.0, 1.2894),
    "mu1": (0.4, 0.9, 1.0, 3.3054),
    "rho06": (0.4, 0.6, 3.0, 2.7835),
    # Named before any run on them (2026-12-08) and never tuned on: issue 28's untuned cells.
    "s2r9m5": (0.2, 0.9, 5.0, 2.5260),
    "s2r6m1": (0.2, 0.6, 1.0, 4.0912),
    "s2r3m3": (0.2, 0.3, 3.0, 4.0432),
}


class _View:
    """A minimal RunView over one trained member (for :func:`known.compare`)."""

    def __init__(self, seed, config, outcomes, policy):
        self.seed, self.economy_config, self.outcomes, self.equilibria = seed, config, outcomes, None
        self._policy = policy

    def member_ids(self):
        return ["member"]

    def policy(self, member_id, agent_type):
        return self._policy

    def policy_probs(self, member_id, agent_type):  # not needed here
        raise NotImplementedError


def _load_policy(run_dir: Path, economy: AiyagariEconomy, hidden: int):
    from pbt_econ.learning.policies import ActorCritic

    state = torch.load(run_dir / "checkpoint.pt", map_location="cpu", weights_only=True)
    member = state.get("state", state.get("member", state))
    weights = member["policies"]["household"]
    net = ActorCritic(economy.obs_size, 1, len(economy.config.savings_shares), hidden)
    net.load_state_dict(weights)
    net.eval()

    def policy(obs):
        with torch.no_grad():
            logits, _ = net(obs.float())
        return torch.softmax(logits, -1).double()

    return policy


def run_case(out: Path, seed: int, name: str, n: int, episodes: int, window: int, extra: list[str]) -> dict:
    sigma, rho, mu, published = CALIBRATIONS[name]
    run_dir = out / f"{name}-N{n}-seed{seed}"
    sets = [f"seed={seed}", f"economy.num_households={n}", f"economy.sigma={sigma}", f"economy.rho={rho}",
            f"economy.risk_aversion={mu}", f"training.log_every={max(1, window)}",
            f"training.checkpoint_every={episodes}"] + extra
    cmd = [sys.executable, "-m", "pbt_econ.train", "--config", str(ROOT / "configs" / "aiyagari.yaml"),
           "--episodes", str(episodes), "--out", str(run_dir), "--no-progress"]
    for s in sets:
        cmd += ["--set", s]
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    if run_dir.exists():  # an unfinished case (not in results.jsonl): start it again
        shutil.rmtree(run_dir)
    started = time.perf_counter()
    subprocess.run(cmd, check=True, cwd=ROOT, env=env)
    wall = time.perf_counter() - started
    metrics = pd.read_parquet(run_dir / "metrics.parquet")
    last = metrics.tail(1)
    config = dataclasses.replace(AiyagariConfig(), num_households=n, sigma=sigma, rho=rho, risk_aversion=mu)
    economy = AiyagariEconomy(config, 1)
    import yaml

    hidden = int(yaml.safe_load((run_dir / "config.yaml").read_text())["training"]["hidden_size"])
    policy = _load_policy(run_dir, economy, hidden)
    t0 = time.perf_counter()
    values = {m.name: (m.value, m.known) for m in known.compare(_View(seed, config, last, policy))}
    fine = solution.solve(config, "fine")
    return {"calibration": name, "sigma": sigma, "rho": rho, "mu": mu, "N": n, "seed": seed, "episodes": episodes,
            "r_learned_pct": values["r_percent"][0], "r_grid_pct": values["r_percent"][1],
            "r_window_pct": values["r_window_percent"][0], "K_drift_abs": values["K_drift_abs"][0],
            "r_fine_pct": 100 * fine.r, "r_published_pct": published, "r_gap_pp": values["r_gap_pp"][0],
            "K": values["K"][0], "K_grid": values["K"][1], "gini": values["gini"][0], "gini_grid": values["gini"][1],
            "K_drift": values["K_drift"][0], "euler_log10": values["euler_log10"][0],
            "euler_log10_grid_optimum": values["euler_log10"][1],
            "bellman_gain_ce_pct": values["bellman_gain_ce_pct"][0],
            "train_wall_s": wall, "certify_wall_s": time.perf_counter() - t0}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default="runs/bench-aiyagari")
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--calibrations", nargs="+", default=["base"], choices=sorted(CALIBRATIONS))
    p.add_argument("--households", type=int, nargs="+", default=[100])
    p.add_argument("--episodes", type=int, default=300)
    p.add_argument("--window", type=int, default=25, help="training episodes averaged into the learned outcome")
    p.add_argument("--quick", action="store_true", help="a smoke test: horizon 40, tail 10, batch 2")
    p.add_argument("--set", action="append", default=[], help="extra --set overrides for pbt_econ.train")
    args = p.parse_args()
    torch.set_num_threads(1)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results = out / "results.jsonl"
    done = set()
    if results.exists():
        for line in results.read_text().splitlines():
            row = json.loads(line)
            done.add((row["calibration"], row["N"], row["seed"], row["episodes"]))
    extra = list(args.set)
    if args.quick:
        extra += ["economy.horizon=40", "economy.tail=10", "training.batch_size=2"]
    header = (f"{'case':<22}{'r learned':>10}{'window':>8}{'same-grid':>10}{'fine':>8}{'published':>10}{'gini':>7}"
              f"{'gini*':>7}{'Euler':>7}{'gain%':>8}{'wall s':>8}")
    print(header)
    for name in args.calibrations:
        for n in args.households:
            for seed in args.seeds:
                key = (name, n, seed, args.episodes)
                if key in done:
                    continue
                row = run_case(out, seed, name, n, args.episodes, min(args.window, args.episodes), extra)
                with results.open("a") as f:
                    f.write(json.dumps(row) + "\n")
    for line in results.read_text().splitlines():
        r = json.loads(line)
        case = f"{r['calibration']} N={r['N']} s={r['seed']} e={r['episodes']}"
        print(f"{case:<22}{r['r_learned_pct']:>10.3f}{r.get('r_window_pct', float('nan')):>8.3f}{r['r_grid_pct']:>10.3f}{r['r_fine_pct']:>8.3f}"
              f"{r['r_published_pct']:>10.3f}{r['gini']:>7.3f}{r['gini_grid']:>7.3f}{r['euler_log10']:>7.2f}"
              f"{r['bellman_gain_ce_pct']:>8.3f}{r['train_wall_s']:>8.0f}")


if __name__ == "__main__":
    main()
