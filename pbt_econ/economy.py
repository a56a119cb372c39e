"""The batched real-business-cycle economy: a pure ``step(state, actions)``.

This module is the whole economic model of ``../shared/docs/rbc-model.md``
(sections 1-4 and 8), written as tensor operations over a batch of ``B``
independent copies of one economy with ``C`` consumers and ``F`` firms.
There is no Python loop over agents or batch rows; every rule of the spec's
section 3 is one or two tensor expressions, named after the symbol it
computes.

The API follows gymnax: :class:`EconomyConfig` holds the constants (runtime
data, not code), :class:`EconomyState` and :class:`Actions` are frozen
records of named, batch-first tensors, and :meth:`Economy.step` returns a new
state without touching its input.

Conventions: money is in currency units, hours in hours per step, goods in
units; ``[B, F]`` etc. give tensor shapes.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

import torch

__all__ = [
    "Actions",
    "ConfigError",
    "Economy",
    "EconomyConfig",
    "EconomyState",
    "Rewards",
    "StepInfo",
]


class ConfigError(ValueError):
    """A configuration value is missing, of the wrong type or out of range.

    The message always names the offending field (``economy.crra_eta``) and
    says what is allowed.
    """


def _check_number(
    name: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    integer: bool = False,
) -> None:
    """Raise :class:`ConfigError` unless ``value`` is a finite number in range."""
    kind = "an integer" if integer else "a number"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{name} = {value!r}: must be {kind}")
    if integer and not isinstance(value, int):
        raise ConfigError(f"{name} = {value!r}: must be an integer")
    if not math.isfinite(value):
        raise ConfigError(f"{name} = {value!r}: must be finite")
    lo = "(" if low_open else "["
    hi = ")" if high_open else "]"
    allowed = f"{lo}{'-inf' if low is None else low}, {'inf' if high is None else high}{hi}"
    too_low = low is not None and (value <= low if low_open else value < low)
    too_high = high is not None and (value >= high if high_open else value > high)
    if too_low or too_high:
        raise ConfigError(f"{name} = {value!r}: must be in {allowed}")


@dataclass(frozen=True)
class EconomyConfig:
    """Constants of one economy (spec section 8). Validated when built.

    Every field name is also the YAML key under ``economy:``.
    """

    num_consumers: int = 100
    """``C``: number of consumers (households)."""
    num_firms: int = 10
    """``F``: number of firms, each producing one good."""
    episode_length: int = 10
    """``T``: steps per episode."""
    open_economy: bool = True
    """Whether the export market of spec step 6 exists."""
    importer_price: float = 500.0
    """Lowest price (money per unit) at which the outside importer buys."""
    importer_quantity: float = 100.0
    """Most units the importer buys from each firm per step."""
    interest_rate: float = 0.0
    """Per-step growth of positive budgets, in [0, 1]."""
    crra_eta: float = 0.1
    """CRRA curvature ``eta`` of consumption utility; must not be 1."""
    technology: float = 0.01
    """Total factor productivity ``A`` of the Cobb-Douglas production."""
    labor_floor: float = 0.0
    """Hours below which a firm produces nothing."""
    consumer_budget_epsilon: float = 0.01
    """Money transferred to each consumer every step (spec step 5)."""
    government_firm_weight: float = 0.0
    """Weight of firm rewards in the government's social welfare."""
    theta_base: float = 0.01
    """Scale of the consumers' disutility of work."""
    theta_pareto_shape: float = 4.0
    """Pareto shape ``b`` of the theta profile across consumers."""
    initial_price: float = 1000.0
    initial_wage: float = 0.0
    initial_stock: float = 0.0
    initial_consumer_budget: float = 2000.0
    initial_firm_budget: float | None = None
    """``None`` means ``22000 * num_consumers``."""
    initial_capital: float | tuple[float, ...] | None = None
    """``None`` means 5000 for the first ``F // 2`` firms and 10000 for the rest;
    a number gives every firm that capital; a list gives one value per firm."""
    production_alpha: tuple[float, ...] = field(default=(0.2, 0.3, 0.4, 0.6, 0.8))
    """Labour share of each firm, cycled over the firms; each in (0, 1)."""

    def __post_init__(self) -> None:
        p = ""
        _check_number(p + "num_consumers", self.num_consumers, low=1, integer=True)
        _check_number(p + "num_firms", self.num_firms, low=1, integer=True)
        _check_number(p + "episode_length", self.episode_length, low=1, integer=True)
        if not isinstance(self.open_economy, bool):
            raise ConfigError(f"{p}open_economy = {self.open_economy!r}: must be true or false")
        _check_number(p + "importer_price", self.importer_price, low=0)
        _check_number(p + "importer_quantity", self.importer_quantity, low=0)
        _check_number(p + "interest_rate", self.interest_rate, low=0, high=1)
        _check_number(p + "crra_eta", self.crra_eta, low=0)
        if self.crra_eta == 1:
            raise ConfigError(
                f"{p}crra_eta = 1: must be >= 0 and != 1 (eta = 1 is log utility, "
                "which the CRRA formula ((x+1)^(1-eta)-1)/(1-eta) does not cover)"
            )
        _check_number(p + "technology", self.technology, low=0, low_open=True)
        _check_number(p + "labor_floor", self.labor_floor, low=0)
        _check_number(p + "consumer_budget_epsilon", self.consumer_budget_epsilon, low=0)
        _check_number(p + "government_firm_weight", self.government_firm_weight, low=0)
        _check_number(p + "theta_base", self.theta_base, low=0)
        _check_number(p + "theta_pareto_shape", self.theta_pareto_shape, low=0, low_open=True)
        _check_number(p + "initial_price", self.initial_price, low=0)
        _check_number(p + "initial_wage", self.initial_wage, low=0)
        _check_number(p + "initial_stock", self.initial_stock, low=0)
        _check_number(p + "initial_consumer_budget", self.initial_consumer_budget)
        if self.initial_firm_budget is not None:
            _check_number(p + "initial_firm_budget", self.initial_firm_budget)
        capital = self.initial_capital
        if isinstance(capital, list):
            object.__setattr__(self, "initial_capital", tuple(capital))
            capital = self.initial_capital
        if isinstance(capital, tuple):
            if len(capital) != self.num_firms:
                raise ConfigError(
                    f"{p}initial_capital has {len(capital)} values: must be one number "
                    f"or a list of num_firms = {self.num_firms} numbers"
                )
            for i, value in enumerate(capital):
                _check_number(f"{p}initial_capital[{i}]", value, low=0)
        elif capital is not None:
            _check_number(p + "initial_capital", capital, low=0)
        alpha = self.production_alpha
        if isinstance(alpha, list):
            object.__setattr__(self, "production_alpha", tuple(alpha))
            alpha = self.production_alpha
        if not isinstance(alpha, tuple) or len(alpha) == 0:
            raise ConfigError(f"{p}production_alpha = {alpha!r}: must be a non-empty list")
        for i, value in enumerate(alpha):
            _check_number(f"{p}production_alpha[{i}]", value, low=0, high=1, low_open=True, high_open=True)

    @property
    def firm_budget_at_reset(self) -> float:
        """Each firm's budget at reset (money)."""
        if self.initial_firm_budget is None:
            return 22000.0 * self.num_consumers
        return float(self.initial_firm_budget)

    def capital_at_reset(self) -> list[float]:
        """Each firm's capital at reset, ``F`` values."""
        capital = self.initial_capital
        if capital is None:
            half = self.num_firms // 2
            return [5000.0 if f < half else 10000.0 for f in range(self.num_firms)]
        if isinstance(capital, tuple):
            return [float(c) for c in capital]
        return [float(capital)] * self.num_firms

    def alpha_per_firm(self) -> list[float]:
        """Labour share of each firm: ``production_alpha`` cycled over ``F`` firms."""
        alpha = self.production_alpha
        return [float(alpha[f % len(alpha)]) for f in range(self.num_firms)]

    def theta_profile(self) -> list[float]:
        """Disutility of work per consumer before annealing (spec section 4).

        .. math:: \\theta_c = \\theta_{base} (1 - c / C)^{1/b}, \\quad c = 0 \\dots C-1
        """
        C, b = self.num_consumers, self.theta_pareto_shape
        return [self.theta_base * (1.0 - c / C) ** (1.0 / b) for c in range(C)]


