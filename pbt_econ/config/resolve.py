"""Economy-dependent parts of a run config: defaults the economy decides, and checks against it.

Called by :meth:`RunConfig.__post_init__ <pbt_econ.config.schema.RunConfig>` every time a run config
is built: it fills in per-type training settings, best-response types and tolerances, the fitness
metric and the archive's descriptors from the economy's declarations
(:class:`~pbt_econ.economies.AgentType`, :attr:`~pbt_econ.economies.Economy.descriptors`), and raises
:class:`~pbt_econ.core.errors.ConfigError` naming the field when a config refers to an agent type,
action or descriptor the economy does not have.
"""

from __future__ import annotations

import dataclasses

from pbt_econ.config.curriculum import check_curriculum
from pbt_econ.config.training import AgentTrainingConfig
from pbt_econ.core.errors import ConfigError
from pbt_econ.economies.registry import describe

__all__ = ["fixed_actions", "resolve"]


def resolve(config) -> dict:
    """Complete and check ``config`` (a :class:`~pbt_econ.config.schema.RunConfig`).

    Returns the completed sections ``{"training": ..., "best_response": ..., "population": ...}`` as new
    frozen objects (``dataclasses.replace``); the given sections are not changed, so configs built from
    one another with ``replace`` never share a section that was filled in for the other."""
    economy = describe(config.economy, config.spaces)
    types = tuple(a.name for a in economy.agent_types)
    by_name = {a.name: a for a in economy.agent_types}
    descriptors = tuple(d.name for d in economy.descriptors)

    training = config.training
    unknown = [t for t in training.agents if t not in by_name]
    if unknown:
        raise ConfigError(f"training.{unknown[0]}: unknown field or agent type; agent types of this economy: "
                          f"{', '.join(types)}")
    agents = {t: training.agents.get(t) or AgentTrainingConfig(**by_name[t].training_defaults) for t in types}
    np_cfg = training.no_ponzi
    budget_types = tuple(economy.budgets(economy.reset()) or {})
    for t in np_cfg.budget_scale:
        if t not in budget_types:
            raise ConfigError(f"training.no_ponzi.budget_scale.{t}: not an agent type with a budget; "
                              f"allowed: {', '.join(budget_types) or 'none (this economy has no budgets)'}")
    training = dataclasses.replace(training, agents=agents)

    mask_actions = {a.name: a.mask_actions for a in economy.agent_types}
    check_curriculum(config.curriculum, mask_actions, "curriculum")
    for i, c in enumerate(config.population.curricula):
        check_curriculum(c, mask_actions, f"population.curricula[{i}]")

    br = config.best_response
    for t in br.types:
        if t not in by_name:
            raise ConfigError(f"best_response.types: {t!r} is not one of {', '.join(types)}")
    for t in br.tolerance:
        if t not in by_name:
            raise ConfigError(f"best_response.tolerance.{t}: unknown type; allowed: {', '.join(types)}")
    br = dataclasses.replace(br, types=br.types or types,
                             tolerance={t: br.tolerance.get(t, by_name[t].tolerance) for t in types})

    pop = config.population
    fitness = pop.fitness or economy.fitness_descriptor
    objectives = tuple(o if o.metric else dataclasses.replace(o, metric=economy.fitness_descriptor)
                       for o in pop.objectives)
    archive = pop.archive
    axes = economy.archive_axes()
    x, y = archive.x or axes[0], archive.y or axes[1]
    for name, value in (("x", x), ("y", y)):
        if value not in descriptors:
            raise ConfigError(f"population.archive.{name} = {value!r}: not a descriptor; allowed: "
                              f"{', '.join(descriptors)}")
    if x == y:
        raise ConfigError(f"population.archive.y = {y!r}: must differ from x")
    pop = dataclasses.replace(pop, fitness=fitness, objectives=objectives,
                              archive=dataclasses.replace(archive, x=x, y=y))
    fixed_actions(config)  # raises naming fixed.<type>.<action>
    return {"training": training, "best_response": br, "population": pop}


def fixed_actions(config) -> dict[str, tuple[int, ...]]:
    """Head indices of each fixed type's action (``config.fixed``), checked against the economy."""
    fixed = config.fixed
    if not isinstance(fixed, dict):
        raise ConfigError(f"fixed = {fixed!r}: must map agent types to actions")
    economy = describe(config.economy, config.spaces)
    by_name = {a.name: a for a in economy.agent_types}
    out = {}
    for t, values in fixed.items():
        if t not in by_name:
            raise ConfigError(f"fixed.{t}: unknown agent type; allowed: {', '.join(by_name)}")
        out[t] = tuple(economy.fixed_indices(t, values))
    return out
