"""Observation encoders of the RBC model, one per agent type (docs/model.md §1).

Observations use ``symlog(x) / 10`` for money, stocks and capital, which maps
0 ... 1e7 onto 0 ... 1.6 while keeping small values distinguishable.
"""

from __future__ import annotations

import torch

from pbt_econ.economies.rbc.config import EconomyConfig
from pbt_econ.economies.rbc.model import EconomyState

__all__ = ["observation_sizes", "observe_consumer", "observe_firm", "observe_government", "scaled_symlog", "symlog"]


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
