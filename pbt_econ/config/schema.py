"""The typed run configuration's root: :class:`RunConfig`, with its best-response and analysis sections.

The other sections live in :mod:`pbt_econ.config.training`, :mod:`pbt_econ.config.curriculum` and
:mod:`pbt_econ.config.population`; the economy's own section is the config class of the plug-in that
``economy.kind`` names (default :data:`DEFAULT_KIND`), and :func:`get_path` / :func:`replace_path`
read and replace one dotted path of the tree. Every field is documented where it is declared and in
docs/configuration.md;
``__post_init__`` checks ranges where they live, with a
:class:`~pbt_econ.core.errors.ConfigError` that names the field. Loading YAML
into this tree is :mod:`pbt_econ.config.load`'s job; import the names from there.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from pbt_econ.config.curriculum import Curriculum
from pbt_econ.config.population import ArchiveConfig, Objective, PopulationConfig, SearchParam
from pbt_econ.config.training import AgentTrainingConfig, NoPonziConfig, TrainingConfig
from pbt_econ.core.errors import ConfigError, check_number

__all__ = [
    "AgentTrainingConfig",
    "AnalysisConfig",
    "ArchiveConfig",
    "BestResponseConfig",
    "NoPonziConfig",
    "Objective",
    "PopulationConfig",
    "RunConfig",
    "SearchParam",
    "TrainingConfig",
    "get_path",
    "replace_path",
]


@dataclass(frozen=True)
class BestResponseConfig:
    """Best-response check of every outcome (``best_response:``, docs/model.md §6)."""

    episodes: int = 200
    """Training episodes of the deviating type."""
    eval_episodes: int = 8
    """Evaluation episodes (of ``batch_size`` economies each) before and after."""
    eval_seed: int = 1_000_003
    """Seed of evaluation rollouts; never used for training."""
    types: tuple[str, ...] = ()
    """Agent types to check; empty: every type of the economy."""
    from_scratch: bool = False
    """Also best-respond from a freshly initialised policy."""
    certificate_max_actions: int = 64
    """Exact certificates: every type whose policy has one head of at most this many actions also has
    each constant action evaluated as a deviation (type-level and unilateral), with the same episodes
    and random numbers as "before"; the best one's gain is a lower bound on ε needing no training.
    0: no certificates."""
    check_fixed: bool = False
    """Also certify the types with a fixed policy (``fixed:``): is a given profile, e.g. collusion, an
    ε-equilibrium? (Fixed types have no policy to train, so only the certificates check them.)"""
    unilateral_agents: int = 2
    """Agents of a type (evenly spaced over its agents) whose unilateral constant deviations the
    certificates evaluate (a type with one agent: its type-level deviation is the unilateral one)."""
    tolerance: dict[str, float] = field(default_factory=dict)
    """Largest allowed gain per type, relative to the improvement during training; a type not named
    takes the economy's default (the RBC: consumer 0.03, firm 0.10, government 0.01, the paper's)."""
    endgame_steps: int = 0
    """End-game certificates: each constant action of a certifiable type played at one of the last
    ``endgame_steps`` steps only (docs/model.md §11; :mod:`pbt_econ.equilibrium.best_response.endgame`).
    0: none."""
    sequential_cap: int = 1
    """Sequential evaluation: a check whose interval is undecided is evaluated again on a longer, planned
    evaluation of the same stream (at least twice the episodes; the first ones are the same: common random
    numbers), until the verdict is decided or the episodes reach ``sequential_cap * eval_episodes``. Every
    look's interval is widened for the number of looks (:mod:`pbt_econ.equilibrium.sequential`). 1: off
    (one evaluation)."""

    def __post_init__(self) -> None:
        check_number("episodes", self.episodes, low=1, integer=True)
        check_number("sequential_cap", self.sequential_cap, low=1, integer=True)
        check_number("endgame_steps", self.endgame_steps, low=0, integer=True)
        check_number("eval_episodes", self.eval_episodes, low=1, integer=True)
        check_number("eval_seed", self.eval_seed, low=0, integer=True)
        for t, v in self.tolerance.items():
            check_number(f"tolerance.{t}", v, low=0)
        check_number("certificate_max_actions", self.certificate_max_actions, low=0, integer=True)
        check_number("unilateral_agents", self.unilateral_agents, low=0, integer=True)


@dataclass(frozen=True)
class AnalysisConfig:
    """Clustering of outcomes into equilibria (``analysis:``)."""

    method: Literal["noise", "agglomerative", "hdbscan"] = "noise"
    """``noise``: outcomes are one equilibrium unless a descriptor differs beyond its evaluation noise
    (a z-test per descriptor, Holm-corrected) *and* by more than ``min_relative_difference``;
    ``agglomerative`` / ``hdbscan``: distance clustering of standardised descriptors."""
    eval_seeds: int = 4
    """Evaluation seeds per final outcome; their spread gives each descriptor a standard error."""
    alpha: float = 0.05
    """Family-wise error rate of the per-descriptor tests of one pair of outcomes (Holm)."""
    min_relative_difference: float = 0.1
    """Practical resolution: a descriptor separates two outcomes only if it differs by more than
    this fraction of the larger magnitude."""
    bootstrap: int = 200
    """Bootstrap resamples for the clusters' stability (0: not computed)."""
    distance_threshold: float = 0.5
    """Agglomerative (average linkage): clusters merge while the mean distance between their
    members is below this, per descriptor (RMS over descriptors, standardised units)."""
    relative_resolution: float = 0.1
    """Descriptors are scaled by ``max(std, relative_resolution * |mean|)``: smaller relative
    differences never make distinct equilibria."""
    min_cluster_size: int = 2
    """HDBSCAN's minimum cluster size."""

    def __post_init__(self) -> None:
        if self.method not in ("noise", "agglomerative", "hdbscan"):
            raise ConfigError(f"method = {self.method!r}: must be 'noise', 'agglomerative' or 'hdbscan'")
        check_number("eval_seeds", self.eval_seeds, low=1, integer=True)
        check_number("alpha", self.alpha, low=0, low_open=True, high=1, high_open=True)
        check_number("min_relative_difference", self.min_relative_difference, low=0)
        check_number("bootstrap", self.bootstrap, low=0, integer=True)
        check_number("distance_threshold", self.distance_threshold, low=0, low_open=True)
        check_number("relative_resolution", self.relative_resolution, low=0)
        check_number("min_cluster_size", self.min_cluster_size, low=2, integer=True)


