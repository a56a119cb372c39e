"""The RBC model's action grids, action masks and decoding (docs/model.md §2).

Every agent type's policy emits a block of categorical *heads*, padded to one
width ``K`` so that sampling all heads of all agents is a single tensor
operation (inverse-CDF sampling over ``[N, H, K]``, one uniform per head), not a loop of
``torch.distributions`` objects:

* consumer: ``F`` consumption heads (``len(consumption)`` choices each), one
  hours head, one employer head (``F`` choices) -> ``H = F + 2``;
* firm: one joint head over price x wage x invest (price-major order);
* government: one joint head over income tax x corporate tax.

Padding entries and entries excluded by a curriculum mask are set to
:data:`pbt_econ.learning.policies.MASKED_LOGIT` (finite, so that ``p * log p`` stays 0, not NaN).

Observations are encoded by :mod:`pbt_econ.economies.rbc.observe`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from pbt_econ.core.errors import ConfigError, check_number
from pbt_econ.economies.grids import range_mask
from pbt_econ.economies.rbc.config import EconomyConfig
from pbt_econ.economies.rbc.model import Actions

__all__ = ["ActionSpaces", "SpacesConfig", "firm_joint", "firm_parts", "government_joint", "government_parts"]


def firm_joint(price_i, wage_i, invest_i, n_wage: int, n_invest: int):
    """The one layout of the firm's joint action: ``(price_i * n_wage + wage_i) * n_invest + invest_i``."""
    return (price_i * n_wage + wage_i) * n_invest + invest_i


def firm_parts(index, n_wage: int, n_invest: int):
    """``(price_i, wage_i, invest_i)`` of a firm's joint action ``index`` (ints or int tensors)."""
    return index // (n_wage * n_invest), (index // n_invest) % n_wage, index % n_invest


def government_joint(income_i, corporate_i, n_tax: int):
    """The government's joint action: ``income_i * n_tax + corporate_i``."""
    return income_i * n_tax + corporate_i


def government_parts(index, n_tax: int):
    """``(income_i, corporate_i)`` of the government's joint action ``index``."""
    return index // n_tax, index % n_tax

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
                check_number(f"{name}[{i}]", v, low=low, high=high)
            if any(b <= a for a, b in zip(values, values[1:])):
                raise ConfigError(f"{name} = {list(values)}: values must be strictly increasing")


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
        price_ok = range_mask(self.price, start_price, progress)
        wage_ok = range_mask(self.wage, start_wage, progress)
        invest_ok = torch.ones_like(self.invest, dtype=torch.bool)
        joint = price_ok[:, None, None] & wage_ok[None, :, None] & invest_ok[None, None, :]
        return joint.reshape(1, -1)

    def government_mask(self, progress: float, start_income_tax: float, start_corporate_tax: float) -> torch.Tensor:
        """``[1, government_width]`` bool: joint tax actions allowed at mask ``progress``."""
        income_ok = range_mask(self.tax, start_income_tax, progress)
        corporate_ok = range_mask(self.tax, start_corporate_tax, progress)
        return (income_ok[:, None] & corporate_ok[None, :]).reshape(1, -1)

    # --------------------------------------------------------------- decoding
    def decode(self, consumer_idx: torch.Tensor, firm_idx: torch.Tensor, government_idx: torch.Tensor) -> Actions:
        """Sampled indices -> decoded :class:`Actions`.

        ``consumer_idx [B, C, F + 2]`` (consumption per firm, hours, employer),
        ``firm_idx [B, F]`` (joint), ``government_idx [B]`` (joint), all int64.
        """
        F = self.num_firms
        price_i, wage_i, invest_i = firm_parts(firm_idx, len(self.wage), len(self.invest))
        income_i, corporate_i = government_parts(government_idx, len(self.tax))
        return Actions(
            consumption=self.consumption[consumer_idx[..., :F]],
            hours=self.hours[consumer_idx[..., F]],
            employer=consumer_idx[..., F + 1],
            price=self.price[price_i],
            wage=self.wage[wage_i],
            invest=self.invest[invest_i],
            income_tax=self.tax[income_i],
            corporate_tax=self.tax[corporate_i],
        )
