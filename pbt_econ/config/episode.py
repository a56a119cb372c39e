"""The episode spec: everything that makes one episode what it is, in one frozen record.

Training, best response and evaluation run the *same* rollout and update
code; they differ only in the :class:`EpisodeSpec` they pass in:

* which agent types learn (their policies are updated after the rollout);
* each type's action mask (how far it has widened, and from which start values);
* the curriculum factor the economy's reset receives (``theta_scale``; the RBC's disutility of work);
* each type's entropy-bonus factor;
* whether the no-Ponzi penalty is applied to rewards, and whether the
  multipliers of the *learning* types move after the episode;

A :class:`~pbt_econ.config.curriculum.Curriculum` *produces* specs
(:meth:`~pbt_econ.config.curriculum.Curriculum.at`); :func:`evaluation_spec` and
:func:`best_response_spec` derive the other two kinds. Nothing downstream
reads curriculum state: a spec is a complete description of an episode.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

__all__ = ["AgentSpec", "EpisodeSpec", "best_response_spec", "evaluation_spec", "with_entropy_factor", "with_fixed"]


@dataclass(frozen=True)
class AgentSpec:
    """One agent type's settings for one episode."""

    learns: bool
    """The type's policy is updated after the rollout."""
    mask_progress: float = 1.0
    """Fraction in [0, 1] of the way from ``mask_start`` to the full action grid."""
    mask_start: tuple[tuple[str, float], ...] = ()
    """Start values of the mask as ``(action, value)`` pairs (the actions the economy's
    :attr:`~pbt_econ.economies.AgentType.mask_actions` names); an action not named starts at the
    economy's default."""
    entropy_factor: float = 1.0
    """Multiplier on the type's base entropy coefficient."""
    fixed_action: tuple[int, ...] | None = None
    """Head indices the type always plays (a fixed policy, ``fixed:``); ``None``: its policy acts."""

    def start(self, action: str, default: float) -> float:
        """The mask start value of ``action`` (``default`` if the spec names none)."""
        return dict(self.mask_start).get(action, default)


@dataclass(frozen=True)
class EpisodeSpec:
    """The complete settings of one episode (see the module docstring)."""

    episode: int
    """The member's episode counter when this episode runs (0-based)."""
    theta_scale: float
    """Curriculum factor passed to the economy's reset (the RBC's disutility of work; 1 = the
    model's value; ignored by economies that do not anneal)."""
    agents: dict[str, AgentSpec]
    """Per agent type, in the economy's type order."""
    penalties: bool = True
    """Apply the no-Ponzi penalty to final rewards (when ``training.no_ponzi.enabled``)."""
    update_multipliers: bool = True
    """After the episode, move the no-Ponzi multiplier of every type that *learns* in it."""

    def agent(self, agent_type: str) -> AgentSpec:
        return self.agents[agent_type]

    @property
    def types(self) -> tuple[str, ...]:
        return tuple(self.agents)

    @property
    def learners(self) -> tuple[str, ...]:
        """The agent types that learn in this episode, in type order."""
        return tuple(t for t, a in self.agents.items() if a.learns)

    def multiplier_moves(self, agent_type: str) -> bool:
        """Whether ``agent_type``'s no-Ponzi multiplier is updated after this episode."""
        return self.update_multipliers and self.agent(agent_type).learns


def with_fixed(spec: EpisodeSpec, fixed: dict[str, tuple[int, ...]]) -> EpisodeSpec:
    """``spec`` with each type in ``fixed`` playing its fixed action and not learning."""
    if not fixed:
        return spec
    agents = dict(spec.agents)
    for t, a in fixed.items():
        agents[t] = dataclasses.replace(spec.agent(t), learns=False, fixed_action=tuple(a))
    return dataclasses.replace(spec, agents=agents)


def with_entropy_factor(spec: EpisodeSpec, factor: float) -> EpisodeSpec:
    """``spec`` with every type's entropy-bonus factor multiplied by ``factor`` (``spec`` itself for 1)."""
    if factor == 1.0:
        return spec
    agents = {t: dataclasses.replace(a, entropy_factor=a.entropy_factor * factor) for t, a in spec.agents.items()}
    return dataclasses.replace(spec, agents=agents)


def evaluation_spec(types: tuple[str, ...], episode: int = 0) -> EpisodeSpec:
    """Full action grids, full theta, nobody learns, nothing moves: how outcomes are measured.

    The no-Ponzi penalty is applied (when enabled), so rewards measured here
    are the very objective the types were trained on.
    """
    agent = AgentSpec(learns=False)
    return EpisodeSpec(episode=episode, theta_scale=1.0, agents={t: agent for t in types},
                       penalties=True, update_multipliers=False)


def best_response_spec(spec: EpisodeSpec, target: str) -> EpisodeSpec:
    """``spec`` (a training spec) turned into a deviation of ``target`` (the ε-meta-equilibrium check).

    Only ``target`` learns, every mask is the full grid and theta is the
    model's own; entropy factors are kept, so a deviation continuing at the
    member's episode count uses the same annealed bonus as late training.
    Only ``target``'s multiplier can move; the frozen types' stay put.
    """
    if target not in spec.agents:
        from pbt_econ.core.errors import ConfigError

        raise ConfigError(f"best-response type {target!r}: must be one of {', '.join(spec.agents)}")
    agents = {
        t: AgentSpec(learns=t == target, entropy_factor=a.entropy_factor, fixed_action=a.fixed_action)
        for t, a in spec.agents.items()
    }
    return dataclasses.replace(spec, theta_scale=1.0, agents=agents)