DEFAULT_KIND = "rbc"
"""The economy a config without ``economy.kind`` runs: decided here, once (the loader reads it too)."""


def default_economy_config() -> Any:
    """The default config of the :data:`DEFAULT_KIND` economy (a ``RunConfig()`` without an economy)."""
    from pbt_econ.economies.registry import get_entry

    return get_entry(DEFAULT_KIND).config_class()


@dataclass(frozen=True)
class RunConfig:
    """Everything one run (a member or a population search) needs."""

    name: str = "default"
    seed: int = 0
    device: str = "cpu"
    """``cpu``, ``cuda`` or ``cuda:N``."""
    dtype: Literal["float32", "float64"] = "float32"
    threads: int = 0
    """torch intra-op threads; 0 leaves torch's default."""
    economy: Any = field(default_factory=lambda: default_economy_config())
    """The economy's own config dataclass, chosen by ``economy.kind`` (default :data:`DEFAULT_KIND`)."""
    spaces: Any = None
    """The economy's action grids (YAML section ``spaces:``), for economies that declare a
    ``spaces_class`` (:class:`~pbt_econ.economies.EconomyEntry`); ``None``: the economy's defaults."""
    training: TrainingConfig = field(default_factory=TrainingConfig)
    curriculum: Curriculum = field(default_factory=Curriculum)
    population: PopulationConfig = field(default_factory=PopulationConfig)
    search_space: dict[str, SearchParam] = field(default_factory=dict)
    """Dotted config paths (``training.consumer.lr``, ``curriculum.time_scale``) to ranges."""
    best_response: BestResponseConfig = field(default_factory=BestResponseConfig)
    analysis: AnalysisConfig = field(default_factory=AnalysisConfig)
    fixed: dict[str, dict[str, float]] = field(default_factory=dict)
    """Agent types that always play one given action and never learn (checked and resolved to head indices
    by :mod:`pbt_econ.config.resolve`)."""

    def __post_init__(self) -> None:
        if (not isinstance(self.name, str) or not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.+-]*", self.name)
                or ".." in self.name):
            raise ConfigError(f"name = {self.name!r}: must be a plain file name (letters, digits, '_', '-', '+', '.'; "
                              "no '/', no leading '.', no '..'): it names the run's folder under runs/")
        check_number("seed", self.seed, low=0, high=2**63 - 1, integer=True)
        if not isinstance(self.device, str) or not re.fullmatch(r"cpu|cuda(:\d+)?", self.device):
            raise ConfigError(f"device = {self.device!r}: must be 'cpu', 'cuda' or 'cuda:N' (N a GPU index)")
        if self.dtype not in ("float32", "float64"):
            raise ConfigError(f"dtype = {self.dtype!r}: must be 'float32' or 'float64'")
        check_number("threads", self.threads, low=0, integer=True)
        from pbt_econ.config.resolve import resolve

        for name, section in resolve(self).items():  # economy-dependent defaults and checks
            object.__setattr__(self, name, section)  # this config's own fields, while it is being built
        for path in self.search_space:
            if not (path.startswith("training.") or path.startswith("curriculum.")):
                raise ConfigError(f"search_space.{path}: only training.* and curriculum.* fields can be searched")
            try:
                value = get_path(self, path)
            except AttributeError:
                raise ConfigError(f"search_space.{path}: no such config field") from None
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ConfigError(f"search_space.{path}: is not a number field")

    @property
    def fixed_actions(self) -> dict[str, tuple[int, ...]]:
        """Head indices of each fixed type's action (empty when nothing is fixed)."""
        from pbt_econ.config.resolve import fixed_actions

        return fixed_actions(self)

    @property
    def economy_model(self):
        """A one-copy CPU instance of the economy (its agent types, descriptors and rules; cached)."""
        from pbt_econ.economies.registry import describe

        return describe(self.economy, self.spaces)

    @property
    def agent_types(self) -> tuple[str, ...]:
        """The economy's agent type names, in order."""
        return tuple(self.training.agents)

    @property
    def torch_dtype(self):
        import torch

        return getattr(torch, self.dtype)

    @property
    def member_curricula(self) -> tuple[Curriculum, ...]:
        return self.population.curricula or (self.curriculum,)


def get_path(config: Any, path: str) -> Any:
    """The value at dotted ``path`` of a config tree (raises ``AttributeError``)."""
    value = config
    for part in path.split("."):
        value = value[part] if isinstance(value, dict) else getattr(value, part)
    return value


def replace_path(config: Any, path: str, value: Any) -> Any:
    """A copy of the frozen tree with dotted ``path`` set to ``value`` (re-validated)."""
    head, _, rest = path.partition(".")
    if not rest:
        return dataclasses.replace(config, **{head: value})
    if isinstance(config, dict):
        return {**config, head: replace_path(config[head], rest, value)}
    names = {f.name for f in dataclasses.fields(config)}
    per_type = getattr(config, "PER_TYPE_FIELD", None)
    if head not in names and per_type:  # training.<type>.<field>
        agents = getattr(config, per_type)
        return dataclasses.replace(config, **{per_type: {**agents, head: replace_path(agents[head], rest, value)}})
    return dataclasses.replace(config, **{head: replace_path(getattr(config, head), rest, value)})
