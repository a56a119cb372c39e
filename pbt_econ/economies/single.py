"""What the ground-truth economies share: one agent type with one action on one grid.

:class:`SingleType` is a mixin for an :class:`~pbt_econ.economies.protocol.Economy` with a single agent
type (``AGENT``) choosing one value from one grid (``ACTION`` on ``self.grid``): the type check, the
unmasked action set, and the fixed policy. Cournot, growth, coordination and Aiyagari use it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import torch

from pbt_econ.core.errors import ConfigError
from pbt_econ.economies.grids import single_fixed_index

__all__ = ["SingleType"]


class SingleType:
    """Mixin: ``AGENT`` (the type's name), ``ACTION`` (its action's name), ``grid_values()`` (the grid)."""

    kind: ClassVar[str]
    AGENT: ClassVar[str]
    ACTION: ClassVar[str]

    def _check_type(self, agent_type: str) -> None:
        if agent_type != self.AGENT:
            raise ConfigError(f"agent type {agent_type!r}: the {self.kind} economy has only {self.AGENT!r}")

    def grid_values(self):
        """The action grid's values (a sequence of numbers)."""
        raise NotImplementedError

    def full_mask(self, agent_type: str, start: Mapping[str, float], width: int, device) -> torch.Tensor:
        """``[1, K]`` all True: no curriculum mask (``start`` must be empty)."""
        self._check_type(agent_type)
        if start:
            raise ConfigError(f"{self.AGENT}.mask.start.{sorted(start)[0]}: the {self.kind} economy masks no action")
        return torch.ones(1, width, dtype=torch.bool, device=device)

    def fixed_indices(self, agent_type: str, values: Mapping[str, float]) -> tuple[int, ...]:
        """``(k,)``: the grid index of ``values[ACTION]``."""
        self._check_type(agent_type)
        return single_fixed_index(values, self.AGENT, self.ACTION, self.grid_values())
