"""The typed run configuration: one tree of frozen dataclasses (:class:`RunConfig`).

Every field is documented where it is declared and in docs/configuration.md;
``__post_init__`` checks ranges where they live, with a
:class:`~pbt_econ.validation.ConfigError` that names the field. Loading YAML
into this tree is :mod:`pbt_econ.config`'s job; import the names from there.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from pbt_econ.curriculum import AGENT_TYPES, Curriculum
from pbt_econ.economy_config import EconomyConfig
from pbt_econ.outcomes import DESCRIPTORS
from pbt_econ.spaces import SpacesConfig
from pbt_econ.validation import ConfigError, _check_number

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
        _check_number("lr", self.lr, low=0, low_open=True, high=1)
        _check_number("gamma", self.gamma, low=0, high=1)
        _check_number("reward_scale", self.reward_scale, low=0, low_open=True)
        _check_number("entropy_coef", self.entropy_coef, low=0)


@dataclass(frozen=True)
class NoPonziConfig:
    """The no-Ponzi Lagrangian penalty of docs/model.md §4 (off by default, as in the reference runs)."""

    enabled: bool = False
    multiplier_lr: float = 0.01
    """Gradient-ascent step of the multipliers per episode."""
    initial_multiplier: float = 0.0
    consumer_budget_scale: float = 1000.0
    """Money per unit of penalty for consumers."""
    firm_budget_scale: float = 100000.0
    """Money per unit of penalty for firms."""

    def __post_init__(self) -> None:
        _check_number("multiplier_lr", self.multiplier_lr, low=0)
        _check_number("initial_multiplier", self.initial_multiplier, low=0)
        _check_number("consumer_budget_scale", self.consumer_budget_scale, low=0, low_open=True)
        _check_number("firm_budget_scale", self.firm_budget_scale, low=0, low_open=True)


@dataclass(frozen=True)
class TrainingConfig:
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
    discounted returns (:mod:`pbt_econ.normalize`), so value targets stay O(1) at any economy size."""
    max_grad_norm: float = 2.0
    hidden_size: int = 128
    log_every: int = 50
    """Episodes per metrics row."""
    checkpoint_every: int = 250
    """Episodes between checkpoints of ``pbt_econ.train``."""
    consumer: AgentTrainingConfig = field(default_factory=lambda: AgentTrainingConfig(lr=1e-3, reward_scale=5.0))
    firm: AgentTrainingConfig = field(default_factory=lambda: AgentTrainingConfig(lr=1e-3, reward_scale=30000.0))
    government: AgentTrainingConfig = field(default_factory=lambda: AgentTrainingConfig(lr=5e-4, reward_scale=1000.0))
    no_ponzi: NoPonziConfig = field(default_factory=NoPonziConfig)

    def __post_init__(self) -> None:
        _check_number("episodes", self.episodes, low=0, integer=True)
        _check_number("batch_size", self.batch_size, low=1, integer=True)
        if self.algorithm not in ("ppo", "pg"):
            raise ConfigError(f"algorithm = {self.algorithm!r}: must be 'ppo' or 'pg'")
        _check_number("update_epochs", self.update_epochs, low=1, integer=True)
        _check_number("minibatches", self.minibatches, low=1, integer=True)
        _check_number("ppo_clip", self.ppo_clip, low=0, low_open=True, high=1)
        _check_number("gae_lambda", self.gae_lambda, low=0, high=1)
        _check_number("value_coef", self.value_coef, low=0)
        _check_number("max_grad_norm", self.max_grad_norm, low=0, low_open=True)
        _check_number("hidden_size", self.hidden_size, low=1, integer=True)
        _check_number("log_every", self.log_every, low=1, integer=True)
        _check_number("checkpoint_every", self.checkpoint_every, low=1, integer=True)

    def agent(self, agent_type: str) -> AgentTrainingConfig:
        return getattr(self, agent_type)


@dataclass(frozen=True)
class SearchParam:
    """One dimension of the search space (``search_space: {path: {...}}``)."""

    low: float
    high: float
    log: bool = False
    integer: bool = False

    def __post_init__(self) -> None:
        _check_number("low", self.low)
        _check_number("high", self.high)
        if self.high <= self.low:
            raise ConfigError(f"high = {self.high}: must be greater than low = {self.low}")
        if self.log and self.low <= 0:
            raise ConfigError(f"low = {self.low}: must be > 0 when log is true")

    def clip(self, value: float) -> float:
        """``value`` kept inside ``[low, high]`` (rounded when ``integer``)."""
        value = min(max(value, self.low), self.high)
        return float(round(value)) if self.integer else value


@dataclass(frozen=True)
class Objective:
    """One Optuna objective: a metrics column and its direction."""

    metric: str = "welfare"
    direction: Literal["maximize", "minimize"] = "maximize"

    def __post_init__(self) -> None:
        if self.direction not in ("maximize", "minimize"):
            raise ConfigError(f"direction = {self.direction!r}: must be 'maximize' or 'minimize'")

