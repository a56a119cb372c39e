"""The population driver: Ray member actors, PBT between segments, Optuna, resume.

:func:`run_search` is called by ``python -m pbt_econ.search``. It owns every
decision; member actors (:mod:`populations.actor`) only train, checkpoint,
load and report. Data flow per segment ``k``:

1. every member trains ``ready_interval`` episodes on its actor (in parallel);
   an actor that dies is recreated from ``members/<id>/seg_<k>.pt`` and its
   segment re-run (CPU training is deterministic, so nothing changes);
2. each member's segment result is told to its Optuna trial, metrics rows are
   appended to ``metrics.parquet``;
3. PBT (:func:`populations.pbt.plan_exploits`, within niches): children copy a
   parent's learning state through Ray's object store, then explore (Optuna's
   sampler or perturbation); lineage rows go to ``lineage.parquet``;
4. each member opens its trial for ``k + 1``, saves ``seg_<k+1>.pt``, and only
   then ``driver.json`` records ``segment = k + 1``.

An interrupted driver resumes from ``driver.json``: segment ``k`` is re-run
from its checkpoints, rows past its start are dropped before new ones are
added, and trials already opened or told for a (member, segment) are reused
(:class:`populations.study.SegmentTrials`), so nothing is lost or duplicated.
After the last segment come the final stages (:mod:`populations.stages`): every
member is evaluated and best-responded on its actor (``outcomes.parquet`` /
``best_response.parquet``), then refinement, the solver and the archive elites.
"""

from __future__ import annotations

import dataclasses
import json
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pbt_econ.config.curriculum import Curriculum
from pbt_econ.config.load import RunConfig, config_to_dict, load_curriculum, replace_path
from pbt_econ.core.files import atomic_write_text
from pbt_econ.core.rundir import RunDir
from pbt_econ.core.seeds import member_seed, trial_seed
from pbt_econ.core.tables import read_table, unflatten, write_table
from pbt_econ.equilibrium.outcomes import OutcomeRow, outcome_groups
from populations.archive import Restart
from populations.members import MemberRecord, Population, SearchError, start_ray
from populations.pbt import plan_step
from populations.quality_diversity import QualitySearch
from populations.stages import LineageRow, assess_elites, final_stages
from populations.study import SegmentTrials, make_sampler, open_study

__all__ = ["LineageRow", "SearchError", "SearchResult", "run_search"]

_assess_elites = assess_elites  # the name the Ray tests call


@dataclass(frozen=True)
class SearchResult:
    run_dir: Path
    outcomes: list[OutcomeRow]
    segments: int
    wall_time_s: float
    segment_times: tuple[tuple[float, float], ...] = ()
    """Per segment run here: (seconds training, seconds of driver work after it: Optuna, PBT, checkpoints, tables)."""


@dataclass
class _Run:
    """The driver's state between segments; :meth:`save` writes it to ``driver.json``."""

    config: RunConfig
    layout: RunDir
    records: list[MemberRecord]
    segment: int
    """The next segment to train (``n_segments`` once every segment is done)."""
    n_segments: int
    start_episode: int
    """The episode this driver started (or resumed) at."""
    qd: QualitySearch | None
    trials: SegmentTrials
    metrics: list[dict[str, Any]]
    lineage: list[dict[str, Any]]
    show_progress: bool
    segment_times: list[tuple[float, float]] = field(default_factory=list)

    @property
    def last(self) -> bool:
        """Is the current segment the last one?"""
        return self.segment == self.n_segments - 1

    @property
    def episodes(self) -> int:
        """Episodes of the current segment (the last one may be shorter)."""
        pop = self.config.population
        return min(pop.ready_interval, pop.episodes - self.segment * pop.ready_interval)

    def search_paths(self, prefix: str) -> list[str]:
        return sorted(p for p in self.config.search_space if p.startswith(prefix))

    def save(self, finished: bool = False) -> None:
        state = {"segment": self.segment, "finished": finished,
                 "members": [dataclasses.asdict(r) for r in self.records]}
        if self.qd is not None:
            state["quality_diversity"] = self.qd.state()
        atomic_write_text(self.layout.driver_state, json.dumps(state, indent=1, sort_keys=True))


def _fitness(rows: list[dict[str, Any]], metric: str, last: int) -> float:
    values = [r[metric] for r in rows[-last:] if r.get(metric) is not None]
    if not values:
        raise SearchError(f"population.fitness / objectives: metric {metric!r} is not a metrics column")
    return float(sum(values) / len(values))


