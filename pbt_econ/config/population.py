"""The population search's part of the run configuration (``population:``, ``search_space:``).

Declared beside :mod:`pbt_econ.config.schema`; import the names from :mod:`pbt_econ.config.load`.
Fields the economy decides (descriptor names, the fitness metric) default to ``null`` and are
resolved against the economy when the :class:`~pbt_econ.config.schema.RunConfig` is built.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from pbt_econ.config.curriculum import Curriculum
from pbt_econ.core.errors import ConfigError, check_number

__all__ = ["ArchiveConfig", "Objective", "PopulationConfig", "RefineConfig", "SearchParam", "SolveConfig"]


@dataclass(frozen=True)
class SearchParam:
    """One dimension of the search space (``search_space: {path: {...}}``)."""

    low: float
    high: float
    log: bool = False
    integer: bool = False

    def __post_init__(self) -> None:
        check_number("low", self.low)
        check_number("high", self.high)
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

    metric: str | None = None
    """Metrics column; ``null``: the economy's welfare descriptor."""
    direction: Literal["maximize", "minimize"] = "maximize"

    def __post_init__(self) -> None:
        if self.direction not in ("maximize", "minimize"):
            raise ConfigError(f"direction = {self.direction!r}: must be 'maximize' or 'minimize'")

@dataclass(frozen=True)
class ArchiveConfig:
    """A quality-diversity (MAP-Elites) archive over two descriptors (``population.archive:``)."""

    enabled: bool = False
    """Keep the archive; members that stop improving restart from elites of sparsely visited cells."""
    x: str | None = None
    """First descriptor of the archive grid (``null``: the economy's first archive axis; the RBC:
    ``export_share``)."""
    y: str | None = None
    """Second descriptor of the archive grid (``null``: the economy's second axis; the RBC: ``income_tax``)."""
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
        if self.x is not None and self.x == self.y:
            raise ConfigError(f"y = {self.y!r}: must differ from x")
        for name in ("x_range", "y_range"):
            value = getattr(self, name)
            if len(value) != 2:
                raise ConfigError(f"{name} = {list(value)}: must be [low, high]")
            if not value[1] > value[0]:
                raise ConfigError(f"{name} = {list(value)}: high must exceed low")
        check_number("bins", self.bins, low=1, integer=True)
        check_number("probe_episodes", self.probe_episodes, low=0, integer=True)
        check_number("probe_seeds", self.probe_seeds, low=1, integer=True)
        check_number("min_improvement", self.min_improvement, low=0)


@dataclass(frozen=True)
class RefineConfig:
    """Refinement by iterated best response after the search (``population.refine:``, :mod:`pbt_econ.equilibrium.refine`)."""

    rounds: int = 0
    """Rounds of adopting a violated outcome's best type-level deviation and checking again; 0: off."""
    episodes: int | None = None
    """Training episodes of each adopted deviation; ``null``: ``best_response.episodes``."""

    def __post_init__(self) -> None:
        check_number("rounds", self.rounds, low=0, integer=True)
        if self.episodes is not None:
            check_number("episodes", self.episodes, low=1, integer=True)


