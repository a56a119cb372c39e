"""Benchmark of Economy.step (issue 2). Prints figures measured in this run.

* agent-steps per second at paper scale (B=128, C=100, F=10);
* seconds per agent-step at C = 100, 1,000, 10,000 (and the ratio to C=100);
* the step's time as a ratio of the consumer network's forward pass (two
  hidden layers of 128) over the same B*C observations: the simulation should
  never be what training waits for (target <= 0.25).

Usage: python bench/economy_step.py [--device cpu|cuda] [--threads 2]
"""

from __future__ import annotations

import argparse
import time

import torch

from pbt_econ.economies.rbc.observe import observation_sizes, observe_consumer
from pbt_econ.economies.rbc.spaces import ActionSpaces, SpacesConfig
from pbt_econ.economy import Economy, EconomyConfig
from pbt_econ.learning.policies import ActorCritic


def timeit(fn, repeats: int, device: torch.device) -> float:
    """Median seconds of ``fn()`` over ``repeats`` calls, after two warm-up calls."""
    for _ in range(2):
        fn()
    times = []
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    times.sort()
    return times[len(times) // 2]


def setup(C: int, F: int, B: int, device: torch.device):
    cfg = EconomyConfig(num_consumers=C, num_firms=F)
    econ = Economy(cfg, B, device)
    spaces = ActionSpaces(SpacesConfig(), cfg, device, torch.float32)
    g = torch.Generator(device=device).manual_seed(0)
    consumer_idx = torch.cat([
        torch.randint(0, 11, (B, C, F), generator=g, device=device),
        torch.randint(0, 5, (B, C, 1), generator=g, device=device),
        torch.randint(0, F, (B, C, 1), generator=g, device=device),
    ], dim=-1)
    actions = spaces.decode(consumer_idx, torch.randint(0, 30, (B, F), generator=g, device=device),
                            torch.randint(0, 36, (B,), generator=g, device=device))
    state = econ.reset()
    state, _, _ = econ.step(state, actions)  # a mid-episode state with stock and prices
    return cfg, econ, state, actions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    print(f"device={device} threads={torch.get_num_threads()} torch={torch.__version__}")

    B, C, F = 128, 100, 10
    cfg, econ, state, actions = setup(C, F, B, device)
    step_s = timeit(lambda: econ.step(state, actions), 50, device)
    agent_steps = B * (C + F + 1)
    print(f"paper scale B={B} C={C} F={F}: step {step_s * 1e3:.3f} ms, "
          f"{agent_steps / step_s / 1e6:.2f} M agent-steps/s")

    net = ActorCritic(observation_sizes(F)["consumer"], F + 2, 11, 128).to(device)
    obs = observe_consumer(state, cfg)
    with torch.no_grad():
        fwd_s = timeit(lambda: net(obs), 50, device)
    print(f"consumer network forward over B*C={B * C} observations: {fwd_s * 1e3:.3f} ms")
    print(f"RATIO step / consumer forward = {step_s / fwd_s:.3f}  (target <= 0.25)")

    per_agent = {}
    for c in (100, 1000, 10000):
        _, e, s, a = setup(c, F, B, device)
        t = timeit(lambda e=e, s=s, a=a: e.step(s, a), 20 if c < 10000 else 8, device)
        per_agent[c] = t / (B * (c + F + 1))
        print(f"C={c:>6}: step {t * 1e3:8.3f} ms, {per_agent[c] * 1e9:7.2f} ns per agent-step")
    print(f"RATIO time per agent-step C=10000 / C=100 = {per_agent[10000] / per_agent[100]:.3f}  (target <= 1.3)")


if __name__ == "__main__":
    main()
