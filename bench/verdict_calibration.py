"""Do the verdicts hold at their stated confidence? Cournot profiles whose exact gains are known.

Every firm of a Cournot market plays one mixed strategy over the quantity grid (a policy whose logits
are the log-probabilities, whatever it observes). The best unilateral constant deviation then has an
exact expected gain (:func:`pbt_econ.economies.cournot.solution.unilateral_gain`) against an exact
expected profit (:func:`~pbt_econ.economies.cournot.solution.expected_profit`), so the true relative gain
``g*`` is known. Each profile is checked at three tolerances, ``tol = g* / m`` for ``m`` in 0.5, 1 and 2
(the true gain at half, at, and at twice the tolerance), by the framework's own certificate path
(:func:`pbt_econ.equilibrium.best_response.certificates.certify`: the best constant chosen on one stream,
decided on a fresh one with sequential evaluation), with the reference fixed at the exact profit. Each
replication uses a new evaluation seed. Prints, per profile and multiplier: P(verified), P(violated),
P(decided), the mean episodes used and the mean power; and whether the targets hold:

* P(verified | true gain >= tol) <= 2.5% (m = 1 and m = 2);
* P(violated | true gain <= tol) <= 2.5% (m = 0.5 and m = 1);
* P(decided) >= 90% at m = 0.5 and m = 2.

Usage:
    python bench/verdict_calibration.py [--reps 200] [--cap 8] [--eval-episodes 1] [--batch 64]
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import time

import numpy as np
import torch

from pbt_econ.config.episode import evaluation_spec
from pbt_econ.config.load import load_config
from pbt_econ.economies.cournot import solution
from pbt_econ.equilibrium.best_response.certificates import Befores, certify, constant_play
from pbt_econ.learning.member import Member

GRID = (0.0, 5.0, 10.0, 15.0, 20.0, 25.0, 30.0)
PROFILES = {
    # name: (number of firms, probabilities over GRID); exact best unilateral gain / expected profit
    "three-firms": (3, (0.0, 0.0, 0.0, 0.2, 0.5, 0.3, 0.0)),  # 28.0 / 572.0 = 4.9%
    "four-firms": (4, (0.0, 0.0, 0.1, 0.4, 0.4, 0.1, 0.0)),  # 16.25 / 333.75 = 4.9%
    "three-spread": (3, (0.0, 0.0, 0.1, 0.2, 0.4, 0.3, 0.0)),  # 58.0 / 592.0 = 9.8%
}
MULTIPLIERS = (0.5, 1.0, 2.0)


def mixed_member(firms: int, probs, batch: int, eval_episodes: int, cap: int) -> Member:
    """A Cournot member whose shared firm policy draws from ``probs`` over :data:`GRID` whatever it sees."""
    config = load_config("configs/cournot.yaml", [
        f"economy.num_firms={firms}", f"economy.quantities=[{', '.join(str(q) for q in GRID)}]",
        f"training.batch_size={batch}", f"best_response.eval_episodes={eval_episodes}",
        f"best_response.sequential_cap={cap}", "best_response.unilateral_agents=1"])
    member = Member(config, seed=0)
    head = member.policies["firm"].head
    with torch.no_grad():
        head.weight.zero_()
        head.bias.zero_()
        head.bias[:len(GRID)] = torch.tensor([math.log(p) if p > 0 else -30.0 for p in probs])
    return member


def exact(firms: int, probs) -> tuple[float, float]:
    """``(exact best unilateral gain, exact expected profit)`` per firm per episode."""
    e = load_config("configs/cournot.yaml").economy
    gain = solution.unilateral_gain(probs, GRID, e.a, e.b, e.c, firms).gain
    return gain, solution.expected_profit(probs, GRID, e.a, e.b, e.c, firms)


def calibrate(profile: str, multiplier: float, reps: int, cap: int = 8, eval_episodes: int = 1, batch: int = 64,
              seed: int = 0) -> dict:
    """``reps`` checks of ``profile`` at ``tol = g* / multiplier``: the verdict counts and costs."""
    firms, probs = PROFILES[profile]
    gain, profit = exact(firms, probs)
    true_rel = gain / profit
    member = mixed_member(firms, probs, batch, eval_episodes, cap)
    config = dataclasses.replace(member.config.best_response, tolerance={"firm": true_rel / multiplier})
    spec = evaluation_spec(member.types)
    counts = {"verified": 0, "violated": 0, "inconclusive": 0}
    episodes, power = [], []
    for k in range(reps):
        cfg = dataclasses.replace(config, eval_seed=10_000 * seed + k)
        candidates = [(member.economy.describe_action("firm", a), constant_play(member, "firm", "unilateral", 0, a))
                      for a in range(len(GRID))]
        row = certify(member, cfg, Befores(member, spec), "firm", "unilateral", 0, candidates, profit, "constant")
        counts[row.verdict] += 1
        episodes.append(row.eval_episodes)
        power.append(row.power)
    return {"profile": profile, "multiplier": multiplier, "true_rel": true_rel, "reps": reps,
            **{f"p_{v}": n / reps for v, n in counts.items()},
            "p_decided": 1 - counts["inconclusive"] / reps, "mean_episodes": float(np.mean(episodes)),
            "mean_power": float(np.nanmean(power))}


def targets_hold(r: dict) -> bool:
    ok = True
    if r["multiplier"] >= 1:
        ok &= r["p_verified"] <= 0.025
    if r["multiplier"] <= 1:
        ok &= r["p_violated"] <= 0.025
    if r["multiplier"] != 1:
        ok &= r["p_decided"] >= 0.9
    return bool(ok)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=200)
    parser.add_argument("--cap", type=int, default=8)
    parser.add_argument("--eval-episodes", type=int, default=1)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--profiles", nargs="*", default=list(PROFILES))
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"{'profile':<10}{'g*':>8}{'m':>5}{'P(verif)':>10}{'P(viol)':>9}{'P(dec)':>8}{'episodes':>10}"
          f"{'power':>8}  targets")
    for profile in args.profiles:
        for m in MULTIPLIERS:
            t0 = time.perf_counter()
            r = calibrate(profile, m, args.reps, args.cap, args.eval_episodes, args.batch)
            print(f"{profile:<10}{r['true_rel']:>8.4f}{m:>5.1f}{r['p_verified']:>10.3f}{r['p_violated']:>9.3f}"
                  f"{r['p_decided']:>8.3f}{r['mean_episodes']:>10.2f}{r['mean_power']:>8.3f}  "
                  f"{'hold' if targets_hold(r) else 'MISSED'} ({time.perf_counter() - t0:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
