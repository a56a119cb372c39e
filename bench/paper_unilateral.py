"""Is the paper-size export enclave an ε-equilibrium for one firm alone? (issue 19, the paper's size)

Trains ``paper-open-cpu`` members (100 consumers, 10 firms, 1 government) on the given seeds, in
parallel subprocesses (one core each; resumable: a finished training is reused), then checks firms and
the government: trained type-level and unilateral deviations and the exact certificates (every
price x wage action, type-level and for single firms; every tax pair for the government). Prints, per
outcome, the descriptors that define the enclave and every deviation's gain, interval and verdict.

Usage: python bench/paper_unilateral.py [--seeds 100 101] [--out runs/paper-unilateral] [--episodes N]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import torch


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, nargs="+", default=[100, 101])
    parser.add_argument("--out", type=Path, default=Path("runs/paper-unilateral"))
    parser.add_argument("--episodes", type=int, default=None, help="best-response episodes (default: the config's)")
    args = parser.parse_args()
    procs = []
    for s in args.seeds:
        out = args.out / f"seed{s}"
        if (out / "checkpoint.pt").exists() and json.loads((out / "done.json").read_text() if (out / "done.json")
                                                             .exists() else "{}").get("done"):
            continue
        cmd = [sys.executable, "-m", "pbt_econ.train", "--config", "configs/paper-open-cpu.yaml", "--set", f"seed={s}",
               "--out", str(out), "--no-progress"] + (["--resume"] if (out / "checkpoint.pt").exists() else [])
        procs.append((out, subprocess.Popen(cmd)))
    for out, p in procs:
        if p.wait() != 0:
            raise SystemExit(f"training {out} failed")
        (out / "done.json").write_text(json.dumps({"done": True}))
    from pbt_econ.equilibrium.best_response import best_response
    from pbt_econ.learning.member import load_member

    torch.set_num_threads(2)
    for s in args.seeds:
        member = load_member(args.out / f"seed{s}" / "checkpoint.pt")
        cfg = dataclasses.replace(member.config.best_response, episodes=args.episodes or member.config.best_response.episodes)
        report = best_response(member, cfg, types=("firm", "government"))
        d = report.before.stats.descriptors
        print(f"seed {s}: price {d['price']:.0f}, wage {d['wage']:.1f}, hours {d['hours']:.0f}, exports {d['exports']:.1f}, "
              f"export share {d['export_share']:.2f}, welfare {d['welfare']:.1f}, firm reward {d['reward_firm']:.4g}")
        for r in report.rows:
            who = "all" if r.deviation == "type" else f"firm #{r.agent}"
            print(f"  {r.agent_type:<10} {r.start:<9} {who:<8} before {r.reward_before:12.5g} after {r.reward_after:12.5g} "
                  f"gain {r.epsilon_abs:11.4g} ±{r.gain_ci95:9.3g} rel {r.epsilon_rel:8.3g} {r.verdict:<12} "
                  f"converged {r.converged!s:<5} {r.action}")
        (args.out / f"seed{s}" / "best_response.json").write_text(json.dumps([dataclasses.asdict(r) for r in report.rows]))


if __name__ == "__main__":
    main()