@dataclass(frozen=True)
class ArchiveConfig:
    """A quality-diversity (MAP-Elites) archive over two descriptors (``population.archive:``)."""

    enabled: bool = False
    """Keep the archive; members that stop improving restart from elites of sparsely visited cells."""
    x: str = "export_share"
    """First descriptor of the archive grid."""
    y: str = "income_tax"
    """Second descriptor of the archive grid."""
    x_range: tuple[float, ...] = (0.0, 1.0)
    """``[low, high]`` of ``x``; values outside fall into the edge cells."""
    y_range: tuple[float, ...] = (0.0, 1.0)
    """``[low, high]`` of ``y``."""
    bins: int = 5
    """Cells per axis (``bins`` x ``bins`` cells)."""
    probe_episodes: int = 5
    """Training episodes of each type's cheap best-response probe after every segment (0: no probe;
    the elite's quality then rests on welfare until the full best response at the end)."""
    probe_seeds: int = 2
    """Evaluation seeds (one episode each) of a probe; their spread gives the probe's standard errors."""
    min_improvement: float = 0.01
    """A member is stalled when its fitness beats its best earlier fitness by less than this fraction
    of that fitness's magnitude; stalled members restart from an elite."""
    assess_elites: bool = True
    """At the end, give every archive elite that is not a member's final outcome the full evaluation
    and best response, and report it as an outcome too (niche ``archive:<niche>``)."""

    def __post_init__(self) -> None:
        for name in ("x", "y"):
            value = getattr(self, name)
            if value not in DESCRIPTORS:
                raise ConfigError(f"{name} = {value!r}: not a descriptor; allowed: {', '.join(DESCRIPTORS)}")
        if self.x == self.y:
            raise ConfigError(f"y = {self.y!r}: must differ from x")
        for name in ("x_range", "y_range"):
            value = getattr(self, name)
            if len(value) != 2:
                raise ConfigError(f"{name} = {list(value)}: must be [low, high]")
            if not value[1] > value[0]:
                raise ConfigError(f"{name} = {list(value)}: high must exceed low")
        _check_number("bins", self.bins, low=1, integer=True)
        _check_number("probe_episodes", self.probe_episodes, low=0, integer=True)
        _check_number("probe_seeds", self.probe_seeds, low=1, integer=True)
        _check_number("min_improvement", self.min_improvement, low=0)


@dataclass(frozen=True)
class PopulationConfig:
    """The population search (``population:``)."""

    size: int = 4
    """Number of members; assigned round-robin to the curricula below."""
    curricula: tuple[Curriculum, ...] = ()
    """Curricula of the members (names, files, or ``{base: NAME, ...overrides}``);
    empty: the run's ``curriculum``."""
    episodes: int = 600
    """Episodes each member trains."""
    ready_interval: int = 100
    """Episodes per segment; PBT acts between segments."""
    quantile: float = 0.25
    """Fraction of a niche that is exploited (bottom) and copied from (top)."""
    niche_by: Literal["curriculum", "none"] = "curriculum"
    """Rank members within curriculum families (default) or across the whole population."""
    fitness: str = "welfare"
    """Metrics column PBT ranks by. Default: social welfare, the quantity the
    paper's planner maximises; it rises only when consumers work, firms produce
    and consumption happens, so it is not won by a collapsed economy."""
    fitness_rows: int = 2
    """Fitness is the mean of this many of the member's latest metrics rows."""
    explore: Literal["optuna", "perturb"] = "optuna"
    """New hyperparameters after exploit: Optuna's sampler or perturbation."""
    perturb_factors: tuple[float, ...] = (0.8, 1.25)
    resample_probability: float = 0.25
    """``perturb``: probability of drawing a value afresh from its range."""
    objectives: tuple[Objective, ...] = (Objective(),)
    """Optuna objectives (two or more make a multi-objective study)."""
    sampler: Literal["tpe", "random", "nsga2"] = "tpe"
    storage: str | None = None
    """SQLAlchemy URL or ``journal:PATH``; ``null``: SQLite file ``optuna.db`` in the run directory."""
    cpus_per_member: float = 1.0
    gpus_per_member: float = 0.0
    num_cpus: int | None = None
    """CPUs of a locally started Ray; ``null``: all cores."""
    max_actor_restarts: int = 3
    archive: ArchiveConfig = field(default_factory=ArchiveConfig)
    """Quality-diversity search (off by default): see :class:`ArchiveConfig` and docs/configuration.md."""

    def __post_init__(self) -> None:
        _check_number("size", self.size, low=1, integer=True)
        _check_number("episodes", self.episodes, low=1, integer=True)
        _check_number("ready_interval", self.ready_interval, low=1, integer=True)
        _check_number("quantile", self.quantile, low=0, high=0.5)
        _check_number("fitness_rows", self.fitness_rows, low=1, integer=True)
        for i, f in enumerate(self.perturb_factors):
            _check_number(f"perturb_factors[{i}]", f, low=0, low_open=True)
        _check_number("resample_probability", self.resample_probability, low=0, high=1)
        if not self.objectives:
            raise ConfigError("objectives: must list at least one objective")
        _check_number("cpus_per_member", self.cpus_per_member, low=0)
        _check_number("gpus_per_member", self.gpus_per_member, low=0)
        if self.num_cpus is not None:
            _check_number("num_cpus", self.num_cpus, low=1, integer=True)
        _check_number("max_actor_restarts", self.max_actor_restarts, low=0, integer=True)