def run_search(
    config: RunConfig,
    run_dir: Path,
    resume: bool = False,
    address: str | None = None,
    show_progress: bool = True,
    on_segment: Callable[[int, dict[str, Any]], None] | None = None,
) -> SearchResult:
    """Run (or resume) a population search into ``run_dir``.

    ``on_segment(segment, actors)`` is called after each segment's results are
    recorded (tests use it to kill an actor or interrupt the driver).
    """
    started = time.perf_counter()
    run_dir.mkdir(parents=True, exist_ok=True)
    layout = RunDir(run_dir)
    n_segments = math.ceil(config.population.episodes / config.population.ready_interval)
    saved = json.loads(layout.driver_state.read_text()) if resume and layout.driver_state.exists() else {}
    if saved.get("finished") and layout.outcomes.exists():
        return SearchResult(run_dir, _saved_outcomes(config, layout), n_segments, time.perf_counter() - started)
    run, curricula = _set_up(config, layout, saved, n_segments, show_progress)
    started_ray = start_ray(config, address)
    population = Population(config, run_dir, run.records, show_progress)
    try:
        _open_trials(run, curricula)
        _spawn_actors(run, population)
        while run.segment < run.n_segments:
            train_started = time.perf_counter()
            results = _train_segment(run, population)
            scores = _score_segment(run, population)
            driver_started = time.perf_counter()
            fitness = _record_segment(run, population, results, scores)
            if not run.last:
                _exploit_and_explore(run, population, fitness, scores)
            _checkpoint_segment(run, population)
            run.segment_times.append((driver_started - train_started, time.perf_counter() - driver_started))
            if on_segment is not None:
                on_segment(run.segment - 1, population.actors)
        outcomes = _final_stages(run, population)
    finally:
        population.close_bars()
        population.shutdown()
        if started_ray:
            population.ray.shutdown()
    return SearchResult(run_dir, outcomes, n_segments, time.perf_counter() - started, tuple(run.segment_times))


# ------------------------------------------------------------ resume and set-up
def _saved_outcomes(config: RunConfig, layout: RunDir) -> list[OutcomeRow]:
    """The outcomes of a finished run (resuming it does nothing more)."""
    groups = outcome_groups((d.name for d in config.economy_model.descriptors), config.agent_types)
    return [unflatten(OutcomeRow, r, groups) for r in read_table(layout.outcomes, "outcomes").to_pylist()]


def _set_up(config: RunConfig, layout: RunDir, saved: dict[str, Any], n_segments: int,
            show_progress: bool) -> tuple[_Run, dict[str, Curriculum]]:
    """The run's state: resumed from ``saved`` (``driver.json``) or a fresh population.

    Also returns each fresh member's :class:`Curriculum` (empty on resume), so that
    :func:`_open_trials` applies searched curriculum values without reloading it.
    """
    pop = config.population
    curricula: dict[str, Curriculum] = {}
    if saved:
        records = [MemberRecord(**r) for r in saved["members"]]
        segment = int(saved["segment"])
    else:
        records = []
        for i in range(pop.size):
            curriculum = config.member_curricula[i % len(config.member_curricula)]
            records.append(MemberRecord(member_id=f"m{i:03d}", niche=curriculum.niche,
                                        curriculum=config_to_dict(curriculum), seed=member_seed(config.seed, i)))
            curricula[records[-1].member_id] = curriculum
        segment = 0

    qd = QualitySearch(config, layout.root, saved.get("quality_diversity")) if pop.archive.enabled else None
    if qd is not None:
        qd.load_probes(segment)
    start_episode = min(segment * pop.ready_interval, pop.episodes)
    metrics = [r for r in read_table(layout.metrics, "metrics").to_pylist()
               if r["episode"] <= start_episode] if layout.metrics.exists() else []
    lineage = [r for r in read_table(layout.lineage, "lineage").to_pylist()
               if r["segment"] < segment] if layout.lineage.exists() else []
    study = open_study(config.name, pop, layout.root, config.seed)
    trials = SegmentTrials(study, config.search_space,
                           sampler_for=lambda member, segment: make_sampler(pop, trial_seed(config.seed, member, segment)))
    run = _Run(config, layout, records, segment, n_segments, start_episode, qd, trials, metrics, lineage,
               show_progress)
    return run, curricula


