"""Curricula as data: when each agent type learns, how its action mask widens,
how theta and entropy are annealed (docs/model.md §5).

A :class:`Curriculum` is a frozen record read from YAML (``configs/curricula/``
or inline in a run config). :meth:`Curriculum.at` turns it into the concrete
settings of one episode, an :class:`~pbt_econ.config.episode.EpisodeSpec`, which is
all that rollouts and updates read. Every episode count in a curriculum is multiplied by ``time_scale``, so
the paper's 200k-episode schedule fits a short run unchanged.

.. math::
   \\text{theta\\_scale}(e) = 1 - \\exp(-e / \\text{theta\\_anneal}), \\qquad
   \\text{entropy\\_factor}(e) = \\max(\\exp(-e / \\text{decay}), \\text{floor})
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from pbt_econ.config.episode import AgentSpec, EpisodeSpec
from pbt_econ.core.errors import ConfigError, check_number

__all__ = ["AgentCurriculum", "Curriculum", "MaskSchedule", "PerTypeAccess", "check_curriculum"]


@dataclass(frozen=True)
class MaskSchedule:
    """How an action mask widens from start values to the full grid.

    Before ``start_episode`` only the grid values nearest to ``start`` are
    allowed; over the next ``over_episodes`` the allowed interval grows
    linearly to the whole grid. ``start`` keys are the actions the economy lets a curriculum mask
    (:attr:`~pbt_econ.economies.AgentType.mask_actions`).
    """

    start_episode: float = 0.0
    over_episodes: float = 0.0
    start: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_number("start_episode", self.start_episode, low=0)
        check_number("over_episodes", self.over_episodes, low=0)
        if not isinstance(self.start, dict):
            raise ConfigError(f"start = {self.start!r}: must be a mapping of action name to value")
        for key, value in self.start.items():
            check_number(f"start.{key}", value, low=0)

    def progress(self, episode: float, time_scale: float) -> float:
        """Fraction in [0, 1] of the way from the start values to the full grid."""
        begin = self.start_episode * time_scale
        span = self.over_episodes * time_scale
        if episode < begin:
            return 0.0
        if span <= 0:
            return 1.0
        return min(1.0, (episode - begin) / span)


@dataclass(frozen=True)
class AgentCurriculum:
    """One agent type's schedule within a curriculum."""

    learn_from: float | None = 0.0
    """Episode from which this type's policy is updated; ``null``: never."""
    mask: MaskSchedule | None = None
    """Action-mask schedule; ``null``: the full grid from episode 0."""
    entropy_decay: float = 10000.0
    """Episodes over which the entropy bonus decays by ``e``; 0: no decay."""
    entropy_floor: float = 0.1
    """Lowest fraction of the base entropy coefficient, in [0, 1]."""

    def __post_init__(self) -> None:
        if self.learn_from is not None:
            check_number("learn_from", self.learn_from, low=0)
        check_number("entropy_decay", self.entropy_decay, low=0)
        check_number("entropy_floor", self.entropy_floor, low=0, high=1)


class PerTypeAccess:
    """Mixin of config records with a per-agent-type mapping ``agents``: ``record.<type>`` reads
    ``record.agents[<type>]``, so dotted config paths (``training.<type>.lr``) keep working."""

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        agents = self.__dict__.get("agents", {})
        if name in agents:
            return agents[name]
        raise AttributeError(name)


@dataclass(frozen=True)
class Curriculum(PerTypeAccess):
    """A named curriculum; its ``family`` is the PBT niche it belongs to."""

    name: str = "none"
    family: str | None = None
    """Niche label for population search; ``null`` means ``name``."""
    time_scale: float = 1.0
    """Multiplier applied to every episode count below."""
    theta_anneal: float = 0.0
    """Episodes of theta annealing ``1 - exp(-e / theta_anneal)``; 0: no annealing."""
    agents: dict[str, AgentCurriculum] = field(default_factory=dict)
    """Per agent type (YAML: the type's name as a key, ``<type>: {learn_from: 0, mask: ...}``); a type
    not named learns from episode 0 with the full grid. Checked against the economy by
    :func:`check_curriculum` when the run config is built."""

    PER_TYPE_FIELD = "agents"
    """YAML keys that are not fields are agent types, gathered into this field (:mod:`pbt_econ.config.load`)."""

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ConfigError(f"name = {self.name!r}: must be a non-empty string")
        check_number("time_scale", self.time_scale, low=0, low_open=True)
        check_number("theta_anneal", self.theta_anneal, low=0)

    @property
    def niche(self) -> str:
        return self.family or self.name

    def agent(self, agent_type: str) -> AgentCurriculum:
        """The schedule of ``agent_type`` (the default schedule if the curriculum names none)."""
        return self.agents.get(agent_type) or _DEFAULT_AGENT

    def at(self, episode: int, types: tuple[str, ...]) -> EpisodeSpec:
        """The spec of training episode ``episode`` (0-based, counted over the member's life) for the
        economy's agent ``types``."""
        ts = self.time_scale
        anneal = self.theta_anneal * ts
        theta_scale = 1.0 - math.exp(-episode / anneal) if anneal > 0 else 1.0
        agents = {}
        for name in types:
            agent = self.agent(name)
            decay = agent.entropy_decay * ts
            factor = math.exp(-episode / decay) if decay > 0 else 1.0
            agents[name] = AgentSpec(
                learns=agent.learn_from is not None and episode >= agent.learn_from * ts,
                mask_progress=1.0 if agent.mask is None else agent.mask.progress(episode, ts),
                mask_start=() if agent.mask is None else tuple(sorted(agent.mask.start.items())),
                entropy_factor=max(factor, agent.entropy_floor),
            )
        return EpisodeSpec(episode=episode, theta_scale=theta_scale, agents=agents)


_DEFAULT_AGENT = AgentCurriculum()


def check_curriculum(curriculum: Curriculum, mask_actions: dict[str, tuple[str, ...]], where: str) -> None:
    """Raise :class:`ConfigError` (naming ``where``) unless every type the curriculum names is one of
    the economy's (``mask_actions``: type -> actions a mask may start from) and masks only maskable actions."""
    for agent_type, schedule in curriculum.agents.items():
        if agent_type not in mask_actions:
            raise ConfigError(f"{where}.{agent_type}: not an agent type of this economy; "
                              f"known: {', '.join(mask_actions)}")
        mask = schedule.mask
        if mask is None:
            continue
        allowed = mask_actions[agent_type]
        if not allowed:
            maskable = [t for t, a in mask_actions.items() if a]
            raise ConfigError(f"{where}.{agent_type}.mask: this type has no action mask; allowed only for "
                              f"{', '.join(maskable) or 'no type'}")
        unknown = sorted(set(mask.start) - set(allowed))
        if unknown:
            raise ConfigError(f"{where}.{agent_type}.mask.start.{unknown[0]}: unknown action; "
                              f"allowed: {', '.join(allowed)}")
