"""A batched finite-horizon Brock-Mirman economy: households choose savings rates (docs/ground-truth.md).

One agent type, ``household`` (``H`` per economy copy, one shared policy, one
head over the savings-rate grid). Households are independent: each has its
own capital and its own iid shock. In period :math:`t = 0, \\dots, T`

.. math::  y_t = z_t k_t^\\alpha, \\quad c_t = (1 - s_t) y_t, \\quad
           k_{t+1} = \\max(s_t y_t, k_{\\min}), \\quad r_t = \\beta^t \\ln c_t,

with :math:`\\ln z_t \\sim N(-\\sigma^2/2, \\sigma^2)` iid per household and period,
drawn before the choice and observed. Rewards are already discounted, so the
undiscounted episode return (``gamma = 1``) is lifetime utility. The optimum
is :math:`s_t = \\alpha\\beta (1 - (\\alpha\\beta)^{T-t}) / (1 - (\\alpha\\beta)^{T-t+1})`
(:mod:`.solution`).

Consumption stays positive: grid rates lie in [0, 1), and the capital floor
:math:`k_{\\min}` (``capital_floor``) keeps output positive after a zero savings
rate. The floor never binds for positive rates on the default calibration
(capital stays above 1e-3), so simulated utilities match the closed forms.

Randomness: the economy owns a ``torch.Generator`` seeded with ``seed``;
:meth:`GrowthEconomy.reset` draws the episode's whole shock path into the
state, so :meth:`GrowthEconomy.step` is a pure, deterministic function of its
inputs. Shocks are drawn in float64 on the CPU, then cast: the same seed gives
the same shocks on every device and in both dtypes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import torch

from pbt_econ.core.errors import ConfigError, check_number
from pbt_econ.economies.growth import solution
from pbt_econ.economies.protocol import AgentType, DescriptorSpec, Economy, Regime
from pbt_econ.economies.single import SingleType

__all__ = ["GrowthActions", "GrowthConfig", "GrowthEconomy", "GrowthState", "build"]


@dataclass(frozen=True)
class GrowthConfig:
    """Constants of the growth economy (YAML section ``economy:`` with ``kind: growth``)."""

    kind: str = "growth"
    """Which economy (:mod:`pbt_econ.economies.registry`); this class is the ``growth`` kind's config."""
    num_households: int = 64
    """``H``: independent households per economy copy."""
    alpha: float = 0.36
    """Capital share :math:`\\alpha` in (0, 1) of production :math:`y = z k^\\alpha`."""
    beta: float = 0.95
    """Discount factor :math:`\\beta` in (0, 1] per period."""
    sigma: float = 0.1
    """Standard deviation :math:`\\sigma` >= 0 of the log shock, :math:`\\ln z \\sim N(-\\sigma^2/2, \\sigma^2)`."""
    horizon: int = 5
    """``T``: last decision period; an episode has ``T + 1`` periods ``t = 0..T``."""
    initial_capital: float = 1.0
    """:math:`k_0` > 0: every household's capital at ``t = 0``."""
    savings_rates: tuple[float, ...] = field(default=tuple(round(0.02 * i, 10) for i in range(50)))
    """Savings-rate grid, strictly increasing, each in [0, 1) (default 0.00, 0.02, ..., 0.98)."""
    capital_floor: float = 1e-8
    """:math:`k_{\\min}` > 0: smallest next-period capital (keeps output and consumption positive)."""
    seed: int = 0
    """Seed of the economy's shock generator (same seed, same shocks)."""

    def __post_init__(self) -> None:
        if self.kind != "growth":
            raise ConfigError(f"kind = {self.kind!r}: this config is the 'growth' economy's")
        check_number("num_households", self.num_households, low=1, integer=True)
        check_number("alpha", self.alpha, low=0, high=1, low_open=True, high_open=True)
        check_number("beta", self.beta, low=0, high=1, low_open=True)
        check_number("sigma", self.sigma, low=0)
        check_number("horizon", self.horizon, low=1, integer=True)
        check_number("initial_capital", self.initial_capital, low=0, low_open=True)
        check_number("capital_floor", self.capital_floor, low=0, low_open=True)
        check_number("seed", self.seed, low=0, integer=True)
        grid = self.savings_rates
        if isinstance(grid, list):
            grid = tuple(grid)
            object.__setattr__(self, "savings_rates", grid)
        if not isinstance(grid, tuple) or not grid:
            raise ConfigError(f"savings_rates = {grid!r}: must be a non-empty list of numbers")
        for i, s in enumerate(grid):
            check_number(f"savings_rates[{i}]", s, low=0, high=1, high_open=True)
        if any(h <= g for g, h in zip(grid, grid[1:])):
            raise ConfigError(f"savings_rates = {list(grid)}: values must be strictly increasing")

    @property
    def episode_length(self) -> int:
        """Periods per episode, ``T + 1``."""
        return self.horizon + 1