class _TensorRecord:
    """Shared helpers for frozen records whose fields are all tensors."""

    def replace(self, **changes: torch.Tensor):
        return dataclasses.replace(self, **changes)

    def to(self, device: str | torch.device | None = None, dtype: torch.dtype | None = None):
        """Move every field; integer fields keep their dtype."""
        moved = {}
        for f in dataclasses.fields(self):
            value: torch.Tensor = getattr(self, f.name)
            target_dtype = dtype if (dtype is not None and value.is_floating_point()) else value.dtype
            moved[f.name] = value.to(device=device, dtype=target_dtype)
        return type(self)(**moved)

    def index(self, rows: slice | torch.Tensor | list[int]):
        """The same record restricted to batch rows ``rows`` (first dimension)."""
        return type(self)(**{f.name: getattr(self, f.name)[rows] for f in dataclasses.fields(self)})

    def as_dict(self) -> dict[str, torch.Tensor]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}


@dataclass(frozen=True)
class EconomyState(_TensorRecord):
    """The state of ``B`` economy copies (spec section 1)."""

    price: torch.Tensor
    """``[B, F]`` money per unit, set by the firms one step earlier."""
    wage: torch.Tensor
    """``[B, F]`` money per hour, set by the firms one step earlier."""
    stock: torch.Tensor
    """``[B, F]`` units of each firm's good in inventory."""
    overdemanded: torch.Tensor
    """``[B, F]`` 1.0 where last step's demand exceeded stock."""
    income_tax: torch.Tensor
    """``[B]`` rate in [0, 1] set by the government one step earlier."""
    corporate_tax: torch.Tensor
    """``[B]`` rate in [0, 1] set by the government one step earlier."""
    time: torch.Tensor
    """``[B]`` step index, 0 at reset."""
    consumer_budget: torch.Tensor
    """``[B, C]`` money."""
    theta: torch.Tensor
    """``[B, C]`` disutility of one hour of work (after curriculum annealing)."""
    firm_budget: torch.Tensor
    """``[B, F]`` money."""
    capital: torch.Tensor
    """``[B, F]`` money invested in production capital."""
    alpha: torch.Tensor
    """``[B, F]`` labour share in production."""