@dataclass(frozen=True)
class BestResponseConfig:
    """Best-response check of every outcome (``best_response:``, docs/model.md §6)."""

    episodes: int = 200
    """Training episodes of the deviating type."""
    eval_episodes: int = 8
    """Evaluation episodes (of ``batch_size`` economies each) before and after."""
    eval_seed: int = 1_000_003
    """Seed of evaluation rollouts; never used for training."""
    types: tuple[str, ...] = AGENT_TYPES
    from_scratch: bool = False
    """Also best-respond from a freshly initialised policy."""
    tolerance: dict[str, float] = field(default_factory=lambda: {"consumer": 0.03, "firm": 0.10, "government": 0.01})
    """Largest allowed gain per type, relative to the improvement during training."""

    def __post_init__(self) -> None:
        _check_number("episodes", self.episodes, low=1, integer=True)
        _check_number("eval_episodes", self.eval_episodes, low=1, integer=True)
        _check_number("eval_seed", self.eval_seed, low=0, integer=True)
        for t in self.types:
            if t not in AGENT_TYPES:
                raise ConfigError(f"types: {t!r} is not one of {', '.join(AGENT_TYPES)}")
        for t, v in self.tolerance.items():
            if t not in AGENT_TYPES:
                raise ConfigError(f"tolerance.{t}: unknown type; allowed: {', '.join(AGENT_TYPES)}")
            _check_number(f"tolerance.{t}", v, low=0)


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
        _check_number("eval_seeds", self.eval_seeds, low=1, integer=True)
        _check_number("alpha", self.alpha, low=0, low_open=True, high=1, high_open=True)
        _check_number("min_relative_difference", self.min_relative_difference, low=0)
        _check_number("bootstrap", self.bootstrap, low=0, integer=True)
        _check_number("distance_threshold", self.distance_threshold, low=0, low_open=True)
        _check_number("relative_resolution", self.relative_resolution, low=0)
        _check_number("min_cluster_size", self.min_cluster_size, low=2, integer=True)


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
    economy: EconomyConfig = field(default_factory=EconomyConfig)
    spaces: SpacesConfig = field(default_factory=SpacesConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    curriculum: Curriculum = field(default_factory=Curriculum)
    population: PopulationConfig = field(default_factory=PopulationConfig)
    search_space: dict[str, SearchParam] = field(default_factory=dict)
    """Dotted config paths (``training.consumer.lr``, ``curriculum.time_scale``) to ranges."""
    best_response: BestResponseConfig = field(default_factory=BestResponseConfig)
    analysis: AnalysisConfig = field(default_factory=AnalysisConfig)
    fixed: dict[str, dict[str, float]] = field(default_factory=dict)
    """Agent types that always play one given action and never learn (:mod:`pbt_econ.fixed`)."""

    def __post_init__(self) -> None:
        if (not isinstance(self.name, str) or not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.+-]*", self.name)
                or ".." in self.name):
            raise ConfigError(f"name = {self.name!r}: must be a plain file name (letters, digits, '_', '-', '+', '.'; "
                              "no '/', no leading '.', no '..'): it names the run's folder under runs/")
        _check_number("seed", self.seed, low=0, high=2**63 - 1, integer=True)
        if not isinstance(self.device, str) or not re.fullmatch(r"cpu|cuda(:\d+)?", self.device):
            raise ConfigError(f"device = {self.device!r}: must be 'cpu', 'cuda' or 'cuda:N' (N a GPU index)")
        if self.dtype not in ("float32", "float64"):
            raise ConfigError(f"dtype = {self.dtype!r}: must be 'float32' or 'float64'")
        _check_number("threads", self.threads, low=0, integer=True)
        from pbt_econ.fixed import fixed_indices

        fixed_indices(self.fixed, self.spaces, self.economy.num_firms)  # raises naming fixed.<type>.<action>
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
        from pbt_econ.fixed import fixed_indices

        return fixed_indices(self.fixed, self.spaces, self.economy.num_firms)

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
    return dataclasses.replace(config, **{head: replace_path(getattr(config, head), rest, value)})
