"""The batched real-business-cycle economy: a pure ``step(state, actions)``.

This module is the whole economic model of docs/model.md, written as tensor operations over a batch of ``B``
independent copies of one economy with ``C`` consumers and ``F`` firms.
There is no Python loop over agents or batch rows; every rule of one step
(docs/model.md, "One step") is one or two tensor expressions, named after the symbol it
computes.

In the style of gymnax (without a separate params argument: the constants are
fixed when the economy is built): :class:`EconomyConfig` holds the constants
(runtime data, not code), :class:`EconomyState` and :class:`Actions` are
frozen records of named, batch-first tensors, and :meth:`Economy.step`
returns a new state without touching its input. The plug-in that exposes this
model to the generic core is :mod:`pbt_econ.economies.rbc.plugin`.

Conventions: money is in currency units, hours in hours per step, goods in
units; ``[B, F]`` etc. give tensor shapes.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch

from pbt_econ.core.errors import ConfigError, check_number
from pbt_econ.economies.rbc.config import EconomyConfig

__all__ = [
    "Actions",
    "Economy",
    "EconomyConfig",
    "EconomyState",
    "Rewards",
    "StepInfo",
]


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
    """The state of ``B`` economy copies (docs/model.md §1)."""

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
    """Decoded actions of all agents for one step (docs/model.md §2)."""

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
    """Per-agent rewards of one step (docs/model.md §3, steps 4, 7 and 12)."""

    consumer: torch.Tensor
    """``[B, C]`` utility of consumption minus disutility of work."""
    firm: torch.Tensor
    """``[B, F]`` after-tax profit (money)."""
    government: torch.Tensor
    """``[B]`` social welfare."""


class StepInfo(dict):
    """What else one step computed, keyed by name (a mapping; docs/model.md §8).

    Keys: ``consumed [B,C,F]`` units, ``exported [B,F]`` units,
    ``production [B,F]`` units, ``hours_by_firm [B,F]`` hours,
    ``tax_revenue [B]`` money,
    ``investment [B,F]`` money, ``gross_income [B,C]`` money.
    """


class Economy:
    """``B`` copies of one economy on one device, in one floating dtype.

    Called by :func:`pbt_econ.learning.rollout.rollout` once per episode (:meth:`reset`) and once per step
    (:meth:`step`). Both are pure functions of their arguments and the config.
    """

    def __init__(
        self,
        config: EconomyConfig,
        batch_size: int,
        device: str | torch.device = "cpu",
        dtype: torch.dtype = torch.float32,
    ) -> None:
        check_number("batch_size", batch_size, low=1, integer=True)
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

    def reset(self, theta_scale: float = 1.0, generator: torch.Generator | None = None) -> EconomyState:
        """The initial state of docs/model.md §4, ``theta`` multiplied by ``theta_scale``."""
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
        """Advance every economy copy by one step (docs/model.md §3, rules 1-12).

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
