"""The Optuna study of a population search, driven by ask/tell from the driver only.

Every segment of every member is one trial: its parameters are the member's
searched values during that segment, its value(s) the segment's objective
metrics, its user attributes ``member``, ``segment``, ``niche`` and
``episode``. Initial members and sampler-driven explores are drawn by the
sampler (``study.ask``), conditioned on every segment told so far; members
that keep their values get a trial with those values fixed
(``enqueue_trial`` + ``ask``). Curriculum parameters are fixed after a
member starts (``enqueue_trial`` with partial parameters), so explore only
changes ``training.*`` values.

Because only the driver talks to the study, a SQLite file in the run
directory is a safe default; any SQLAlchemy URL (PostgreSQL) or
``journal:PATH`` (a journal file, for network file systems) also works.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import optuna

from pbt_econ.config.load import PopulationConfig, SearchParam

__all__ = ["SegmentTrials", "distributions", "open_study", "storage_for"]


def distributions(space: dict[str, SearchParam]) -> dict[str, optuna.distributions.BaseDistribution]:
    """Optuna distributions of the search space, keyed by dotted config path."""
    out = {}
    for path, p in space.items():
        if p.integer:
            out[path] = optuna.distributions.IntDistribution(int(p.low), int(p.high), log=p.log)
        else:
            out[path] = optuna.distributions.FloatDistribution(p.low, p.high, log=p.log)
    return out


def storage_for(population: PopulationConfig, run_dir: Path):
    """The configured storage: a URL, ``journal:PATH``, or ``sqlite:///RUN_DIR/optuna.db``."""
    url = population.storage
    if url is None:
        return f"sqlite:///{(run_dir / 'optuna.db').resolve()}"
    if url.startswith("journal:"):
        from optuna.storages import JournalStorage
        from optuna.storages.journal import JournalFileBackend

        return JournalStorage(JournalFileBackend(url.removeprefix("journal:")))
    return url


def make_sampler(population: PopulationConfig, seed: int) -> optuna.samplers.BaseSampler:
    if population.sampler == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if population.sampler == "nsga2":
        return optuna.samplers.NSGAIISampler(seed=seed)
    return optuna.samplers.TPESampler(seed=seed, n_startup_trials=4)


def open_study(name: str, population: PopulationConfig, run_dir: Path, seed: int) -> optuna.Study:
    """Create or load the run's study (``load_if_exists``: resuming reopens the same one)."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    directions = [o.direction for o in population.objectives]
    return optuna.create_study(
        study_name=name,
        storage=storage_for(population, run_dir),
        sampler=make_sampler(population, seed),
        directions=directions,
        load_if_exists=True,
    )


class SegmentTrials:
    """One Optuna trial per (member, segment), found again after an interruption."""

    def __init__(self, study: optuna.Study, space: dict[str, SearchParam],
                 sampler_for: Callable[[str, int], optuna.samplers.BaseSampler] | None = None) -> None:
        self.study = study
        self.space = space
        self.dists = distributions(space)
        self.sampler_for = sampler_for
        """(member, segment) -> a freshly seeded sampler. Optuna's samplers rebuild their model from the
        stored trials at every ask; only their random state carries over, so seeding one per trial makes a
        resumed driver draw exactly what an uninterrupted one would have."""
        self._opened: dict[tuple[str, int], tuple[int, dict[str, float]]] = {}
        self._finished: set[int] = set()
        for trial in study.get_trials(deepcopy=False):  # once, not at every call (a run has many segments)
            attrs = trial.user_attrs
            if "member" in attrs and "segment" in attrs:
                self._opened.setdefault((attrs["member"], attrs["segment"]), (trial.number, dict(trial.params)))
            if trial.state.is_finished():
                self._finished.add(trial.number)

    def open(self, member: str, segment: int, niche: str, episode: int,
             fixed: dict[str, float]) -> tuple[int, dict[str, float]]:
        """The trial of ``member``'s ``segment``: ``(number, params)``.

        Parameters in ``fixed`` are kept; the sampler draws the others. A
        trial already opened for this (member, segment) - by a driver that was
        interrupted - is reused instead of creating a duplicate.
        """
        existing = self._opened.get((member, segment))
        if existing is not None:
            return existing[0], dict(existing[1])
        if fixed:
            self.study.enqueue_trial({k: v for k, v in fixed.items() if k in self.dists})
        if self.sampler_for is not None:
            self.study.sampler = self.sampler_for(member, segment)
        trial = self.study.ask(self.dists)
        for key, value in (("member", member), ("segment", segment), ("niche", niche), ("episode", episode)):
            trial.set_user_attr(key, value)
        self._opened[(member, segment)] = (trial.number, dict(trial.params))
        return trial.number, dict(trial.params)

    def tell(self, number: int, values: list[float]) -> None:
        """Record a segment's objective values; a trial told before (resume) is left as it is."""
        if number in self._finished:
            return
        self._finished.add(number)
        if any(not math.isfinite(v) for v in values):
            self.study.tell(number, state=optuna.trial.TrialState.FAIL)
        else:
            self.study.tell(number, values if len(values) > 1 else values[0])
