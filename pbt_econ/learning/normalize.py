"""Running return normalisation: rewards in units the value function can learn.

A type's rewards are first divided by its fixed ``reward_scale``; with
``training.normalize_returns`` they are then divided by the running standard
deviation of that type's discounted returns (over every agent, copy and step
seen so far), as Stable-Baselines3's ``VecNormalize`` and CleanRL's PPO do.
Why: at the paper's size firm returns reach ~10⁶ per episode and welfare
~10⁴, so with fixed scales the critic's targets are in the tens to hundreds;
its loss then dominates the shared trunk's gradient (clipped to
``max_grad_norm``) and the policy barely learns. Dividing by the running
standard deviation keeps value targets O(1) at every economy size and phase
of the curriculum without hand-tuned scales. (We do not subtract the mean:
shifting rewards would change what an episode's end is worth.)

:class:`RunningMoments` merges batch moments with Chan et al.'s parallel
algorithm in float64; it is plain data (three floats), saved in checkpoints
and copied by PBT exploit with the weights it belongs to.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

__all__ = ["RunningMoments", "discounted_returns"]

EPSILON = 1e-8


@dataclass
class RunningMoments:
    """Count, mean and (population) variance of every value seen so far."""

    count: float = 0.0
    mean: float = 0.0
    var: float = 1.0

    def update(self, values: torch.Tensor) -> None:
        """Merge the moments of ``values`` (any shape; all elements are samples)."""
        x = values.detach().to(torch.float64).flatten()
        n = x.numel()
        if n == 0:
            return
        batch_mean = float(x.mean())
        batch_var = float(x.var(unbiased=False))
        if self.count == 0:
            self.count, self.mean, self.var = float(n), batch_mean, batch_var
            return
        total = self.count + n
        delta = batch_mean - self.mean
        m2 = self.var * self.count + batch_var * n + delta * delta * self.count * n / total
        self.mean += delta * n / total
        self.var = m2 / total
        self.count = total

    @property
    def std(self) -> float:
        return math.sqrt(self.var) if self.count > 0 else 1.0

    def scale(self) -> float:
        """The divisor for rewards: the running standard deviation (1 before any data)."""
        return max(self.std, EPSILON) if self.count > 0 else 1.0

    def to_dict(self) -> dict[str, float]:
        return {"count": self.count, "mean": self.mean, "var": self.var}

    @staticmethod
    def from_dict(data: dict[str, float]) -> RunningMoments:
        return RunningMoments(float(data["count"]), float(data["mean"]), float(data["var"]))


def discounted_returns(rewards: torch.Tensor, gamma: float) -> torch.Tensor:
    """``G_t = r_t + gamma * G_{t+1}`` over the first (time) dimension of ``rewards [T, ...]``; no bootstrap."""
    out = torch.zeros_like(rewards)
    running = torch.zeros_like(rewards[0])
    for t in range(rewards.shape[0] - 1, -1, -1):
        running = rewards[t] + gamma * running
        out[t] = running
    return out
