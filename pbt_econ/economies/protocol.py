"""The Economy protocol: everything the generic core needs to know about a model, and nothing else.

An *economy* is a batched, pure simulation of ``B`` independent copies of one
model with one or more **agent types** (the RBC model: consumers, firms, a
government; a Cournot market: firms). The core (rollout, PPO, member, best
response, the population search and the generic analysis) knows agent types
only as the :class:`AgentType` records an economy declares, and knows the
economy's outcome only through its :class:`DescriptorSpec` schema. Anchors for
the shape: JaxMARL's ``MultiAgentEnv`` (agent classes, available-action masks,
a ``make(name)`` registry), PettingZoo's conformance test, OpenSpiel's game
metadata that lets an algorithm refuse a game it does not fit.

A policy of type ``t`` emits ``heads`` categorical heads padded to one
``width`` (``[N, H, K]`` logits). The economy decodes head indices into its
own action record (:meth:`Economy.decode`), steps (:meth:`Economy.step`) and
reports per-agent rewards ``[B, n]`` of every type. Episode summaries are
accumulated step by step by the economy's :class:`Summary`, so that the
rollout loop stays generic and the economy decides what its descriptors mean.

Capabilities the core switches on:

* :meth:`Economy.budgets` (``None`` if the model has no budgets): end-of-episode
  money per agent; enables the no-Ponzi penalty for the types it returns;
* :attr:`Economy.anneals_disutility`: the curriculum's ``theta_scale`` is passed
  to :meth:`Economy.reset`; economies without it ignore the factor;
* :meth:`Economy.invariants` (optional): checks the conformance suite runs after
  every step (money conservation for the RBC).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, runtime_checkable

import torch

__all__ = ["AgentType", "DescriptorSpec", "Economy", "EconomyEntry", "Regime", "Summary"]


@dataclass(frozen=True)
class AgentType:
    """One agent type as the core sees it: how many, what they see, what they choose."""

    name: str
    """Lower-case identifier used in YAML (``training.<name>``), table columns (``reward_<name>``) and plots."""
    count: int
    """Agents of this type in one economy copy (derived from the economy's config)."""
    obs_size: int
    """Length ``D`` of one agent's observation vector."""
    heads: int
    """Categorical heads ``H`` of the type's policy."""
    width: int
    """Choices ``K`` per head (padded; invalid entries are masked by :meth:`Economy.mask`)."""
    actions: tuple[str, ...] = ()
    """Names of the decoded actions (fixed policies and curriculum masks refer to them)."""
    mask_actions: tuple[str, ...] = ()
    """Actions a curriculum may mask (start value widening to the full grid); empty: the type has no mask."""
    training_defaults: Mapping[str, float] = field(default_factory=dict)
    """Defaults of ``training.<name>.*`` that differ from the generic ones (e.g. ``reward_scale``)."""
    tolerance: float = 0.05
    """Default relative best-response tolerance of the type (``best_response.tolerance.<name>``)."""

    @property
    def joint_actions(self) -> int:
        """Size of the type's joint action grid (``width ** heads`` upper bound for one head: ``width``)."""
        return self.width ** self.heads


@dataclass(frozen=True)
class DescriptorSpec:
    """One descriptor column: what an outcome looks like in one number."""

    name: str
    unit: str
    label: str
    """A short human-readable description (docs, plots, reports)."""


@dataclass(frozen=True)
class Regime:
    """A named regime and the rule that assigns it (first matching rule wins)."""

    name: str
    rule: str
    """The rule in words, printed in reports."""
    test: Callable[[Mapping[str, float]], bool]


class Summary(Protocol):
    """Accumulates one rollout's descriptors, step by step (see :meth:`Economy.summary`)."""

    def add(self, state: Any, actions: Any, info: Mapping[str, torch.Tensor]) -> None:
        """Called once per step with the state *before* the step, the decoded actions and the step's info."""

    def finish(self, final: Any, returns: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """0-d tensors, one per descriptor, from the final state and per-agent episode returns ``[B, n]``."""


@runtime_checkable
class Economy(Protocol):
    """A batched economy (see the module docstring). Built by its :class:`EconomyEntry`."""

    kind: ClassVar[str]
    agent_types: tuple[AgentType, ...]
    descriptors: tuple[DescriptorSpec, ...]
    regimes: tuple[Regime, ...]
    fitness_descriptor: str
    """Descriptor that measures the outcome's welfare (default PBT fitness, report column)."""
    episode_length: int
    batch_size: int
    anneals_disutility: bool

    def reset(self, theta_scale: float = 1.0) -> Any:
        """The initial state of ``B`` copies (``theta_scale``: curriculum factor, if the economy anneals)."""

    def observe(self, state: Any) -> dict[str, torch.Tensor]:
        """``{type: [B, n, D]}`` observations of every agent."""

    def mask(self, agent_type: str, progress: float, start: Mapping[str, float]) -> torch.Tensor:
        """``[H, K]`` or ``[1, K]`` bool: allowed choices at mask ``progress`` from ``start`` values."""

    def decode(self, indices: Mapping[str, torch.Tensor]) -> Any:
        """Head indices ``{type: [B, n, H]}`` -> the economy's action record."""

    def step(self, state: Any, actions: Any) -> tuple[Any, dict[str, torch.Tensor], Mapping[str, torch.Tensor]]:
        """``(next_state, {type: rewards [B, n]}, info)``; must not modify ``state``."""

    def summary(self) -> Summary:
        """A fresh accumulator of one rollout's descriptors."""

    def reward_descriptor(self, agent_type: str) -> str:
        """Descriptor holding the mean per-agent episode return of ``agent_type``."""

    def trivial(self, descriptors: Mapping[str, float]) -> bool:
        """The economy's collapsed (no-activity) outcome rule."""

    def budgets(self, state: Any) -> dict[str, torch.Tensor] | None:
        """``{type: money [B, n]}`` for types with budgets (no-Ponzi), or ``None``."""

    def fixed_indices(self, agent_type: str, values: Mapping[str, float]) -> tuple[int, ...]:
        """Head indices of the constant action with decoded ``values`` (a fixed policy)."""

    def invariants(self, state: Any, actions: Any, next_state: Any, info: Mapping[str, torch.Tensor]) -> list[str]:
        """Violated invariants after one step (empty list: all hold)."""


@dataclass(frozen=True)
class EconomyEntry:
    """A registered economy: its name, config dataclass and constructor."""

    kind: str
    config_class: type
    """Frozen dataclass of the YAML section ``economy:`` (without ``kind``)."""
    build: Callable[..., Economy]
    """``build(run_config, batch_size, device, dtype) -> Economy``."""
    description: str = ""
    extras: dict[str, Any] = field(default_factory=dict)
    """Plug-in specific hooks (e.g. a ``ground_truth`` callable used by ``python -m pbt_econ.validate``)."""
