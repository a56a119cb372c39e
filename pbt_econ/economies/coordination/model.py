"""A batched technology-adoption (coordination) game with increasing returns (docs/ground-truth.md).

One agent type, ``agent`` (``N`` agents, one shared policy, one binary head:
``adopt`` in {0, 1}). The stage game is repeated ``episode_length`` times with
no state but the clock: with ``m`` adopters (counting oneself) an adopter earns

.. math::  u = \\theta m / N - \\kappa,

an idler 0. For :math:`\\theta / N < \\kappa < \\theta` (the default 0.1 < 0.3 < 1) there
are exactly two pure equilibria, all-idle (payoff 0) and all-adopt (payoff
:math:`\\theta - \\kappa`), and an unstable symmetric mixed one. Other
:math:`(\\theta, \\kappa)` are allowed: for :math:`\\kappa < \\theta / N` adopting is dominant,
for :math:`\\kappa > \\theta` idling is, and :func:`.solution.pure_equilibria` lists
what exists. Agents observe only ``[1, t / T]`` (no history), so every stage
is the one-shot game.

The curriculum mask on ``adopt`` starts at 0 by default: agents may only idle
until the mask widens (start 1: only adopt), which lets a curriculum pick the
basin of attraction a run starts in.

Units: payoffs in utility per agent per step. Shapes: ``[B, N]`` per agent, ``[B]`` per copy.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import torch

from pbt_econ.core.errors import ConfigError, check_number
from pbt_econ.economies.grids import range_mask
from pbt_econ.economies.protocol import AgentType, DescriptorSpec, Economy, Regime
from pbt_econ.economies.single import SingleType

__all__ = ["ACTIVE_ABOVE", "IDLE_BELOW", "CoordinationActions", "CoordinationConfig", "CoordinationEconomy",
           "CoordinationState", "build"]

IDLE_BELOW = 0.1
"""Adoption below which an outcome is ``idle`` (and trivial)."""
ACTIVE_ABOVE = 0.9
"""Adoption above which an outcome is ``active``."""


@dataclass(frozen=True)
class CoordinationConfig:
    """Constants of the adoption game (YAML section ``economy:`` with ``kind: coordination``)."""

    kind: str = "coordination"
    """Which economy (:mod:`pbt_econ.economies.registry`); this class is the ``coordination`` kind's config."""
    num_agents: int = 10
    """``N``: agents in one game."""
    theta: float = 1.0
    """:math:`\\theta` > 0: an adopter's payoff when everyone adopts, before the cost."""
    kappa: float = 0.3
    """:math:`\\kappa` >= 0: an adopter's cost per step (two pure equilibria iff theta / N < kappa < theta)."""
    episode_length: int = 5
    """``T``: repetitions of the stage game per episode."""

    def __post_init__(self) -> None:
        if self.kind != "coordination":
            raise ConfigError(f"kind = {self.kind!r}: this config is the 'coordination' economy's")
        check_number("num_agents", self.num_agents, low=1, integer=True)
        check_number("theta", self.theta, low=0, low_open=True)
        check_number("kappa", self.kappa, low=0)
        check_number("episode_length", self.episode_length, low=1, integer=True)


@dataclass(frozen=True)
class CoordinationState:
    """The state of ``B`` game copies: the clock and the curriculum's factor on the return to adoption."""

    time: torch.Tensor
    """``[B]`` step index, 0 at reset."""
    return_scale: torch.Tensor
    """``[B]`` factor on ``theta`` this episode (the curriculum's ``theta_scale``; 1 in evaluation and best
    response): a technology whose return matures over training. The game itself has factor 1."""


@dataclass(frozen=True)
class CoordinationActions:
    """Decoded actions of one step."""

    adopt: torch.Tensor
    """``[B, N]`` 1.0 for adopters, 0.0 for idlers."""


DESCRIPTORS = (
    DescriptorSpec("adoption", "fraction of agents", "mean fraction of agents adopting"),
    DescriptorSpec("welfare", "utility per agent per step", "mean payoff per agent per step"),
    DescriptorSpec("reward_agent", "utility per episode", "mean agent episode return"),
)
"""Coordination descriptors: means over game copies, agents and steps (``reward_agent``: per episode)."""


