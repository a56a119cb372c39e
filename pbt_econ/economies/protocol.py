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

Hooks. Every method of :class:`Economy` is declared here with its docstring. The
required ones have no body; the **optional hooks** have a default implementation,
which an economy gets by subclassing :class:`Economy` (every built-in economy
does) and overrides where it has something to say:

* :meth:`Economy.budgets` (``None``: no budgets): end-of-episode money per agent;
  enables the no-Ponzi penalty for the types it returns, scaled by
  :meth:`Economy.budget_scales`;
* :meth:`Economy.invariants`: checks the conformance suite runs after every step
  (money conservation for the RBC);
* :meth:`Economy.describe_action`: a readable label of a constant action (certificates);
* :meth:`Economy.console_columns`, :meth:`Economy.report_columns`,
  :meth:`Economy.spectrum_axes`, :meth:`Economy.archive_axes`,
  :meth:`Economy.relations`: what the console, the report, the plots and the
  quality-diversity archive show.

The core calls these hooks; it never probes for an attribute. Randomness comes from
the generator passed to :meth:`Economy.reset`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, runtime_checkable

import torch

__all__ = ["AgentType", "DescriptorSpec", "Economy", "EconomyEntry", "KnownAnswer", "Metric", "Regime", "RunView",
           "Summary", "Target"]


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

    def reset(self, theta_scale: float = 1.0, generator: torch.Generator | None = None) -> Any:
        """The initial state of ``B`` copies.

        ``theta_scale``: curriculum factor (economies that do not anneal ignore it). ``generator``: the
        caller's random stream (gymnax style); an economy with random shocks draws them from it, so
        that two rollouts on equally seeded generators see the same shocks (common random numbers).
        ``None`` (direct use): the economy draws from a generator seeded by its config.
        """

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

    def fixed_indices(self, agent_type: str, values: Mapping[str, float]) -> tuple[int, ...]:
        """Head indices of the constant action with decoded ``values`` (a fixed policy)."""

    # -------------------------------------------------------------- optional hooks (defaults)
    def budgets(self, state: Any) -> dict[str, torch.Tensor] | None:
        """``{type: money [B, n]}`` for types with budgets (no-Ponzi), or ``None`` (default: no budgets).

        Called by the rollout at the end of every episode, and once at build time to learn which types
        have budgets."""
        return None

    def budget_scales(self) -> Mapping[str, float]:
        """Money per unit of no-Ponzi penalty, per type with a budget (default: empty, i.e. 1 for every type).

        ``training.no_ponzi.budget_scale`` overrides it; read by the rollout."""
        return {}

    def invariants(self, state: Any, actions: Any, next_state: Any, info: Mapping[str, torch.Tensor]) -> list[str]:
        """Violated invariants after one step (empty list: all hold; default: none declared).

        Called by the conformance suite after every step."""
        return []

    def describe_action(self, agent_type: str, index: int) -> str:
        """A readable label of joint action ``index`` of a single-head type (default ``index=<i>``).

        Called by best response to name a certificate's constant deviation."""
        return f"index={index}"

    def console_columns(self) -> tuple[tuple[str, str, int, str], ...]:
        """``(descriptor, header, width, format)`` of the console summaries of ``search`` and ``train``
        (default: the welfare descriptor and the next five descriptors)."""
        names = [self.fitness_descriptor] + [d.name for d in self.descriptors if d.name != self.fitness_descriptor]
        return tuple((n, n[:9], 10, ".4g") for n in names[:6])

    def report_columns(self) -> tuple[str, ...]:
        """Descriptors in the report's table of equilibria (default: the first ten)."""
        return tuple(d.name for d in self.descriptors)[:10]

    def spectrum_axes(self) -> tuple[tuple[str, str], ...]:
        """Two descriptor pairs of the spectrum plot and the progress bar (default: the first two
        descriptors, then the third against welfare)."""
        names = [d.name for d in self.descriptors]
        return ((names[0], names[1 % len(names)]), (names[2 % len(names)], self.fitness_descriptor))

    def archive_axes(self) -> tuple[str, str]:
        """Default ``(x, y)`` descriptors of the quality-diversity archive (default: the first two)."""
        names = [d.name for d in self.descriptors]
        return names[0], names[1 % len(names)]

    def relations(self) -> tuple[tuple[str, str, str], ...]:
        """``(x, y, caption)`` relations across outcomes whose r² the report gives (default: none)."""
        return ()


