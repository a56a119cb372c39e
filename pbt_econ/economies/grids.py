"""Helpers for economies with discrete action grids (any economy may use them).

:func:`range_mask` is how curriculum masks widen: from the grid value nearest
a start value to the whole grid. :func:`grid_index` is the one lookup of a value
on a grid (fixed policies), with one tolerance for every economy.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from pbt_econ.core.errors import ConfigError

__all__ = ["grid_index", "range_mask", "single_fixed_index"]


def range_mask(grid: torch.Tensor, start: float, progress: float) -> torch.Tensor:
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


def grid_index(grid: Sequence[float], value, name: str, where: str = "") -> int:
    """Index of ``value`` in ``grid`` (relative tolerance 1e-9), else :class:`ConfigError` naming ``name``.

    ``where`` (optional) names the grid's own config field in the message (``spaces.price``)."""
    on = f" {where} =" if where else ""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(f"{name} = {value!r}: must be a number on the grid{on} {list(grid)}")
    for k, g in enumerate(grid):
        if abs(g - value) <= 1e-9 * max(1.0, abs(g)):
            return k
    raise ConfigError(f"{name} = {value!r}: not on the grid; allowed: {list(grid)}" + (f" ({where})" if where else ""))


def single_fixed_index(values, agent_type: str, action: str, grid: Sequence[float]) -> tuple[int]:
    """``(k,)``: a fixed policy of a type with one action on one grid (``fixed.<agent_type>.<action>``).

    The ground-truth economies' shared :meth:`~pbt_econ.economies.protocol.Economy.fixed_indices`: unknown or
    missing actions and values off the grid raise :class:`ConfigError` naming the field."""
    extra = sorted(set(values) - {action})
    if extra:
        raise ConfigError(f"fixed.{agent_type}.{extra[0]}: unknown action; allowed: {action}")
    if action not in values:
        raise ConfigError(f"fixed.{agent_type}: give every action ({action}); missing {action}")
    return (grid_index(grid, values[action], f"fixed.{agent_type}.{action}"),)