def _is_idle(d: Mapping[str, float]) -> bool:
    return d["adoption"] < IDLE_BELOW


REGIMES = (
    Regime("idle", f"adoption < {IDLE_BELOW:g} (the all-idle equilibrium: nobody adopts)", _is_idle),
    Regime("active", f"adoption > {ACTIVE_ABOVE:g} (the all-adopt equilibrium)",
           lambda d: d["adoption"] > ACTIVE_ABOVE),
    Regime("mixed", "otherwise: partial adoption (near the unstable mixed equilibrium, or not converged)",
           lambda d: True),
)
"""Regime rules; the first that holds names the regime."""


class _Summary:
    """Step totals of one rollout; :meth:`finish` divides by the number of steps added."""

    def __init__(self, device: torch.device, dtype: torch.dtype) -> None:
        self.totals = {k: torch.zeros((), device=device, dtype=dtype) for k in ("adoption", "welfare")}
        self.steps = 0

    def add(self, state: CoordinationState, actions: CoordinationActions, info: Mapping[str, torch.Tensor]) -> None:
        self.totals["adoption"] += actions.adopt.mean()
        self.totals["welfare"] += info["payoff"].mean()
        self.steps += 1

    def finish(self, final: CoordinationState, returns: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Descriptor values (NaN step means if no step was added)."""
        steps = self.steps if self.steps else float("nan")
        out = {k: v / steps for k, v in self.totals.items()}
        out["reward_agent"] = returns["agent"].mean().to(self.totals["adoption"].dtype)
        return out


class CoordinationEconomy(SingleType, Economy):
    """``B`` copies of the adoption game (built by :func:`build`). :meth:`step` is pure and deterministic."""

    AGENT = "agent"
    ACTION = "adopt"

    kind = "coordination"
    descriptors = DESCRIPTORS
    regimes = REGIMES
    fitness_descriptor = "welfare"
    """The curriculum's ``theta_scale`` (``theta_anneal``) scales the return to adoption ``theta``: early in
    training adopting is dominated, so learners settle idle before the full game begins (the search's
    route to the all-idle equilibrium; configs/coordination.yaml)."""

    def __init__(self, config: CoordinationConfig, batch_size: int, device: torch.device | str = "cpu",
                 dtype: torch.dtype = torch.float32) -> None:
        check_number("batch_size", batch_size, low=1, integer=True)
        if dtype not in (torch.float32, torch.float64):
            raise ConfigError(f"dtype = {dtype}: must be torch.float32 or torch.float64")
        self.config = config
        self.batch_size = batch_size
        self.device, self.dtype = torch.device(device), dtype
        self.episode_length = config.episode_length
        self.grid = torch.tensor((0.0, 1.0), device=self.device, dtype=dtype)
        scale = max(abs(config.theta - config.kappa), config.kappa, 1e-6)
        self.agent_types = (
            AgentType("agent", config.num_agents, 2, 1, 2, actions=("adopt",), mask_actions=("adopt",),
                      training_defaults={"reward_scale": scale}, tolerance=0.05),
        )

    # ------------------------------------------------------------------ protocol
    def reset(self, theta_scale: float = 1.0, generator: torch.Generator | None = None) -> CoordinationState:
        """Clock at 0; ``theta_scale`` multiplies ``theta`` for the episode (1: the game itself)."""
        zeros = torch.zeros(self.batch_size, device=self.device, dtype=self.dtype)
        return CoordinationState(time=zeros, return_scale=zeros + float(theta_scale))

    def grid_values(self):
        return (0, 1)

    def observe(self, state: CoordinationState) -> dict[str, torch.Tensor]:
        """``{"agent": [B, N, 2]}``: ``[1, t / T]`` for every agent."""
        B, N = state.time.shape[0], self.config.num_agents
        obs = torch.stack([torch.ones_like(state.time), state.time / self.episode_length], dim=-1)
        return {"agent": obs.unsqueeze(1).expand(B, N, 2)}


    def mask(self, agent_type: str, progress: float, start: Mapping[str, float]) -> torch.Tensor:
        """``[1, 2]`` bool: at progress < 1 only the choice nearest ``start["adopt"]`` (default 0), at 1 both."""
        self._check_type(agent_type)
        unknown = sorted(set(start) - {"adopt"})
        if unknown:
            raise ConfigError(f"agent.mask.start.{unknown[0]}: unknown action; allowed: adopt")
        return range_mask(self.grid, float(start.get("adopt", 0.0)), float(progress)).unsqueeze(0)

    def decode(self, indices: Mapping[str, torch.Tensor]) -> CoordinationActions:
        """``{"agent": [B, N, 1]}`` int64 indices (0 idle, 1 adopt) -> ``adopt [B, N]`` as 0.0 / 1.0."""
        return CoordinationActions(adopt=self.grid[indices["agent"][..., 0]])

    def step(self, state: CoordinationState, actions: CoordinationActions):
        """One stage game: ``(next_state, {"agent": payoff [B, N]}, info)``; ``state`` is not modified.

        ``info``: ``adopters [B]`` (count ``m``), ``payoff [B, N]`` (utility).
        """
        cfg = self.config
        adopt = actions.adopt.to(self.dtype)
        adopters = adopt.sum(-1)  # [B]
        theta = cfg.theta * state.return_scale  # [B]
        payoff = adopt * (theta * adopters / cfg.num_agents - cfg.kappa).unsqueeze(-1)  # [B, N]
        nxt = CoordinationState(time=state.time + 1.0, return_scale=state.return_scale)
        return nxt, {"agent": payoff}, {"adopters": adopters, "payoff": payoff}

    def summary(self) -> _Summary:
        return _Summary(self.device, self.dtype)

    def reward_descriptor(self, agent_type: str) -> str:
        self._check_type(agent_type)
        return "reward_agent"

    def trivial(self, descriptors: Mapping[str, float]) -> bool:
        """The zero-activity outcome: adoption below :data:`IDLE_BELOW`."""
        return _is_idle(descriptors)

    def budgets(self, state: CoordinationState) -> None:
        return None

    def invariants(self, state: CoordinationState, actions: CoordinationActions, next_state: CoordinationState,
                   info: Mapping[str, torch.Tensor]) -> list[str]:
        """Binary actions, idlers earn 0, adopters earn :math:`\\theta m / N - \\kappa`, the clock advances."""
        cfg, problems = self.config, []
        adopt, payoff, m = actions.adopt.to(self.dtype), info["payoff"], info["adopters"]
        if not bool(((adopt == 0) | (adopt == 1)).all()):
            problems.append("adopt not in {0, 1}")
        if not torch.equal(m, adopt.sum(-1)) or bool((m < 0).any()) or bool((m > cfg.num_agents).any()):
            problems.append("adopter count differs from the actions")
        if bool((payoff[adopt == 0] != 0).any()):
            problems.append("an idler earned a non-zero payoff")
        expected = (cfg.theta * state.return_scale * m / cfg.num_agents - cfg.kappa).unsqueeze(-1).expand_as(payoff)
        if not torch.allclose(payoff[adopt == 1], expected[adopt == 1], rtol=1e-6, atol=1e-6 * cfg.theta):
            problems.append("an adopter's payoff differs from theta m / N - kappa")
        if not torch.equal(next_state.time, state.time + 1.0):
            problems.append("clock did not advance by one step")
        return problems


def build(run_config, batch_size: int, device: torch.device, dtype: torch.dtype) -> CoordinationEconomy:
    """The adoption game of ``run_config.economy`` (a :class:`CoordinationConfig`) with ``batch_size`` copies."""
    config = run_config.economy
    if not isinstance(config, CoordinationConfig):
        raise ConfigError(f"economy = {type(config).__name__}: the coordination economy needs a CoordinationConfig")
    return CoordinationEconomy(config, batch_size, device, dtype)