@dataclass(frozen=True)
class EconomyEntry:
    """A registered economy: its name, config dataclass and constructor."""

    kind: str
    config_class: type
    """Frozen dataclass of the YAML section ``economy:`` (without ``kind``)."""
    build: Callable[..., Economy]
    """``build(run_config, batch_size, device, dtype) -> Economy``."""
    description: str = ""
    spaces_class: type | None = None
    """Frozen dataclass of an optional YAML section ``spaces:`` (action grids kept apart from ``economy:``, as
    the RBC's); ``None``: the economy has no such section."""
    known_answer: KnownAnswer | None = None
    """The economy's known equilibrium, if it has one (``python -m pbt_econ.validate`` runs it)."""


# ------------------------------------------------------------------ known answers
@dataclass(frozen=True)
class Metric:
    """One measured number of one validation run next to its known value (NaN: nothing known)."""

    name: str
    value: float
    known: float = float("nan")


@dataclass(frozen=True)
class Target:
    """One pass/fail target of a known answer, judged over every seed of a validation."""

    name: str
    met: bool
    measured: str
    """What was measured, in words and numbers (printed in ``validation.md``)."""


class RunView(Protocol):
    """One finished search as the validation study hands it to a :class:`KnownAnswer` (read from disk).

    A known answer lives in its plug-in and may import nothing above the protocol, so everything that
    needs the learning core (loading a member, evaluating its policy) comes through this view.
    """

    seed: int
    economy_config: Any
    """The run's resolved ``economy:`` config (the known answer is recomputed from it, never from defaults)."""
    outcomes: Any
    """``outcomes.parquet`` as a pandas DataFrame (one row per member)."""
    equilibria: Any
    """``equilibria.parquet`` as a DataFrame, or ``None`` when the analysis wrote none."""

    def member_ids(self) -> list[str]:
        """The members whose final policies are on disk."""

    def policy(self, member_id: str, agent_type: str) -> Callable[[torch.Tensor], torch.Tensor]:
        """The member's learned policy of ``agent_type``: observations ``[B, n, D]`` -> probabilities ``[B, n, H, K]``.

        Probabilities over the full grid (curriculum masks fully widened), float64, on the CPU.
        """

    def policy_probs(self, member_id: str, agent_type: str) -> list[float]:
        """Shortcut: the first head's probabilities of the first agent at the reset observation."""


@dataclass(frozen=True)
class KnownAnswer:
    """What an economy with a known equilibrium declares (``EconomyEntry.known_answer``).

    ``python -m pbt_econ.validate`` runs the search on every economy that declares one and compares
    each seed's run with it; no economy is named in the validation code.
    """

    compare: Callable[[RunView], list[Metric]]
    """One run -> its metrics (each with its known value)."""
    targets: Callable[[Mapping[str, list[float]]], list[Target]]
    """``{metric: [value per seed]}`` -> the targets, met or missed."""
    profiles: Callable[[Any], Mapping[str, Mapping[str, Sequence[float]]]] | None = None
    """``economy_config -> {profile name: {agent type: action probabilities over the grid}}``: known profiles
    (e.g. Cournot collusion) that validation certifies with the framework's own best response."""
    plot: Callable[[Mapping[str, list[float]], Any], None] | None = None
    """Optional ``(metrics over seeds, matplotlib Axes) -> None``: the economy's validation figure."""
    figures: Callable[[RunView], Mapping[str, Any]] | None = None
    """Optional ``run -> {name: matplotlib Figure}``: one run's own figures (learned against known);
    validation saves each as ``<economy>_seed<k>_<name>.png`` beside ``validation.md`` and links it."""
    config: str = ""
    """The shipped config the validation searches (``configs/<config>``; default ``<kind>.yaml``)."""
