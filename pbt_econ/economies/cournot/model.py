"""A batched Cournot market: ``N`` firms choose quantities, linear inverse demand (docs/ground-truth.md).

One agent type, ``firm`` (``N`` agents, one shared policy, one head over the
quantity grid). The stage game is repeated ``episode_length`` times with no
state but the clock, so every stage is the one-shot game

.. math::  P = a - b Q, \\qquad \\pi_i = q_i (P - c), \\qquad Q = \\sum_i q_i.

The price is **not** clamped at zero. With a clamp, :math:`\\pi_i` would be a
non-linear function of the others' quantities, and the expected profit
against mixed opponents would depend on their whole joint distribution.
Without it, :math:`\\pi_i` is linear in :math:`Q_{-i}`, so expected profits
depend only on the others' mean quantity and the exact gains of mixed profiles
are closed forms (:mod:`.solution`). A negative price is a loss to the firms,
not a bug; on the default grid it only happens when total output exceeds 100.

Units: quantities in units of the good per firm per step, money per step.
Shapes: ``[B, N]`` per firm, ``[B]`` per economy copy.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import torch

from pbt_econ.core.errors import ConfigError, check_number
from pbt_econ.economies.cournot import solution
from pbt_econ.economies.grids import range_mask
from pbt_econ.economies.protocol import AgentType, DescriptorSpec, Economy, Regime
from pbt_econ.economies.single import SingleType

__all__ = ["CournotActions", "CournotConfig", "CournotEconomy", "CournotState", "build"]


@dataclass(frozen=True)
class CournotConfig:
    """Constants of the Cournot market (YAML section ``economy:`` with ``kind: cournot``)."""

    kind: str = "cournot"
    """Which economy (:mod:`pbt_econ.economies.registry`); this class is the ``cournot`` kind's config."""
    num_firms: int = 5
    """``N``: firms in one market."""
    a: float = 100.0
    """Demand intercept ``a`` (money per unit): the price at zero output."""
    b: float = 1.0
    """Demand slope ``b`` > 0 (money per unit per unit of output)."""
    c: float = 10.0
    """Marginal cost ``c`` >= 0 (money per unit); must be below ``a``."""
    quantities: tuple[float, ...] = field(default=tuple(float(q) for q in range(31)))
    """Quantity grid (units per firm per step), non-negative and strictly increasing."""
    episode_length: int = 1
    """``T``: repetitions of the stage game per episode."""

    def __post_init__(self) -> None:
        if self.kind != "cournot":
            raise ConfigError(f"kind = {self.kind!r}: this config is the 'cournot' economy's")
        check_number("num_firms", self.num_firms, low=1, integer=True)
        check_number("a", self.a)
        check_number("b", self.b, low=0, low_open=True)
        check_number("c", self.c, low=0)
        if self.c >= self.a:
            raise ConfigError(f"c = {self.c!r}: marginal cost must be below the demand intercept a = {self.a!r}")
        check_number("episode_length", self.episode_length, low=1, integer=True)
        grid = self.quantities
        if isinstance(grid, list):
            grid = tuple(grid)
            object.__setattr__(self, "quantities", grid)
        if not isinstance(grid, tuple) or not grid:
            raise ConfigError(f"quantities = {grid!r}: must be a non-empty list of numbers")
        for i, q in enumerate(grid):
            check_number(f"quantities[{i}]", q, low=0)
        if any(h <= g for g, h in zip(grid, grid[1:])):
            raise ConfigError(f"quantities = {list(grid)}: values must be strictly increasing")


@dataclass(frozen=True)
class CournotState:
    """The state of ``B`` market copies: only the clock (the stage game has no state)."""

    time: torch.Tensor
    """``[B]`` step index, 0 at reset."""


@dataclass(frozen=True)
class CournotActions:
    """Decoded actions of one step."""

    quantity: torch.Tensor
    """``[B, N]`` units each firm brings to market."""


