"""Helpers for economies with discrete action grids (any economy may use them).

:func:`range_mask` is how curriculum masks widen: from the grid value nearest
a start value to the whole grid.
"""

from __future__ import annotations

import torch

__all__ = ["range_mask"]


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