def _open_trials(run: _Run, curricula: dict[str, Curriculum]) -> None:
    """Open the current segment's trial of every member that has none (fresh start or resume).

    At segment 0 the searched curriculum values are applied to the member's curriculum.
    """
    curriculum_paths = run.search_paths("curriculum.")
    for r in run.records:
        if r.trial is None:
            fixed = r.hyperparameters or {}
            r.trial, params = run.trials.open(r.member_id, run.segment, r.niche, run.start_episode, fixed)
            r.hyperparameters = {**params, **fixed}
            if run.segment == 0 and curriculum_paths:
                curriculum = curricula.get(r.member_id) or load_curriculum(r.curriculum)
                for path in curriculum_paths:
                    curriculum = replace_path(curriculum, path.removeprefix("curriculum."), r.hyperparameters[path])
                r.curriculum = config_to_dict(curriculum)
    run.save()


def _spawn_actors(run: _Run, population: Population) -> None:
    """One actor per member, loaded from the current segment's checkpoint (saved first if missing)."""
    layout = run.layout
    for r in run.records:
        # Interrupted during the final best response: every member is at its final.pt.
        ck = (layout.final_checkpoint(r.member_id) if run.segment >= run.n_segments
              else population.checkpoint(r.member_id, run.segment))
        population.spawn(r.member_id, ck if ck.exists() else None)
        if not ck.exists():
            population.ray.get(population.actors[r.member_id].save.remote(str(ck)))
    population.open_bars(run.config.population.episodes, run.start_episode)


# ------------------------------------------------------------ one segment
def _train_segment(run: _Run, population: Population) -> dict[str, list[dict[str, Any]]]:
    """Every member trains the segment's episodes on its actor; returns each member's metrics rows."""
    seg = run.segment
    return population.call_all("train", lambda _m, episodes=run.episodes: (episodes,),
                               lambda m: population.checkpoint(m, seg))


def _score_segment(run: _Run, population: Population) -> dict[str, float] | None:
    """``population.rank_by: equilibrium``: every member's exploitability score after the segment
    (:meth:`populations.actor.MemberWorker.score`); ``None`` when PBT ranks by fitness alone."""
    pop = run.config.population
    if pop.rank_by != "equilibrium":
        return None
    seg = run.segment
    results = population.call_all("score", lambda _m: (pop.score_episodes, pop.score_unilateral_agents,
                                                       pop.score_scope),
                                  lambda m: population.checkpoint(m, seg))
    return {m: float(score) for m, (score, _by_type) in results.items()}


def _record_segment(run: _Run, population: Population, results: dict[str, list[dict[str, Any]]],
                    scores: dict[str, float] | None = None) -> dict[str, float]:
    """Append the metrics rows (with ``exploitability``, the segment's score, when ranking by equilibrium), tell
    each member's trial its objectives; returns each member's fitness."""
    pop = run.config.population
    fitness = {}
    for r in run.records:
        rows = results[r.member_id]
        for row in rows:
            row.update(segment=run.segment, trial=r.trial, restarts=r.restarts)
            if scores is not None:
                row["exploitability"] = scores[r.member_id]
        run.metrics.extend(rows)
        fitness[r.member_id] = _fitness(rows, pop.fitness, pop.fitness_rows)
        r.fitness_history.append(fitness[r.member_id])
        run.trials.tell(r.trial, [_fitness(rows, o.metric, pop.fitness_rows) for o in pop.objectives])
    population.fitness = fitness
    write_table(run.metrics, run.layout.metrics, "metrics")
    if not run.show_progress:
        line = "  ".join(f"{m}={f:.4g}" + ("" if scores is None else f" (score {scores[m]:.3g})")
                         for m, f in sorted(fitness.items()))
        end_episode = run.segment * pop.ready_interval + run.episodes
        print(f"segment {run.segment + 1}/{run.n_segments} (episode {end_episode}): fitness {line}", flush=True)
    return fitness


def _exploit_and_explore(run: _Run, population: Population, fitness: dict[str, float],
                         scores: dict[str, float] | None = None) -> None:
    """Between segments: probe the archive (quality-diversity search), then the PBT step; lineage rows."""
    config, qd, seg = run.config, run.qd, run.segment
    restarts = None
    if qd is not None:
        probe_args = (config.population.archive.probe_episodes, config.population.archive.probe_seeds)
        probes = population.call_all("probe", lambda _m: probe_args, lambda m: population.checkpoint(m, seg))
        qd.record(seg, run.episodes * len(run.records), probes, population.records,
                  lambda m, path: population.ray.get(population.actors[m].save.remote(str(path))))
        qd.write()
        restarts = qd.restarts(population.records, random.Random(f"qd-{config.seed}-{seg}"))
    end_episode = seg * config.population.ready_interval + run.episodes
    run.lineage.extend(_pbt_step(config, population, run.trials, run.records, fitness, seg, end_episode,
                                 run.search_paths("training."), run.search_paths("curriculum."), restarts, qd,
                                 scores))
    write_table(run.lineage, run.layout.lineage, "lineage", LineageRow)