DESCRIPTORS = (
    DescriptorSpec("quantity", "units per firm per step", "mean quantity per firm"),
    DescriptorSpec("price", "money per unit", "mean market price P = a - b Q"),
    DescriptorSpec("profit", "money per firm per step", "mean profit per firm"),
    DescriptorSpec("welfare", "money per market per step", "total surplus: consumer surplus b Q^2 / 2 plus profits"),
    DescriptorSpec("reward_firm", "money per episode", "mean firm episode return"),
)
"""Cournot descriptors: means over economy copies, firms and steps (``reward_firm``: per episode)."""


class _Summary:
    """Step totals of one rollout; :meth:`finish` divides by the number of steps added."""

    def __init__(self, device: torch.device, dtype: torch.dtype) -> None:
        self.totals = {k: torch.zeros((), device=device, dtype=dtype) for k in ("quantity", "price", "profit",
                                                                                 "welfare")}
        self.steps = 0

    def add(self, state: CournotState, actions: CournotActions, info: Mapping[str, torch.Tensor]) -> None:
        self.totals["quantity"] += actions.quantity.mean()
        self.totals["price"] += info["price"].mean()
        self.totals["profit"] += info["profit"].mean()
        self.totals["welfare"] += (info["consumer_surplus"] + info["profit"].sum(-1)).mean()
        self.steps += 1

    def finish(self, final: CournotState, returns: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Descriptor values (NaN step means if no step was added)."""
        steps = self.steps if self.steps else float("nan")
        out = {k: v / steps for k, v in self.totals.items()}
        out["reward_firm"] = returns["firm"].mean().to(self.totals["quantity"].dtype)
        return out


class CournotEconomy(SingleType, Economy):
    """``B`` copies of the Cournot market (built by :func:`build`). :meth:`step` is pure and deterministic."""

    AGENT = "firm"
    ACTION = "quantity"

    kind = "cournot"
    descriptors = DESCRIPTORS
    fitness_descriptor = "welfare"

    def __init__(self, config: CournotConfig, batch_size: int, device: torch.device | str = "cpu",
                 dtype: torch.dtype = torch.float32) -> None:
        check_number("batch_size", batch_size, low=1, integer=True)
        if dtype not in (torch.float32, torch.float64):
            raise ConfigError(f"dtype = {dtype}: must be torch.float32 or torch.float64")
        self.config = config
        self.batch_size = batch_size
        self.device, self.dtype = torch.device(device), dtype
        self.episode_length = config.episode_length
        self.grid = torch.tensor(config.quantities, device=self.device, dtype=dtype)
        a, b, c, n = config.a, config.b, config.c, config.num_firms
        scale = max(solution.nash_profit(a, b, c, n), 1e-6)
        self.agent_types = (
            AgentType("firm", n, 2, 1, len(config.quantities), actions=("quantity",), mask_actions=("quantity",),
                      training_defaults={"reward_scale": scale}, tolerance=0.05),
        )
        q_nash, q_coll, q_comp = (solution.nash_quantity(a, b, c, n), solution.collusive_quantity(a, b, c, n),
                                  (a - c) / (b * n))
        low, high = (q_coll + q_nash) / 2, (q_nash + q_comp) / 2
        self.trivial_quantity = 0.01 * q_nash
        self.regimes = (
            Regime("collusive", f"quantity <= {low:g} (nearer the collusive {q_coll:g} than Nash {q_nash:g})",
                   lambda d: d["quantity"] <= low),
            Regime("nash", f"quantity <= {high:g} (nearer Nash {q_nash:g} than the competitive {q_comp:g})",
                   lambda d: d["quantity"] <= high),
            Regime("competitive", "otherwise: price near or below marginal cost", lambda d: True),
        )

    # ------------------------------------------------------------------ protocol
    def reset(self, theta_scale: float = 1.0, generator: torch.Generator | None = None) -> CournotState:
        """Clock at 0 (``theta_scale`` is ignored: nothing anneals)."""
        return CournotState(time=torch.zeros(self.batch_size, device=self.device, dtype=self.dtype))

    def grid_values(self):
        return self.config.quantities

    def observe(self, state: CournotState) -> dict[str, torch.Tensor]:
        """``{"firm": [B, N, 2]}``: ``[1, t / T]`` for every firm."""
        B, N = state.time.shape[0], self.config.num_firms
        obs = torch.stack([torch.ones_like(state.time), state.time / self.episode_length], dim=-1)
        return {"firm": obs.unsqueeze(1).expand(B, N, 2)}


    def mask(self, agent_type: str, progress: float, start: Mapping[str, float]) -> torch.Tensor:
        """``[1, K]`` bool: quantities within the window widening from ``start["quantity"]`` (default: smallest)."""
        self._check_type(agent_type)
        unknown = sorted(set(start) - {"quantity"})
        if unknown:
            raise ConfigError(f"firm.mask.start.{unknown[0]}: unknown action; allowed: quantity")
        begin = float(start.get("quantity", self.config.quantities[0]))
        return range_mask(self.grid, begin, float(progress)).unsqueeze(0)

    def decode(self, indices: Mapping[str, torch.Tensor]) -> CournotActions:
        """``{"firm": [B, N, 1]}`` int64 grid indices -> quantities ``[B, N]``."""
        return CournotActions(quantity=self.grid[indices["firm"][..., 0]])

    def step(self, state: CournotState, actions: CournotActions):
        """One stage game: ``(next_state, {"firm": profit [B, N]}, info)``; ``state`` is not modified.

        ``info``: ``total_quantity [B]`` units, ``price [B]`` money per unit,
        ``profit [B, N]`` money, ``consumer_surplus [B]`` money (:math:`b Q^2 / 2`).
        """
        cfg = self.config
        q = actions.quantity.to(self.dtype)  # [B, N]
        total = q.sum(-1)  # [B]
        price = cfg.a - cfg.b * total  # [B], not clamped (module docstring)
        profit = q * (price - cfg.c).unsqueeze(-1)  # [B, N]
        info = {"total_quantity": total, "price": price, "profit": profit,
                "consumer_surplus": 0.5 * cfg.b * total * total}
        return CournotState(time=state.time + 1.0), {"firm": profit}, info

    def summary(self) -> _Summary:
        return _Summary(self.device, self.dtype)

    def reward_descriptor(self, agent_type: str) -> str:
        self._check_type(agent_type)
        return "reward_firm"

    def trivial(self, descriptors: Mapping[str, float]) -> bool:
        """No output: mean quantity below 1% of the Nash quantity."""
        return descriptors["quantity"] < self.trivial_quantity

    def budgets(self, state: CournotState) -> None:
        return None

    def describe_action(self, agent_type: str, index: int) -> str:
        """The decoded quantity of action ``index``."""
        return f"quantity={self.config.quantities[index]:g}"

    def invariants(self, state: CournotState, actions: CournotActions, next_state: CournotState,
                   info: Mapping[str, torch.Tensor]) -> list[str]:
        """Price on the demand curve, profits equal ``q (P - c)``, quantities on the grid, the clock advances."""
        cfg, problems = self.config, []
        q = actions.quantity.to(self.dtype)
        scale = 1e-5 * (abs(cfg.a) + cfg.b * float(q.sum(-1).abs().max()) + cfg.c + 1.0)
        if not torch.allclose(info["price"], cfg.a - cfg.b * q.sum(-1), rtol=0, atol=scale):
            problems.append("price off the demand curve a - b Q")
        expected = q * (info["price"] - cfg.c).unsqueeze(-1)
        if not torch.allclose(info["profit"], expected, rtol=0, atol=scale * (1.0 + float(q.abs().max()))):
            problems.append("profit differs from q (P - c)")
        if not bool((q.unsqueeze(-1) == self.grid).any(-1).all()):
            problems.append("quantity off the grid")
        if not torch.equal(next_state.time, state.time + 1.0):
            problems.append("clock did not advance by one step")
        return problems


def build(run_config, batch_size: int, device: torch.device, dtype: torch.dtype) -> CournotEconomy:
    """The Cournot market of ``run_config.economy`` (a :class:`CournotConfig`) with ``batch_size`` copies."""
    config = run_config.economy
    if not isinstance(config, CournotConfig):
        raise ConfigError(f"economy = {type(config).__name__}: the cournot economy needs a CournotConfig")
    return CournotEconomy(config, batch_size, device, dtype)

