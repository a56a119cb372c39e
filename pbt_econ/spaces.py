"""Action grids, action masks, decoding and observation encoding (docs/model.md §1-§2).

Every agent type's policy emits a block of categorical *heads*, padded to one
width ``K`` so that sampling all heads of all agents is a single tensor
operation (inverse-CDF sampling over ``[N, H, K]``, one uniform per head), not a loop of
``torch.distributions`` objects:

* consumer: ``F`` consumption heads (``len(consumption)`` choices each), one
  hours head, one employer head (``F`` choices) -> ``H = F + 2``;
* firm: one joint head over price x wage x invest (price-major order);
* government: one joint head over income tax x corporate tax.

Padding entries and entries excluded by a curriculum mask are set to
:data:`MASKED_LOGIT` (finite, so that ``p * log p`` stays 0, not NaN).

Observations use ``symlog(x) / 10`` for money, stocks and capital, which maps
0 ... 1e7 onto 0 ... 1.6 while keeping small values distinguishable.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from pbt_econ.economy import Actions, EconomyConfig, EconomyState
from pbt_econ.validation import ConfigError, _check_number

__all__ = [
    "MASKED_LOGIT",
    "ActionSpaces",
    "SpacesConfig",
    "observe_consumer",
    "observe_firm",
    "observe_government",
    "scaled_symlog",
    "symlog",
]

MASKED_LOGIT = -1e9
"""Logit given to padded or masked choices: softmax weight exactly 0 in float32."""


def _grid(start: float, stop: float, step: float) -> tuple[float, ...]:
    count = int(round((stop - start) / step)) + 1
    return tuple(round(start + i * step, 10) for i in range(count))


@dataclass(frozen=True)
class SpacesConfig:
    """The discrete action grids of docs/model.md §2 (YAML section ``spaces:``).

    Each grid is a strictly increasing list of decoded values.
    """

    consumption: tuple[float, ...] = field(default=_grid(0, 10, 1))
    """Units a consumer may request from each firm."""
    hours: tuple[float, ...] = (0.0, 260.0, 520.0, 780.0, 1040.0)
    """Hours a consumer may work in one step."""
    price: tuple[float, ...] = field(default=_grid(0, 2500, 500))
    """Prices a firm may set (money per unit)."""
    wage: tuple[float, ...] = (0.0, 11.0, 22.0, 33.0, 44.0)
    """Wages a firm may set (money per hour)."""
    invest: tuple[float, ...] = (0.1,)
    """Fractions of gross income a firm may invest, each in [0, 1]."""
    tax: tuple[float, ...] = field(default=_grid(0, 1, 0.2))
    """Tax rates the government may set (income and corporate), each in [0, 1]."""

    def __post_init__(self) -> None:
        bounds = {"consumption": (0, None), "hours": (0, None), "price": (0, None),
                  "wage": (0, None), "invest": (0, 1), "tax": (0, 1)}
        for name, (low, high) in bounds.items():
            values = getattr(self, name)
            if isinstance(values, list):
                values = tuple(values)
                object.__setattr__(self, name, values)
            if not isinstance(values, tuple) or not values:
                raise ConfigError(f"{name} = {values!r}: must be a non-empty list of numbers")
            for i, v in enumerate(values):
                _check_number(f"{name}[{i}]", v, low=low, high=high)
            if any(b <= a for a, b in zip(values, values[1:])):
                raise ConfigError(f"{name} = {list(values)}: values must be strictly increasing")


def _range_mask(grid: torch.Tensor, start: float, progress: float) -> torch.Tensor:
    """Grid values allowed when a mask has widened by ``progress`` in [0, 1].

    The allowed interval grows linearly from ``[start, start]`` to the whole
    grid: ``[start - f (start - min), start + f (max - start)]``. If no grid
    value lies inside, the value nearest to ``start`` is allowed.
    """
    lo_grid, hi_grid = float(grid[0]), float(grid[-1])
    start = min(max(start, lo_grid), hi_grid)
    lo = start - progress * (start - lo_grid)
    hi = start + progress * (hi_grid - start)
    tol = 1e-9 * max(1.0, abs(hi_grid))
    allowed = (grid >= lo - tol) & (grid <= hi + tol)
    if not bool(allowed.any()):
        allowed = torch.zeros_like(allowed)
        allowed[int(torch.argmin((grid - start).abs()))] = True
    return allowed


class ActionSpaces:
    """Grids on one device: head layouts, masks and decoding to :class:`Actions`.

    Built once per member; all methods are pure.
    """

    def __init__(self, spaces: SpacesConfig, economy: EconomyConfig, device: torch.device | str, dtype: torch.dtype) -> None:
        self.config = spaces
        self.num_consumers = economy.num_consumers
        self.num_firms = F = economy.num_firms
        kw = {"device": device, "dtype": dtype}
        self.consumption = torch.tensor(spaces.consumption, **kw)
        self.hours = torch.tensor(spaces.hours, **kw)
        self.price = torch.tensor(spaces.price, **kw)
        self.wage = torch.tensor(spaces.wage, **kw)
        self.invest = torch.tensor(spaces.invest, **kw)
        self.tax = torch.tensor(spaces.tax, **kw)

        # Consumer: F consumption heads, one hours head, one employer head.
        n_cons, n_hours = len(spaces.consumption), len(spaces.hours)
        self.consumer_heads = F + 2
        self.consumer_width = max(n_cons, n_hours, F)
        valid = torch.zeros(self.consumer_heads, self.consumer_width, dtype=torch.bool, device=device)
        valid[:F, :n_cons] = True
        valid[F, :n_hours] = True
        valid[F + 1, :F] = True
        self.consumer_valid = valid
        # Firm: one joint head (price-major, then wage, then invest).
        self.firm_width = len(spaces.price) * len(spaces.wage) * len(spaces.invest)
        # Government: one joint head (income tax-major, then corporate tax).
        self.government_width = len(spaces.tax) ** 2

    # ------------------------------------------------------------------ masks
    def firm_mask(self, progress: float, start_price: float, start_wage: float) -> torch.Tensor:
        """``[1, firm_width]`` bool: joint firm actions allowed at mask ``progress``."""
        price_ok = _range_mask(self.price, start_price, progress)
        wage_ok = _range_mask(self.wage, start_wage, progress)
        invest_ok = torch.ones_like(self.invest, dtype=torch.bool)
        joint = price_ok[:, None, None] & wage_ok[None, :, None] & invest_ok[None, None, :]
        return joint.reshape(1, -1)

    def government_mask(self, progress: float, start_income_tax: float, start_corporate_tax: float) -> torch.Tensor:
        """``[1, government_width]`` bool: joint tax actions allowed at mask ``progress``."""
        income_ok = _range_mask(self.tax, start_income_tax, progress)
        corporate_ok = _range_mask(self.tax, start_corporate_tax, progress)
        return (income_ok[:, None] & corporate_ok[None, :]).reshape(1, -1)

    # --------------------------------------------------------------- decoding
    def decode(self, consumer_idx: torch.Tensor, firm_idx: torch.Tensor, government_idx: torch.Tensor) -> Actions:
        """Sampled indices -> decoded :class:`Actions`.

        ``consumer_idx [B, C, F + 2]`` (consumption per firm, hours, employer),
        ``firm_idx [B, F]`` (joint), ``government_idx [B]`` (joint), all int64.
        """
        F = self.num_firms
        n_wage, n_invest = len(self.wage), len(self.invest)
        n_tax = len(self.tax)
        price_i = firm_idx // (n_wage * n_invest)
        wage_i = (firm_idx // n_invest) % n_wage
        invest_i = firm_idx % n_invest
        return Actions(
            consumption=self.consumption[consumer_idx[..., :F]],
            hours=self.hours[consumer_idx[..., F]],
            employer=consumer_idx[..., F + 1],
            price=self.price[price_i],
            wage=self.wage[wage_i],
            invest=self.invest[invest_i],
            income_tax=self.tax[government_idx // n_tax],
            corporate_tax=self.tax[government_idx % n_tax],
        )


# ------------------------------------------------------------- observations
def symlog(x: torch.Tensor) -> torch.Tensor:
    """``sign(x) * log(1 + |x|)``: compresses 0 ... 1e7 to 0 ... 16.1."""
    return torch.sign(x) * torch.log1p(x.abs())


SYMLOG_DIVISOR = 10.0
"""Observations carry ``symlog(x) / 10``: money and stocks up to ~1e7 land in about [0, 1.6]."""


def scaled_symlog(x: torch.Tensor) -> torch.Tensor:
    """How every money or quantity value enters an observation: ``symlog(x) / 10``."""
    return symlog(x) / SYMLOG_DIVISOR


def _global_features(state: EconomyState, episode_length: int) -> torch.Tensor:
    """``[B, 4F + 3]``: prices, wages, stocks, overdemanded flags, taxes, time."""
    return torch.cat(
        [
            scaled_symlog(state.price),
            scaled_symlog(state.wage),
            scaled_symlog(state.stock),
            state.overdemanded,
            state.income_tax.unsqueeze(-1),
            state.corporate_tax.unsqueeze(-1),
            (state.time / episode_length).unsqueeze(-1),
        ],
        dim=-1,
    )


def observation_sizes(num_firms: int) -> dict[str, int]:
    """Observation width per agent type for ``num_firms`` firms."""
    g = 4 * num_firms + 3
    return {"consumer": g + 2, "firm": g + 3 + num_firms, "government": g + 2}


def observe_consumer(state: EconomyState, config: EconomyConfig) -> torch.Tensor:
    """``[B, C, 4F + 5]``: global state, symlog budget, theta / theta_base."""
    B, C = state.consumer_budget.shape
    glob = _global_features(state, config.episode_length).unsqueeze(1).expand(B, C, -1)
    theta = state.theta / config.theta_base if config.theta_base > 0 else torch.zeros_like(state.theta)
    private = torch.stack([scaled_symlog(state.consumer_budget), theta], dim=-1)
    return torch.cat([glob, private], dim=-1)


def observe_firm(state: EconomyState, config: EconomyConfig) -> torch.Tensor:
    """``[B, F, 4F + 6 + F]``: global state, symlog budget and capital, alpha, one-hot id."""
    B, F = state.firm_budget.shape
    glob = _global_features(state, config.episode_length).unsqueeze(1).expand(B, F, -1)
    private = torch.stack([scaled_symlog(state.firm_budget), scaled_symlog(state.capital), state.alpha], dim=-1)
    one_hot = torch.eye(F, device=state.price.device, dtype=state.price.dtype).expand(B, F, F)
    return torch.cat([glob, private, one_hot], dim=-1)


def observe_government(state: EconomyState, config: EconomyConfig) -> torch.Tensor:
    """``[B, 4F + 5]``: global state, mean symlog consumer and firm budgets."""
    glob = _global_features(state, config.episode_length)
    aggregates = torch.stack(
        [symlog(state.consumer_budget).mean(-1) / SYMLOG_DIVISOR, symlog(state.firm_budget).mean(-1) / SYMLOG_DIVISOR],
        dim=-1
    )
    return torch.cat([glob, aggregates], dim=-1)
