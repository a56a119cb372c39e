"""The typed run configuration and its YAML loader.

One tree of frozen dataclasses (:class:`RunConfig`) holds everything a run
needs: the economy, the action grids, training, the curriculum, the
population, the search space, best response and analysis. YAML files hold
values only; :func:`load_config` reads them with ``yaml.safe_load`` and
validates them into the tree. Unknown keys, wrong types and out-of-range
values stop here with a :class:`~pbt_econ.economy.ConfigError` that names the
file and the field (``configs/x.yaml: training.consumer.lr = -1: must be in
(0, inf]``), before anything starts.

The loader is a small generic walker over dataclass type hints rather than a
schema library: the dataclasses are the single source of truth for names,
types and defaults, and ``__post_init__`` checks ranges where they live.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from pbt_econ.curriculum import AGENT_TYPES, Curriculum
from pbt_econ.economy import ConfigError, EconomyConfig, _check_number
from pbt_econ.spaces import SpacesConfig

__all__ = [
    "AgentTrainingConfig",
    "AnalysisConfig",
    "BestResponseConfig",
    "CONFIG_DIR",
    "DEFAULT_CONFIG",
    "NoPonziConfig",
    "Objective",
    "PopulationConfig",
    "RunConfig",
    "SearchParam",
    "TrainingConfig",
    "apply_overrides",
    "config_from_dict",
    "config_to_dict",
    "dump_config",
    "get_path",
    "load_config",
    "load_curriculum",
    "replace_path",
]

CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs"
"""The repository's ``configs/`` folder (the project installs in editable mode)."""
DEFAULT_CONFIG = CONFIG_DIR / "default.yaml"


@dataclass(frozen=True)
class AgentTrainingConfig:
    """Learning settings of one agent type (``training.consumer`` etc.)."""

    lr: float = 1e-3
    """Adam learning rate."""
    gamma: float = 0.9999
    """Discount factor per step."""
    reward_scale: float = 1.0
    """Rewards are divided by this before learning (spec section 5)."""
    entropy_coef: float = 0.5
    """Base entropy-bonus coefficient, multiplied by the curriculum's factor."""

    def __post_init__(self) -> None:
        _check_number("lr", self.lr, low=0, low_open=True, high=1)
        _check_number("gamma", self.gamma, low=0, high=1)
        _check_number("reward_scale", self.reward_scale, low=0, low_open=True)
        _check_number("entropy_coef", self.entropy_coef, low=0)


@dataclass(frozen=True)
class NoPonziConfig:
    """The no-Ponzi Lagrangian penalty of spec section 4 (off by default, as in the reference runs)."""

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
    """Best-response check of every outcome (``best_response:``, spec section 6)."""

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

    method: Literal["agglomerative", "hdbscan"] = "agglomerative"
    distance_threshold: float = 0.5
    """Agglomerative (average linkage): clusters merge while the mean distance between their
    members is below this, per descriptor (RMS over descriptors, standardised units)."""
    relative_resolution: float = 0.1
    """Descriptors are scaled by ``max(std, relative_resolution * |mean|)``: smaller relative
    differences never make distinct equilibria."""
    min_cluster_size: int = 2
    """HDBSCAN's minimum cluster size."""

    def __post_init__(self) -> None:
        if self.method not in ("agglomerative", "hdbscan"):
            raise ConfigError(f"method = {self.method!r}: must be 'agglomerative' or 'hdbscan'")
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

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name or "/" in self.name:
            raise ConfigError(f"name = {self.name!r}: must be a non-empty string without '/'")
        _check_number("seed", self.seed, low=0, integer=True)
        if not (self.device == "cpu" or self.device == "cuda" or self.device.startswith("cuda:")):
            raise ConfigError(f"device = {self.device!r}: must be 'cpu', 'cuda' or 'cuda:N'")
        if self.dtype not in ("float32", "float64"):
            raise ConfigError(f"dtype = {self.dtype!r}: must be 'float32' or 'float64'")
        _check_number("threads", self.threads, low=0, integer=True)
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
    def torch_dtype(self):
        import torch

        return getattr(torch, self.dtype)

    @property
    def member_curricula(self) -> tuple[Curriculum, ...]:
        return self.population.curricula or (self.curriculum,)


# ------------------------------------------------------------------ loading
def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", str(tp))


