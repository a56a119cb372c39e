"""Population benchmark (issue 5). Prints figures measured in this run on a local Ray.

* aggregate episodes/s of 1 and of 2 member actors training at once (one CPU
  and one torch thread each), and their ratio (target >= 1.7 on 2 cores);
* the PBT step's overhead - everything the driver does between segments
  (Optuna tell/ask, exploit through the object store, explore, checkpoints,
  Parquet writes) - as a fraction of a segment's training time (target <= 5%),
  from a real search with configs/default.yaml's economy.

Usage: python bench/population_scaling.py [--episodes 100]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import ray

from pbt_econ.config.load import load_config
from populations.actor import remote_worker_class
from populations.driver import run_search


def aggregate_rate(config, members: int, episodes: int) -> float:
    worker = remote_worker_class()
    actors = [worker.options(num_cpus=1).remote(config, config.curriculum, i, f"b{i}", 1) for i in range(members)]
    ray.get([a.train.remote(5) for a in actors])  # warm-up (and initial evaluation)
    start = time.perf_counter()
    ray.get([a.train.remote(episodes) for a in actors])
    elapsed = time.perf_counter() - start
    for a in actors:
        ray.kill(a)
    return members * episodes / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=100)
    args = parser.parse_args()
    config = load_config()
    ray.init(num_cpus=2, include_dashboard=False, _node_ip_address="127.0.0.1", log_to_driver=False)
    try:
        one = aggregate_rate(config, 1, args.episodes)
        two = aggregate_rate(config, 2, args.episodes)
        print(f"aggregate episodes/s: 1 member {one:.2f}, 2 members {two:.2f}")
        print(f"RATIO 2 members / 1 member = {two / one:.2f}  (target >= 1.7)")
        search = load_config(overrides=["population.size=4", "population.episodes=300",
                                         "population.ready_interval=100", "best_response.episodes=1",
                                         "best_response.eval_episodes=1", "best_response.types=[consumer]"])
        with tempfile.TemporaryDirectory() as tmp:
            result = run_search(search, Path(tmp), show_progress=False)
        train = sum(t for t, _ in result.segment_times)
        driver = sum(d for _, d in result.segment_times)
        print("segments (train s, driver s): " + ", ".join(f"({t:.1f}, {d:.2f})" for t, d in result.segment_times))
        print(f"RATIO PBT step overhead / segment training time = {driver / train:.3f}  (target <= 0.05)")
    finally:
        ray.shutdown()


if __name__ == "__main__":
    main()
