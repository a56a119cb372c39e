"""Benchmark of one training episode (issue 3). Prints figures measured in this run.

* the time of one full training episode at paper scale (B=128, C=100, F=10,
  T=10; rollout plus PPO updates for all three types);
* the FLOP floor: the episode's matrix FLOPs (forward passes of the rollout,
  forward + backward of every PPO epoch, all three policies) divided by the
  matmul GFLOP/s measured here on the same shapes; the ratio episode / floor
  (target <= 2 on 2 cores);
* episodes/s of configs/default.yaml (one member, one thread).

Usage: python bench/train_episode.py [--threads 2] [--episodes 3]
"""

from __future__ import annotations

import argparse
import time

import torch

from pbt_econ.config.load import CONFIG_DIR, load_config
from pbt_econ.learning.member import Member


def matmul_gflops(rows: int, inner: int, cols: int, repeats: int = 20) -> float:
    """Measured GFLOP/s of ``[rows, inner] @ [inner, cols]`` (float32)."""
    a, b = torch.randn(rows, inner), torch.randn(inner, cols)
    for _ in range(3):
        a @ b
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    return 2 * rows * inner * cols * repeats / (time.perf_counter() - start) / 1e9


def episode_flops(member: Member) -> tuple[float, dict[str, float]]:
    """Matrix FLOPs of one training episode: rollout forward + epochs x (forward + 2 x backward)."""
    cfg = member.config
    B, T = cfg.training.batch_size, member.economy.episode_length
    H = cfg.training.hidden_size
    per_type = {}
    for a in member.economy.agent_types:
        t = a.name
        net = member.policies[t]
        out = net.heads * net.width + 1
        macs_per_row = a.obs_size * H + H * H + H * out
        rows = T * B * a.count
        forward = 2 * macs_per_row * rows
        per_type[t] = forward * (1 + 3 * cfg.training.update_epochs)
    return sum(per_type.values()), per_type


def sampling_benchmark(member: Member) -> None:
    """Sampling all consumer heads at B*C scale: our inverse-CDF sampler (one uniform per head) vs per-head torch.distributions."""
    from pbt_econ.learning import policies

    cfg = member.config
    B, C = cfg.training.batch_size, cfg.economy.num_consumers
    state = member.economy.reset()
    obs = member.economy.observe(state)["consumer"].reshape(B * C, -1)
    with torch.no_grad():
        logits, _ = member.policies["consumer"](obs)
    logits = policies.masked_logits(logits, member.economy.mask("consumer", 1.0, {}))
    gen = torch.Generator().manual_seed(0)

    def ours():
        idx = policies.sample(logits, gen)
        return policies.log_prob(logits, idx)

    def per_head():
        out = []
        for h in range(logits.shape[1]):
            dist = torch.distributions.Categorical(logits=logits[:, h])
            a = dist.sample()
            out.append(dist.log_prob(a))
        return torch.stack(out, -1).sum(-1)

    def best(fn, n=10):
        times = []
        for _ in range(n):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        return min(times)

    fast, slow = best(ours), best(per_head)
    with torch.no_grad():
        forward = best(lambda: member.policies["consumer"](obs))
    print(f"sampling {B * C} consumers x {logits.shape[1]} heads: {fast * 1e3:.2f} ms "
          f"(per-head torch.distributions loop {slow * 1e3:.2f} ms, {slow / fast:.1f}x slower); "
          f"RATIO sampling / consumer forward = {fast / forward:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--episodes", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"threads={torch.get_num_threads()} torch={torch.__version__}")

    cfg = load_config(CONFIG_DIR / "paper-open.yaml", ["device=cpu", "curriculum=none"])
    member = Member(cfg)
    point = member.spec_at(10_000)  # every type learns, full grids
    member.train_episode(point)  # warm-up
    flops, per_type = episode_flops(member)
    B, C, T, H = cfg.training.batch_size, cfg.economy.num_consumers, cfg.economy.episode_length, 128
    # This machine's speed varies from second to second: interleave the two measurements
    # and compare best with best.
    episode_times, throughputs = [], []
    for _ in range(args.episodes):
        start = time.perf_counter()
        member.train_episode(point)
        episode_times.append(time.perf_counter() - start)
        throughputs.append(matmul_gflops(T * B * C // cfg.training.minibatches, H, H, repeats=10))
    episode_s, gflops = min(episode_times), max(throughputs)
    floor_s = flops / (gflops * 1e9)
    print(f"paper scale (configs/paper-open.yaml on CPU): B={B} C={C} F={cfg.economy.num_firms} T={T}, "
          f"PPO {cfg.training.update_epochs} epochs x {cfg.training.minibatches} minibatches, all types learning")
    print(f"  episode time {episode_s:.3f} s (best of {args.episodes}; median "
          f"{sorted(episode_times)[len(episode_times) // 2]:.3f} s)")
    print(f"  matrix FLOPs per episode {flops / 1e9:.1f} GFLOP "
          + ", ".join(f"{t} {v / 1e9:.2f}" for t, v in per_type.items()))
    print(f"  matmul throughput {gflops:.1f} GFLOP/s (best of {args.episodes}) -> floor {floor_s:.3f} s")
    print(f"RATIO episode / FLOP floor = {episode_s / floor_s:.2f}  (target <= 2)")

    sampling_benchmark(member)

    torch.set_num_threads(1)
    default = load_config()
    member = Member(default)
    member.train(5)
    start = time.perf_counter()
    member.train(50)
    rate = 50 / (time.perf_counter() - start)
    print(f"configs/default.yaml (C={default.economy.num_consumers}, F={default.economy.num_firms}, "
          f"B={default.training.batch_size}), one thread: {rate:.1f} episodes/s")


if __name__ == "__main__":
    main()