@dataclass(frozen=True)
class Actions(_TensorRecord):
    """Decoded actions of all agents for one step (spec section 2)."""

    consumption: torch.Tensor
    """``[B, C, F]`` units each consumer requests from each firm."""
    hours: torch.Tensor
    """``[B, C]`` hours each consumer works."""
    employer: torch.Tensor
    """``[B, C]`` int64 index of the firm each consumer works for."""
    price: torch.Tensor
    """``[B, F]`` next price of each firm's good."""
    wage: torch.Tensor
    """``[B, F]`` next wage of each firm."""
    invest: torch.Tensor
    """``[B, F]`` fraction of gross income invested in capital."""
    income_tax: torch.Tensor
    """``[B]`` next income tax rate."""
    corporate_tax: torch.Tensor
    """``[B]`` next corporate tax rate."""


@dataclass(frozen=True)
class Rewards(_TensorRecord):
    """Per-agent rewards of one step (spec steps 4, 7 and 12)."""

    consumer: torch.Tensor
    """``[B, C]`` utility of consumption minus disutility of work."""
    firm: torch.Tensor
    """``[B, F]`` after-tax profit (money)."""
    government: torch.Tensor
    """``[B]`` social welfare."""


class StepInfo(dict):
    """What else one step computed, keyed by name (a mapping, as the spec asks).

    Keys: ``consumed [B,C,F]`` units, ``exported [B,F]`` units,
    ``production [B,F]`` units, ``hours_by_firm [B,F]`` hours,
    ``tax_revenue [B]`` money,
    ``investment [B,F]`` money, ``gross_income [B,C]`` money.
    """