@dataclass(frozen=True)
class SolveConfig:
    """The deviation-aware solver after the search (``population.solve:``, :mod:`pbt_econ.equilibrium.solver`)."""

    enabled: bool = False
    """Run the solver on every final member whose check is not verified (outcome ``<member>~s``)."""
    rounds: int = 3
    """Rounds of check -> pool the profitable deviations -> train against the pool."""
    episodes: int | None = None
    """Training episodes per round; ``null``: ``best_response.episodes``."""
    share: float = 0.2
    """Share of each batch's economy copies in which one pooled deviation is played. The others learn
    to respond to the deviators there, which pulls their policy off the equilibrium path in proportion to
    the share (docs/benchmarks.md: 0.2 against 0.5 on Cournot)."""
    meta_solver: str = "regret"
    """How a pooled deviation is chosen: ``regret`` (regret matching on each entry's cumulative regret, its
    gains summed over the rounds since it joined) or ``uniform``."""

    entropy_factor: float = 1.0
    """Multiplier on every learning type's entropy bonus while it trains against the pool (the member's
    annealed bonus times this). 1 keeps the member's own; 0 lets each type sharpen onto its best action,
    which a stochastic shared policy spread by its bonus does not reach."""

    def __post_init__(self) -> None:
        if not isinstance(self.enabled, bool):
            raise ConfigError(f"enabled = {self.enabled!r}: must be true or false")
        check_number("rounds", self.rounds, low=0, integer=True)
        check_number("entropy_factor", self.entropy_factor, low=0)
        if self.episodes is not None:
            check_number("episodes", self.episodes, low=1, integer=True)
        check_number("share", self.share, low=0, high=1, low_open=True)
        if self.meta_solver not in ("regret", "uniform"):
            raise ConfigError(f"meta_solver = {self.meta_solver!r}: must be 'regret' or 'uniform'")


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
    fitness: str | None = None
    """Metrics column PBT ranks by; ``null``: the economy's welfare descriptor (the RBC: ``welfare``,
    social welfare, the quantity the paper's planner maximises; it is not won by a collapsed economy)."""
    fitness_rows: int = 2
    """Fitness is the mean of this many of the member's latest metrics rows."""
    rank_by: Literal["fitness", "equilibrium"] = "fitness"
    """How PBT ranks members within a niche: ``fitness`` alone, or ``equilibrium``: first by a cheap
    exploitability score measured after every segment (the exact certificates at a small budget,
    :mod:`pbt_econ.equilibrium.score`; members within every tolerance tie), then by fitness. The score is
    written to ``metrics.parquet`` (``exploitability``) and can be an Optuna objective."""
    score_episodes: int = 1
    """``rank_by: equilibrium``: evaluation episodes per candidate constant action of the score."""
    score_unilateral_agents: int = 1
    """``rank_by: equilibrium``: single agents per type whose constant deviations enter the score."""
    score_scope: Literal["both", "nash", "meta"] = "both"
    """``rank_by: equilibrium``: the deviations the score reads: single-agent and type-level (``both``),
    single-agent only (``nash``) or type-level only (``meta``, the paper's sense)."""
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
    refine: RefineConfig = field(default_factory=RefineConfig)
    """Refinement of violated outcomes after the search (off by default): see :class:`RefineConfig`."""
    solve: SolveConfig = field(default_factory=SolveConfig)
    """The deviation-aware solver after the search (off by default): see :class:`SolveConfig`."""

    def __post_init__(self) -> None:
        check_number("size", self.size, low=1, integer=True)
        check_number("episodes", self.episodes, low=1, integer=True)
        check_number("ready_interval", self.ready_interval, low=1, integer=True)
        check_number("quantile", self.quantile, low=0, high=0.5)
        check_number("fitness_rows", self.fitness_rows, low=1, integer=True)
        if self.rank_by not in ("fitness", "equilibrium"):
            raise ConfigError(f"rank_by = {self.rank_by!r}: must be 'fitness' or 'equilibrium'")
        check_number("score_episodes", self.score_episodes, low=1, integer=True)
        if self.score_scope not in ("both", "nash", "meta"):
            raise ConfigError(f"score_scope = {self.score_scope!r}: must be 'both', 'nash' or 'meta'")
        check_number("score_unilateral_agents", self.score_unilateral_agents, low=0, integer=True)
        for i, f in enumerate(self.perturb_factors):
            check_number(f"perturb_factors[{i}]", f, low=0, low_open=True)
        check_number("resample_probability", self.resample_probability, low=0, high=1)
        if not self.objectives:
            raise ConfigError("objectives: must list at least one objective")
        check_number("cpus_per_member", self.cpus_per_member, low=0)
        check_number("gpus_per_member", self.gpus_per_member, low=0)
        if self.num_cpus is not None:
            check_number("num_cpus", self.num_cpus, low=1, integer=True)
        check_number("max_actor_restarts", self.max_actor_restarts, low=0, integer=True)
