"""The RBC's fixed policies: an agent type that always plays one given action and never learns.

A config's ``fixed:`` section names, per agent type, one action from that
type's grids (:func:`pbt_econ.config.resolve.fixed_actions` asks the economy,
here :func:`fixed_indices`), e.g. the paper's fixed-tax baselines::

    fixed:
      government: {income_tax: 0.2, corporate_tax: 0.1}

That type then plays exactly this action in every step of training,
evaluation and best response (its policy network is never asked), is never
updated, and is reported as fixed rather than checked by best response.
Values must lie on the type's grid (``spaces:``); anything else is a
:class:`~pbt_econ.core.errors.ConfigError` naming the field and the allowed
values.

==============  ==============================================================
``consumer``    ``consumption`` (units requested from every firm), ``hours``,
                ``employer`` (a firm index, 0 ... F-1)
``firm``        ``price``, ``wage``, ``invest``
``government``  ``income_tax``, ``corporate_tax``
==============  ==============================================================
"""

from __future__ import annotations

from pbt_econ.core.errors import ConfigError
from pbt_econ.economies.grids import grid_index
from pbt_econ.economies.rbc.spaces import SpacesConfig, firm_joint, government_joint

__all__ = ["FIXED_ACTIONS", "fixed_indices"]

FIXED_ACTIONS = {
    "consumer": ("consumption", "hours", "employer"),
    "firm": ("price", "wage", "invest"),
    "government": ("income_tax", "corporate_tax"),
}
_GRID = {"consumption": "consumption", "hours": "hours", "price": "price", "wage": "wage", "invest": "invest",
         "income_tax": "tax", "corporate_tax": "tax"}


def _grid_index(agent_type: str, action: str, value, spaces: SpacesConfig) -> int:
    return grid_index(getattr(spaces, _GRID[action]), value, f"fixed.{agent_type}.{action}",
                      where=f"spaces.{_GRID[action]}")


def fixed_indices(fixed: dict[str, dict[str, float]], spaces: SpacesConfig,
                  num_firms: int) -> dict[str, tuple[int, ...]]:
    """Validate ``fixed`` and return each fixed type's action as head indices.

    Consumer: ``F`` consumption heads, the hours head, the employer head;
    firm and government: their one joint head (the layouts of
    :class:`~pbt_econ.economies.rbc.spaces.ActionSpaces`).
    """
    if not isinstance(fixed, dict):
        raise ConfigError(f"fixed = {fixed!r}: must map agent types to actions")
    out: dict[str, tuple[int, ...]] = {}
    for agent_type, values in fixed.items():
        if agent_type not in FIXED_ACTIONS:
            raise ConfigError(f"fixed.{agent_type}: unknown agent type; allowed: {', '.join(FIXED_ACTIONS)}")
        names = FIXED_ACTIONS[agent_type]
        if not isinstance(values, dict):
            raise ConfigError(f"fixed.{agent_type} = {values!r}: must map {', '.join(names)} to values")
        unknown = sorted(set(values) - set(names))
        if unknown:
            raise ConfigError(f"fixed.{agent_type}.{unknown[0]}: unknown action; allowed: {', '.join(names)}")
        missing = [n for n in names if n not in values]
        if missing:
            raise ConfigError(f"fixed.{agent_type}: give every action ({', '.join(names)}); missing {missing[0]}")
        if agent_type == "consumer":
            employer = values["employer"]
            if (isinstance(employer, bool) or not isinstance(employer, (int, float)) or employer != int(employer)
                    or not 0 <= employer < num_firms):
                raise ConfigError(f"fixed.consumer.employer = {employer!r}: must be a firm index 0 ... {num_firms - 1}")
            employer = int(employer)
            c = _grid_index(agent_type, "consumption", values["consumption"], spaces)
            h = _grid_index(agent_type, "hours", values["hours"], spaces)
            out[agent_type] = (c,) * num_firms + (h, employer)
        elif agent_type == "firm":
            p, w, i = (_grid_index(agent_type, a, values[a], spaces) for a in names)
            out[agent_type] = (firm_joint(p, w, i, len(spaces.wage), len(spaces.invest)),)
        else:
            inc, corp = (_grid_index(agent_type, a, values[a], spaces) for a in names)
            out[agent_type] = (government_joint(inc, corp, len(spaces.tax)),)
    return out