def _checkpoint_segment(run: _Run, population: Population) -> None:
    """Save every member (``seg_<k+1>.pt``, or ``final.pt`` after the last segment), then record
    ``segment = k + 1`` in ``driver.json`` and prune old checkpoints."""
    seg, layout = run.segment, run.layout
    if not run.last:
        population.call_all("save", lambda m: (str(population.checkpoint(m, seg + 1)),),
                            lambda m: population.checkpoint(m, seg))
    else:
        population.call_all("save", lambda m: (str(layout.final_checkpoint(m)),),
                            lambda m: population.checkpoint(m, seg))
    run.segment += 1
    run.save()
    _prune_checkpoints(population, run.segment)
    if run.qd is not None:
        run.qd.prune()


def _prune_checkpoints(population: Population, segment: int) -> None:
    """Keep the checkpoints of the current and previous segment only."""
    for m in population.records:
        for old in population.layout.segment_checkpoints(m):
            if RunDir.segment_of(old) < segment - 1:
                old.unlink(missing_ok=True)


def _pbt_step(config: RunConfig, population: Population, trials: SegmentTrials, records: list[MemberRecord],
              fitness: dict[str, float], segment: int, episode: int, training_paths: list[str],
              curriculum_paths: list[str], restarts: list[Restart] | None = None,
              qd: QualitySearch | None = None, scores: dict[str, float] | None = None) -> list[LineageRow]:
    """Plan the PBT step (:func:`populations.pbt.plan_step`, pure), then apply it through Ray.

    With ``restarts`` (quality-diversity search) stalled members load an archive elite's saved state
    instead of copying the top of their niche.
    """
    pop = config.population
    niches = {r.member_id: (r.niche if pop.niche_by == "curriculum" else "all") for r in records}
    plans = plan_step([(r.member_id, r.niche, dict(r.hyperparameters)) for r in records], fitness, niches,
                      config.search_space, pop, trials, random.Random(f"pbt-{config.seed}-{segment}"),
                      segment, episode, restarts, scores)
    copies = [p.exploit for p in plans if p.exploit is not None]
    exploits = [d for d in copies if not isinstance(d, Restart)]
    # Copy learning state parent -> child through the object store (all copies read pre-exploit states).
    states = {d.parent: population.actors[d.parent].get_state.remote() for d in exploits}
    population.ray.get([population.actors[d.child].set_state.remote(states[d.parent], True) for d in exploits]
                       + [population.actors[d.child].adopt.remote(str(qd.elite_path(d)))
                          for d in copies if isinstance(d, Restart)])
    lineage = []
    for r, plan in zip(records, plans):
        r.trial, r.hyperparameters = plan.trial, dict(plan.hyperparameters)
        d = plan.exploit
        if isinstance(d, Restart):
            lineage.append(LineageRow(segment=segment, episode=episode, child=d.child, parent=d.parent, niche=r.niche,
                                      child_fitness=d.child_fitness, parent_fitness=d.elite.welfare,
                                      explore=plan.explore, changes="; ".join(plan.notes), kind="restart",
                                      cell=f"{d.cell[0]},{d.cell[1]}"))
        elif d is not None:
            lineage.append(LineageRow(segment=segment, episode=episode, child=d.child, parent=d.parent, niche=d.niche,
                                      child_fitness=d.child_fitness, parent_fitness=d.parent_fitness,
                                      explore=plan.explore, changes="; ".join(plan.notes),
                                      child_score=d.child_score, parent_score=d.parent_score))
    population.ray.get([
        population.actors[r.member_id].set_hyperparameters.remote({p: r.hyperparameters[p] for p in training_paths})
        for r in records if training_paths
    ])
    return lineage


# ------------------------------------------------------------ after the last segment
def _final_stages(run: _Run, population: Population) -> list[OutcomeRow]:
    """The final stages (:func:`populations.stages.final_stages`), then ``driver.json`` says finished."""
    population.close_bars()
    if not run.layout.lineage.exists():
        write_table(run.lineage, run.layout.lineage, "lineage", LineageRow)
    outcomes = final_stages(run.config, population, run.qd, run.n_segments)
    run.save(finished=True)
    if run.qd is not None:
        run.qd.prune()
    return outcomes