class Economy:
    """``B`` copies of one economy on one device, in one floating dtype.

    Called by :func:`pbt_econ.rollout.rollout` once per episode (:meth:`reset`) and once per step
    (:meth:`step`). Both are pure functions of their arguments and the config.
    """

    def __init__(
        self,
        config: EconomyConfig,
        batch_size: int,
        device: str | torch.device = "cpu",
        dtype: torch.dtype = torch.float32,
    ) -> None:
        _check_number("batch_size", batch_size, low=1, integer=True)
        if dtype not in (torch.float32, torch.float64):
            raise ConfigError(f"dtype = {dtype}: must be torch.float32 or torch.float64")
        self.config = config
        self.batch_size = batch_size
        self.device = torch.device(device)
        self.dtype = dtype
        kw = {"device": self.device, "dtype": dtype}
        self._theta_profile = torch.tensor(config.theta_profile(), **kw)
        self._capital = torch.tensor(config.capital_at_reset(), **kw)
        self._alpha = torch.tensor(config.alpha_per_firm(), **kw)

    def reset(self, theta_scale: float = 1.0) -> EconomyState:
        """The initial state of spec section 4, ``theta`` multiplied by ``theta_scale``."""
        cfg, B, C, F = self.config, self.batch_size, self.config.num_consumers, self.config.num_firms
        kw = {"device": self.device, "dtype": self.dtype}

        def full(shape, value):
            return torch.full(shape, float(value), **kw)

        return EconomyState(
            price=full((B, F), cfg.initial_price),
            wage=full((B, F), cfg.initial_wage),
            stock=full((B, F), cfg.initial_stock),
            overdemanded=full((B, F), 0.0),
            income_tax=full((B,), 0.0),
            corporate_tax=full((B,), 0.0),
            time=full((B,), 0.0),
            consumer_budget=full((B, C), cfg.initial_consumer_budget),
            theta=(self._theta_profile * float(theta_scale)).expand(B, C).clone(),
            firm_budget=full((B, F), cfg.firm_budget_at_reset),
            capital=self._capital.expand(B, F).clone(),
            alpha=self._alpha.expand(B, F).clone(),
        )

    def step(self, state: EconomyState, actions: Actions) -> tuple[EconomyState, Rewards, StepInfo]:
        """Advance every economy copy by one step (spec section 3, rules 1-12).

        ``state`` and ``actions`` are not modified. Prices, wages and tax rates
        chosen in ``actions`` take effect in the returned state, i.e. from the
        next step on; this step trades at ``state``'s prices, wages and taxes.
        """
        cfg = self.config
        p, w, s = state.price, state.wage, state.stock  # [B, F]
        tau_i = state.income_tax.unsqueeze(-1)  # [B, 1]
        tau_c = state.corporate_tax.unsqueeze(-1)  # [B, 1]
        hours = actions.hours  # [B, C]

        # 1. Budget-feasible demand: scale requests that cost more than the budget.
        #    The [B, C, F] tensors dominate memory traffic at large C, so sums over
        #    them are batched matrix products and only `consumed` is materialised.
        requested = actions.consumption  # [B, C, F]
        cost = torch.bmm(requested, p.unsqueeze(-1)).squeeze(-1)  # [B, C]
        over_budget = (cost > 0) & (cost > state.consumer_budget)
        affordable = state.consumer_budget.clamp(min=0) / torch.where(over_budget, cost, torch.ones_like(cost))
        budget_scale = torch.where(over_budget, affordable, torch.ones_like(cost))  # [B, C]

        # 2. Labour: hours each firm gets.
        hours_by_firm = torch.zeros_like(p).scatter_add(1, actions.employer, hours)  # [B, F]

        # 3. Rationing: every consumer gets the same fraction s/D of an overdemanded good.
        demand = torch.bmm(budget_scale.unsqueeze(1), requested).squeeze(1)  # [B, F]: sum_c n[c, f]
        overdemanded = (demand > 0) & (demand > s)
        fill = torch.where(overdemanded, s / torch.where(overdemanded, demand, torch.ones_like(demand)), torch.ones_like(demand))
        consumed = torch.mul(requested, budget_scale.unsqueeze(-1)).mul_(fill.unsqueeze(1))  # [B, C, F]

        # 4. Consumer reward: CRRA utility of consumption minus linear disutility of work.
        eta = cfg.crra_eta
        utility = ((consumed + 1.0).pow_(1.0 - eta).sum(-1) - cfg.num_firms) / (1.0 - eta)  # [B, C]
        consumer_reward = utility - state.theta / 2.0 * hours  # [B, C]

        # 5. Consumer money before redistribution.
        gross_income = w.gather(1, actions.employer) * hours  # [B, C]
        income_tax_paid = tau_i * gross_income
        spent = budget_scale * torch.bmm(requested, (fill * p).unsqueeze(-1)).squeeze(-1)  # [B, C]
        consumer_delta = cfg.consumer_budget_epsilon - spent + gross_income - income_tax_paid

        # 6. Export market: the importer buys what is left, up to its quantity.
        sold = fill * demand  # [B, F] = sum_c consumed[c, f]
        if cfg.open_economy:
            leftover = torch.minimum(s - sold, torch.full_like(s, cfg.importer_quantity)).clamp(min=0)
            exported = torch.where(p >= cfg.importer_price, leftover, torch.zeros_like(s))
        else:
            exported = torch.zeros_like(s)

        # 7. Firm money and reward.
        revenue = (sold + exported) * p
        wage_bill = hours_by_firm * w
        firm_gross = revenue - wage_bill
        investment = (actions.invest * firm_gross).clamp(min=0)
        profit = firm_gross - investment
        corporate_tax_paid = tau_c * profit.clamp(min=0)
        firm_reward = profit - corporate_tax_paid  # [B, F]

        # 8. Production from capital before this step's investment.
        effective_hours = torch.where(hours_by_firm < cfg.labor_floor, torch.zeros_like(hours_by_firm), hours_by_firm)
        production = cfg.technology * state.capital.pow(1.0 - state.alpha) * effective_hours.pow(state.alpha)

        # 9. Next global state. Rounding in s * (D / D) can leave -1e-7; stocks stay >= 0.
        next_stock = (s - sold - exported).clamp(min=0) + production

        # 10. Redistribution: all tax revenue split equally over the consumers.
        tax_revenue = income_tax_paid.sum(-1) + corporate_tax_paid.sum(-1)  # [B]
        consumer_delta = consumer_delta + (tax_revenue / cfg.num_consumers).unsqueeze(-1)

        # 11. Budgets, interest on positive budgets, capital.
        consumer_budget = state.consumer_budget + consumer_delta
        firm_budget = state.firm_budget + firm_reward
        if cfg.interest_rate:
            growth = 1.0 + cfg.interest_rate
            consumer_budget = torch.where(consumer_budget > 0, consumer_budget * growth, consumer_budget)
            firm_budget = torch.where(firm_budget > 0, firm_budget * growth, firm_budget)

        # 12. Government reward: social welfare.
        government_reward = consumer_reward.sum(-1) + cfg.government_firm_weight * firm_reward.sum(-1)

        next_state = EconomyState(
            price=actions.price.to(p.dtype),
            wage=actions.wage.to(p.dtype),
            stock=next_stock,
            overdemanded=overdemanded.to(p.dtype),
            income_tax=actions.income_tax.to(p.dtype),
            corporate_tax=actions.corporate_tax.to(p.dtype),
            time=state.time + 1.0,
            consumer_budget=consumer_budget,
            theta=state.theta,
            firm_budget=firm_budget,
            capital=state.capital + investment,
            alpha=state.alpha,
        )
        rewards = Rewards(consumer=consumer_reward, firm=firm_reward, government=government_reward)
        info = StepInfo(
            consumed=consumed,
            exported=exported,
            production=production,
            hours_by_firm=hours_by_firm,
            tax_revenue=tax_revenue,
            investment=investment,
            gross_income=gross_income,
        )
        return next_state, rewards, info