def _convert(tp: Any, value: Any, where: str) -> Any:
    """Convert one YAML value to the annotated type, or raise naming ``where``."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is Curriculum:
        return load_curriculum(value, where)
    if origin in (typing.Union, types.UnionType):
        if value is None:
            if type(None) in args:
                return None
            raise ConfigError(f"{where} = null: a value is required")
        errors = []
        for option in args:
            if option is type(None):
                continue
            try:
                return _convert(option, value, where)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(errors[0] if len(errors) == 1 else f"{where} = {value!r}: must be one of "
                          + ", ".join(_type_name(a) for a in args))
    if origin is Literal:
        if value not in args:
            raise ConfigError(f"{where} = {value!r}: must be one of {', '.join(map(repr, args))}")
        return value
    if dataclasses.is_dataclass(tp):
        return _build(tp, value, where)
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where} = {value!r}: must be a list")
        item = args[0]
        return tuple(_convert(item, v, f"{where}[{i}]") for i, v in enumerate(value))
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where} = {value!r}: must be a mapping")
        return {str(k): _convert(args[1], v, f"{where}.{k}") for k, v in value.items()}
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where} = {value!r}: must be true or false")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where} = {value!r}: must be an integer")
        return value
    if tp is float:
        if isinstance(value, str):  # YAML reads 1e-3 (no dot) as a string
            try:
                value = float(value)
            except ValueError:
                pass
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where} = {value!r}: must be a number")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where} = {value!r}: must be a string")
        return value
    return value


def _build(cls: type, data: Any, where: str):
    """Build dataclass ``cls`` from a mapping; unknown keys are errors."""
    if not isinstance(data, dict):
        raise ConfigError(f"{where or 'config'} = {data!r}: must be a mapping")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls) if f.init]
    prefix = f"{where}." if where else ""
    for key in data:
        if key not in names:
            close = difflib.get_close_matches(str(key), names, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise ConfigError(f"{prefix}{key}: unknown field{hint}; allowed: {', '.join(names)}")
    kwargs = {key: _convert(hints[key], value, f"{prefix}{key}") for key, value in data.items()}
    try:
        return cls(**kwargs)
    except ConfigError as exc:
        raise ConfigError(f"{prefix}{exc}") from None
    except TypeError as exc:  # a required field is missing
        raise ConfigError(f"{where or 'config'}: {exc}") from None


def _read_yaml(path: Path) -> Any:
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror})") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None


def _deep_merge(base: dict, overrides: dict) -> dict:
    merged = copy.deepcopy(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _curriculum_file(name: str, where: str) -> Path:
    path = Path(name)
    if path.suffix in (".yaml", ".yml"):
        if not path.exists():
            raise ConfigError(f"{where} = {name!r}: file not found")
        return path
    path = CONFIG_DIR / "curricula" / f"{name}.yaml"
    if not path.exists():
        known = sorted(p.stem for p in (CONFIG_DIR / "curricula").glob("*.yaml"))
        raise ConfigError(f"{where} = {name!r}: unknown curriculum; built in: {', '.join(known)}, or a path to a .yaml file")
    return path


def load_curriculum(value: Any, where: str = "curriculum") -> Curriculum:
    """A curriculum from a built-in name, a YAML path, or a mapping.

    A mapping may name ``base`` (a built-in name or path) and override any of
    its fields: ``{base: paper, time_scale: 0.005}``.
    """
    if isinstance(value, Curriculum):
        return value
    if isinstance(value, str):
        path = _curriculum_file(value, where)
        data = _read_yaml(path)
        try:
            return _build(Curriculum, data, "")
        except ConfigError as exc:
            raise ConfigError(f"{path}: {exc}") from None
    if isinstance(value, dict):
        data = dict(value)
        base = data.pop("base", None)
        if base is not None:
            if not isinstance(base, str):
                raise ConfigError(f"{where}.base = {base!r}: must be a curriculum name or path")
            data = _deep_merge(_read_yaml(_curriculum_file(base, f"{where}.base")), data)
        return _build(Curriculum, data, where)
    raise ConfigError(f"{where} = {value!r}: must be a curriculum name, a .yaml path or a mapping")


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


def apply_overrides(data: dict, overrides: list[str]) -> dict:
    """Apply ``--set a.b.c=value`` overrides (values parsed as YAML) to raw config data."""
    data = copy.deepcopy(data)
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"--set {item!r}: must look like section.field=value")
        try:
            value = yaml.safe_load(raw)
        except yaml.YAMLError as exc:
            raise ConfigError(f"--set {item!r}: value is not valid YAML: {exc}") from None
        node = data
        parts = key.split(".")
        for part in parts[:-1]:
            child = node.get(part)
            if child is None or isinstance(child, str):
                child = {"base": child} if isinstance(child, str) else {}
                node[part] = child
            node = child
        node[parts[-1]] = value
    return data


def _resolve_base(data: dict, path: Path, seen: tuple[Path, ...]) -> dict:
    """Merge a run config over the file named by its ``base:`` key (relative to ``path``)."""
    if "base" not in data:
        return data
    data = dict(data)
    base = data.pop("base")
    if not isinstance(base, str):
        raise ConfigError(f"{path}: base = {base!r}: must be the path of another config file")
    base_path = (path.parent / base).resolve()
    if base_path in seen:
        raise ConfigError(f"{path}: base = {base!r}: configs extend each other in a cycle")
    base_data = _read_yaml(base_path)
    if not isinstance(base_data, dict):
        raise ConfigError(f"{base_path}: must hold a mapping of sections")
    return _deep_merge(_resolve_base(base_data, base_path, seen + (base_path,)), data)


def load_config(path: str | Path | None = None, overrides: list[str] | None = None) -> RunConfig:
    """Read and validate a run config (default: ``configs/default.yaml``)."""
    path = Path(path) if path is not None else DEFAULT_CONFIG
    data = _read_yaml(path)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: must hold a mapping of sections, not {type(data).__name__}")
    data = _resolve_base(data, path, seen=(path.resolve(),))
    try:
        data = apply_overrides(data, overrides or [])
        return _build(RunConfig, data, "")
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None


def config_from_dict(data: dict) -> RunConfig:
    """Validate a raw mapping (e.g. a resolved ``config.yaml``) into a :class:`RunConfig`."""
    return _build(RunConfig, data, "")


def config_to_dict(config: Any) -> Any:
    """The plain-data form of a config tree (YAML-ready; round-trips through :func:`config_from_dict`)."""
    if dataclasses.is_dataclass(config):
        return {f.name: config_to_dict(getattr(config, f.name)) for f in dataclasses.fields(config)}
    if isinstance(config, (list, tuple)):
        return [config_to_dict(v) for v in config]
    if isinstance(config, dict):
        return {k: config_to_dict(v) for k, v in config.items()}
    return config


def dump_config(config: RunConfig) -> str:
    return yaml.safe_dump(config_to_dict(config), sort_keys=False)