@dataclass(frozen=True)
class GrowthState:
    """The state of ``B`` economy copies with ``H`` households each."""

    time: torch.Tensor
    """``[B]`` period ``t``, 0 at reset."""
    capital: torch.Tensor
    """``[B, H]`` capital :math:`k_t` (units of the good)."""
    shock: torch.Tensor
    """``[B, H]`` this period's productivity :math:`z_t` (observed before the choice)."""
    shock_path: torch.Tensor
    """``[B, T + 2, H]`` the episode's shocks :math:`z_0 .. z_{T+1}` drawn at reset (entry ``T + 1`` only
    fills the terminal state); agents observe only ``shock``."""


@dataclass(frozen=True)
class GrowthActions:
    """Decoded actions of one period."""

    savings: torch.Tensor
    """``[B, H]`` savings rate :math:`s_t` in [0, 1) of each household."""


class _Summary:
    """Step totals of one rollout: means over copies and households, per step and per period."""

    _MEANS = ("savings_rate", "consumption", "capital", "output", "welfare")

    def __init__(self, horizon: int, device: torch.device, dtype: torch.dtype) -> None:
        self.T = horizon
        self.totals = {k: torch.zeros((), device=device, dtype=dtype) for k in self._MEANS}
        self.by_period = torch.zeros(horizon + 1, device=device, dtype=dtype)
        self.rows_by_period = torch.zeros(horizon + 1, device=device, dtype=dtype)
        self.steps = 0

    def add(self, state: GrowthState, actions: GrowthActions, info: Mapping[str, torch.Tensor]) -> None:
        self.totals["savings_rate"] += actions.savings.mean()
        self.totals["consumption"] += info["consumption"].mean()
        self.totals["capital"] += state.capital.mean()
        self.totals["output"] += info["output"].mean()
        self.totals["welfare"] += info["utility"].mean()  # summed over steps: lifetime utility
        period = state.time.long().clamp(0, self.T)
        self.by_period.index_add_(0, period, actions.savings.mean(-1).to(self.by_period.dtype))
        self.rows_by_period.index_add_(0, period, torch.ones_like(self.by_period[period]))
        self.steps += 1

    def finish(self, final: GrowthState, returns: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Descriptor values; a step mean is NaN if no step was added, ``savings_t<t>`` if period t never ran."""
        steps = self.steps if self.steps else float("nan")
        out = {k: v / steps for k, v in self.totals.items() if k != "welfare"}
        out["welfare"] = self.totals["welfare"] * (1.0 if self.steps else float("nan"))  # sum over periods
        out["reward_household"] = returns["household"].mean().to(self.by_period.dtype)
        per_period = self.by_period / self.rows_by_period  # 0 / 0 = NaN for periods never reached
        out.update({f"savings_t{t}": per_period[t] for t in range(self.T + 1)})
        return out


class GrowthEconomy(SingleType, Economy):
    """``B`` copies of the growth economy (built by :func:`build`)."""

    AGENT = "household"
    ACTION = "savings"

    kind = "growth"
    fitness_descriptor = "welfare"
    trivial_savings = 0.02
    """Mean savings rate below which the outcome counts as trivial (households eat their capital)."""

    def __init__(self, config: GrowthConfig, batch_size: int, device: torch.device | str = "cpu",
                 dtype: torch.dtype = torch.float32) -> None:
        check_number("batch_size", batch_size, low=1, integer=True)
        if dtype not in (torch.float32, torch.float64):
            raise ConfigError(f"dtype = {dtype}: must be torch.float32 or torch.float64")
        self.config = config
        self.batch_size = batch_size
        self.device, self.dtype = torch.device(device), dtype
        self.episode_length = config.episode_length
        self.grid = torch.tensor(config.savings_rates, device=self.device, dtype=dtype)
        self.generator = torch.Generator(device="cpu").manual_seed(config.seed)
        self.agent_types = (
            AgentType("household", config.num_households, 3, 1, len(config.savings_rates), actions=("savings",),
                      training_defaults={"reward_scale": 1.0, "gamma": 1.0}, tolerance=0.02),
        )
        T = config.horizon
        self.descriptors = (
            DescriptorSpec("savings_rate", "fraction of output", "mean savings rate over households and periods"),
            DescriptorSpec("consumption", "units per household per period", "mean consumption"),
            DescriptorSpec("capital", "units per household", "mean capital at the start of a period"),
            DescriptorSpec("output", "units per household per period", "mean output z k^alpha"),
            DescriptorSpec("welfare", "utility per household", "mean lifetime utility sum_t beta^t ln c_t"),
            DescriptorSpec("reward_household", "utility per episode", "mean household episode return"),
        ) + tuple(DescriptorSpec(f"savings_t{t}", "fraction of output", f"mean savings rate in period {t}")
                  for t in range(T + 1))
        target = sum(solution.savings_rates(config.alpha, config.beta, T)) / (T + 1)
        low, high = target - 0.05, target + 0.05
        self.regimes = (
            Regime("trivial", f"savings_rate < {self.trivial_savings:g} (households eat their capital)",
                   self.trivial),
            Regime("undersaving", f"savings_rate < {low:.3f} (optimal mean {target:.3f} - 0.05)",
                   lambda d: d["savings_rate"] < low),
            Regime("oversaving", f"savings_rate > {high:.3f} (optimal mean {target:.3f} + 0.05)",
                   lambda d: d["savings_rate"] > high),
            Regime("near-optimal", "otherwise: mean savings within 0.05 of the optimum's", lambda d: True),
        )

    # ------------------------------------------------------------------ protocol
    def reset(self, theta_scale: float = 1.0, generator: torch.Generator | None = None) -> GrowthState:
        """Capital :math:`k_0` everywhere and a fresh shock path drawn from ``generator`` (the caller's stream;
        ``None``: the economy's own, seeded by ``seed``); ``theta_scale`` is ignored."""
        cfg, B, H = self.config, self.batch_size, self.config.num_households
        gen = self.generator if generator is None else generator
        normal = torch.randn((B, cfg.horizon + 2, H), generator=gen, dtype=torch.float64, device=gen.device)
        path = torch.exp(cfg.sigma * normal - 0.5 * cfg.sigma ** 2).to(self.device, self.dtype)
        kw = {"device": self.device, "dtype": self.dtype}
        return GrowthState(time=torch.zeros(B, **kw), capital=torch.full((B, H), float(cfg.initial_capital), **kw),
                           shock=path[:, 0].clone(), shock_path=path)

    def grid_values(self):
        return self.config.savings_rates

    def observe(self, state: GrowthState) -> dict[str, torch.Tensor]:
        """``{"household": [B, H, 3]}``: ``[t / T, ln k, ln z]``."""
        t = (state.time / self.config.horizon).unsqueeze(-1).expand_as(state.capital)
        return {"household": torch.stack([t, state.capital.log(), state.shock.log()], dim=-1)}


    def mask(self, agent_type: str, progress: float, start: Mapping[str, float]) -> torch.Tensor:
        """``[1, K]`` all True: households have no curriculum mask (``start`` must be empty)."""
        return self.full_mask(agent_type, start, self.grid.shape[0], self.device)

    def decode(self, indices: Mapping[str, torch.Tensor]) -> GrowthActions:
        """``{"household": [B, H, 1]}`` int64 grid indices -> savings rates ``[B, H]``."""
        return GrowthActions(savings=self.grid[indices["household"][..., 0]])

    def step(self, state: GrowthState, actions: GrowthActions):
        """One period: ``(next_state, {"household": beta^t ln c [B, H]}, info)``; ``state`` is not modified.

        ``info``: ``output [B, H]``, ``consumption [B, H]``, ``utility [B, H]``
        (the discounted reward), ``investment [B, H]`` (:math:`s_t y_t`, before the floor).
        """
        cfg = self.config
        s = actions.savings.to(self.dtype)
        output = state.shock * state.capital.pow(cfg.alpha)
        consumption = (1.0 - s) * output
        investment = s * output
        discount = torch.pow(torch.full_like(state.time, cfg.beta), state.time).unsqueeze(-1)
        utility = discount * consumption.log()
        next_t = (state.time.long() + 1).clamp(max=state.shock_path.shape[1] - 1)  # [B]
        index = next_t.view(-1, 1, 1).expand(-1, 1, state.shock_path.shape[2])
        next_state = GrowthState(time=state.time + 1.0, capital=investment.clamp(min=cfg.capital_floor),
                                 shock=state.shock_path.gather(1, index).squeeze(1), shock_path=state.shock_path)
        info = {"output": output, "consumption": consumption, "utility": utility, "investment": investment}
        return next_state, {"household": utility}, info

    def summary(self) -> _Summary:
        return _Summary(self.config.horizon, self.device, self.dtype)

    def reward_descriptor(self, agent_type: str) -> str:
        self._check_type(agent_type)
        return "reward_household"

    def trivial(self, descriptors: Mapping[str, float]) -> bool:
        """Capital collapse: mean savings rate below :attr:`trivial_savings`."""
        return descriptors["savings_rate"] < self.trivial_savings

    def budgets(self, state: GrowthState) -> None:
        return None

    def invariants(self, state: GrowthState, actions: GrowthActions, next_state: GrowthState,
                   info: Mapping[str, torch.Tensor]) -> list[str]:
        """Resources :math:`c + s y = y`, positive consumption, capital above the floor, the clock advances."""
        problems = []
        output, consumption, investment = info["output"], info["consumption"], info["investment"]
        if not torch.allclose(consumption + investment, output, rtol=1e-5, atol=1e-12):
            problems.append("resources: consumption + investment != output")
        if not bool((consumption > 0).all()) or not bool(torch.isfinite(info["utility"]).all()):
            problems.append("consumption not positive (utility not finite)")
        if not bool((next_state.capital >= self.config.capital_floor * (1 - 1e-6)).all()):
            problems.append("capital below capital_floor")
        if not torch.equal(next_state.capital, investment.clamp(min=self.config.capital_floor)):
            problems.append("next capital differs from max(s y, capital_floor)")
        if not torch.equal(next_state.time, state.time + 1.0):
            problems.append("clock did not advance by one period")
        return problems


def build(run_config, batch_size: int, device: torch.device, dtype: torch.dtype) -> GrowthEconomy:
    """The growth economy of ``run_config.economy`` (a :class:`GrowthConfig`) with ``batch_size`` copies."""
    config = run_config.economy
    if not isinstance(config, GrowthConfig):
        raise ConfigError(f"economy = {type(config).__name__}: the growth economy needs a GrowthConfig")
    return GrowthEconomy(config, batch_size, device, dtype)
