"""Paper vs no curriculum on configs/default.yaml over several seeds (issue 3).

Trains one member per (curriculum, seed) for ``training.episodes`` episodes on
one thread and prints, per curriculum, how many ended non-trivial (hours,
production and consumption clearly above zero) and the final evaluation
figures. Run one curriculum per process to use both cores:

    python bench/curricula.py --curriculum paper & python bench/curricula.py --curriculum none
    python bench/curricula.py --curriculum none --set economy.open_economy=false
"""

from __future__ import annotations

import argparse
import time

import torch

from pbt_econ.config import load_config
from pbt_econ.member import Member


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--curriculum", default="paper", help="paper, none or a curriculum file")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="config overrides, e.g. --set economy.open_economy=false")
    args = parser.parse_args()
    torch.set_num_threads(1)
    config = load_config(overrides=[f"curriculum={{base: {args.curriculum}, time_scale: 0.005}}", *args.overrides])
    nontrivial = 0
    for seed in range(args.seeds):
        start = time.perf_counter()
        member = Member(config, seed=seed, member_id=f"{args.curriculum}-{seed}")
        member.train(config.training.episodes)
        stats = member.evaluate(4, seed=config.best_response.eval_seed).stats.descriptors
        ok = stats.hours > 1 and stats.production > 1 and stats.consumption > 0.1
        nontrivial += ok
        print(f"{args.curriculum:>6} seed {seed}: welfare {stats.welfare:7.1f}  hours {stats.hours:6.1f}  "
              f"production {stats.production:6.1f}  consumption {stats.consumption:5.2f}  price {stats.price:6.0f}  "
              f"income tax {stats.income_tax:.2f}  {'non-trivial' if ok else 'TRIVIAL'}  "
              f"({time.perf_counter() - start:.0f} s)", flush=True)
    print(f"{args.curriculum}: {nontrivial}/{args.seeds} non-trivial after {config.training.episodes} episodes")


if __name__ == "__main__":
    main()
