"""Training settings: one :class:`AgentTrainingConfig` per agent type, the no-Ponzi penalty, and
:class:`TrainingConfig` that holds them (YAML section ``training:``; docs/configuration.md).

Kept apart from :mod:`.schema` so that :mod:`.resolve` can build per-type defaults without importing the
run config it completes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from pbt_econ.config.curriculum import PerTypeAccess
from pbt_econ.core.errors import ConfigError, check_number

__all__ = ["AgentTrainingConfig", "NoPonziConfig", "TrainingConfig"]


@dataclass(frozen=True)
class AgentTrainingConfig:
    """Learning settings of one agent type (``training.consumer`` etc.)."""

    lr: float = 1e-3
    """Adam learning rate."""
    gamma: float = 0.9999
    """Discount factor per step."""
    reward_scale: float = 1.0
    """Rewards are divided by this before learning (docs/model.md §5)."""
    entropy_coef: float = 0.5
    """Base entropy-bonus coefficient, multiplied by the curriculum's factor."""

    def __post_init__(self) -> None:
        check_number("lr", self.lr, low=0, low_open=True, high=1)
        check_number("gamma", self.gamma, low=0, high=1)
        check_number("reward_scale", self.reward_scale, low=0, low_open=True)
        check_number("entropy_coef", self.entropy_coef, low=0)


@dataclass(frozen=True)
class NoPonziConfig:
    """The no-Ponzi Lagrangian penalty of docs/model.md §4 (off by default, as in the reference runs)."""

    enabled: bool = False
    multiplier_lr: float = 0.01
    """Gradient-ascent step of the multipliers per episode."""
    initial_multiplier: float = 0.0
    budget_scale: dict[str, float] = field(default_factory=dict)
    """Money per unit of penalty, per agent type with a budget (``{type: money}``); a type not named
    takes the economy's scale (the RBC: consumer 1000, firm 100000)."""

    def __post_init__(self) -> None:
        check_number("multiplier_lr", self.multiplier_lr, low=0)
        check_number("initial_multiplier", self.initial_multiplier, low=0)
        for t, v in self.budget_scale.items():
            check_number(f"budget_scale.{t}", v, low=0, low_open=True)


@dataclass(frozen=True)
class TrainingConfig(PerTypeAccess):
    """How one member learns (``training:``)."""

    episodes: int = 1000
    """Episodes a member trains for (``pbt_econ.train``; the population uses ``population.episodes``)."""
    batch_size: int = 32
    """``B``: economy copies per episode."""
    algorithm: Literal["ppo", "pg"] = "ppo"
    """PPO with clipping, or plain policy gradient with a value baseline."""
    update_epochs: int = 2
    """PPO epochs per batch (PG always uses one)."""
    minibatches: int = 1
    """Minibatches per epoch."""
    ppo_clip: float = 0.1
    gae_lambda: float = 0.95
    """GAE lambda; 1.0 gives discounted Monte-Carlo returns minus the value baseline."""
    value_coef: float = 0.5
    normalize_returns: bool = False
    """Divide each type's (already ``reward_scale``-d) rewards by the running standard deviation of its
    discounted returns (:mod:`pbt_econ.learning.normalize`), so value targets stay O(1) at any economy size."""
    max_grad_norm: float = 2.0
    hidden_size: int = 128
    log_every: int = 50
    """Episodes per metrics row."""
    checkpoint_every: int = 250
    """Episodes between checkpoints of ``pbt_econ.train``."""
    no_ponzi: NoPonziConfig = field(default_factory=NoPonziConfig)
    agents: dict[str, AgentTrainingConfig] = field(default_factory=dict)
    """Per agent type (YAML: ``training.<type>: {...}``, e.g. ``training.consumer.lr``); a type not
    named takes the economy's defaults (:attr:`~pbt_econ.economies.AgentType.training_defaults`), and a
    named type's omitted fields too. Filled in for every type of the economy when the run config is built."""

    PER_TYPE_FIELD = "agents"
    """YAML keys that are not fields are agent types, gathered into this field (:mod:`pbt_econ.config.load`)."""

    def __post_init__(self) -> None:
        check_number("episodes", self.episodes, low=0, integer=True)
        check_number("batch_size", self.batch_size, low=1, integer=True)
        if self.algorithm not in ("ppo", "pg"):
            raise ConfigError(f"algorithm = {self.algorithm!r}: must be 'ppo' or 'pg'")
        check_number("update_epochs", self.update_epochs, low=1, integer=True)
        check_number("minibatches", self.minibatches, low=1, integer=True)
        check_number("ppo_clip", self.ppo_clip, low=0, low_open=True, high=1)
        check_number("gae_lambda", self.gae_lambda, low=0, high=1)
        check_number("value_coef", self.value_coef, low=0)
        check_number("max_grad_norm", self.max_grad_norm, low=0, low_open=True)
        check_number("hidden_size", self.hidden_size, low=1, integer=True)
        check_number("log_every", self.log_every, low=1, integer=True)
        check_number("checkpoint_every", self.checkpoint_every, low=1, integer=True)

    def agent(self, agent_type: str) -> AgentTrainingConfig:
        try:
            return self.agents[agent_type]
        except KeyError:
            raise ConfigError(f"training.{agent_type}: not an agent type of this economy; "
                              f"known: {', '.join(self.agents)}") from None
