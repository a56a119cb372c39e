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
At the end every member is evaluated and best-responded on its actor and
``outcomes.parquet`` / ``best_response.parquet`` are written.
"""

from __future__ import annotations

import dataclasses
import json
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pbt_econ.config.load import RunConfig, config_to_dict, load_curriculum, replace_path
from pbt_econ.core.files import atomic_write_text
from pbt_econ.core.rundir import RunDir
from pbt_econ.core.seeds import member_seed, trial_seed
from pbt_econ.core.tables import read_table, unflatten, write_table
from pbt_econ.equilibrium.best_response import BestResponseRow
from pbt_econ.equilibrium.outcomes import OutcomeRow, outcome_groups, outcome_row
from populations.archive import Restart
from populations.members import MemberRecord, Population, SearchError, start_ray
from populations.pbt import plan_step
from populations.quality_diversity import QualitySearch, copy_checkpoint
from populations.study import SegmentTrials, make_sampler, open_study

__all__ = ["LineageRow", "SearchError", "SearchResult", "run_search"]


@dataclass(frozen=True)
class LineageRow:
    """One row of ``lineage.parquet``: one exploit/explore event."""

    segment: int
    """The segment after which PBT acted."""
    episode: int
    child: str
    parent: str
    niche: str
    child_fitness: float
    parent_fitness: float
    explore: str
    """``optuna`` or ``perturb``."""
    changes: str
    """Readable ``path: old --(how)--> new`` descriptions, ``;``-separated."""
    kind: str = "exploit"
    """``exploit`` (copied the top of its niche), ``restart`` (copied an archive elite, quality-diversity
    search), ``refine`` (refinement after the search: ``segment`` -1, ``changes`` lists the adopted types) or
    ``solve`` (the solver after the search: ``segment`` -1, ``changes`` lists the pooled deviations)."""
    cell: str = ""
    """``X,Y``: the archive cell of the elite a ``restart`` copied (``parent`` is the elite's member)."""


@dataclass(frozen=True)
class SearchResult:
    run_dir: Path
    outcomes: list[OutcomeRow]
    segments: int
    wall_time_s: float
    segment_times: tuple[tuple[float, float], ...] = ()
    """Per segment run here: (seconds training, seconds of driver work after it: Optuna, PBT, checkpoints, tables)."""


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
    pop = config.population
    run_dir.mkdir(parents=True, exist_ok=True)
    layout = RunDir(run_dir)
    state_path = layout.driver_state
    space = config.search_space
    training_paths = sorted(p for p in space if p.startswith("training."))
    curriculum_paths = sorted(p for p in space if p.startswith("curriculum."))
    n_segments = math.ceil(pop.episodes / pop.ready_interval)

    saved: dict[str, Any] = {}
    if resume and state_path.exists():
        saved = json.loads(state_path.read_text())
        if saved.get("finished") and layout.outcomes.exists():
            model = config.economy_model
            groups = outcome_groups((d.name for d in model.descriptors), config.agent_types)
            outcomes = [unflatten(OutcomeRow, r, groups) for r in read_table(layout.outcomes, "outcomes").to_pylist()]
            return SearchResult(run_dir, outcomes, n_segments, time.perf_counter() - started)
        records = [MemberRecord(**r) for r in saved["members"]]
        segment = int(saved["segment"])
    else:
        curricula = config.member_curricula
        records = [
            MemberRecord(member_id=f"m{i:03d}", niche=curricula[i % len(curricula)].niche,
                          curriculum=config_to_dict(curricula[i % len(curricula)]), seed=member_seed(config.seed, i))
            for i in range(pop.size)
        ]
        segment = 0

    qd = QualitySearch(config, run_dir, saved.get("quality_diversity")) if pop.archive.enabled else None
    if qd is not None:
        qd.load_probes(segment)

    def save_state(finished: bool = False) -> None:
        state = {"segment": segment, "finished": finished, "members": [dataclasses.asdict(r) for r in records]}
        if qd is not None:
            state["quality_diversity"] = qd.state()
        atomic_write_text(state_path, json.dumps(state, indent=1, sort_keys=True))

    metrics_path, lineage_path = layout.metrics, layout.lineage
    start_episode = min(segment * pop.ready_interval, pop.episodes)
    metrics = [r for r in read_table(metrics_path, "metrics").to_pylist()
               if r["episode"] <= start_episode] if metrics_path.exists() else []
    lineage = [r for r in read_table(lineage_path, "lineage").to_pylist()
               if r["segment"] < segment] if lineage_path.exists() else []

    study = open_study(config.name, pop, run_dir, config.seed)
    trials = SegmentTrials(study, space,
                           sampler_for=lambda member, segment: make_sampler(pop, trial_seed(config.seed, member, segment)))
    objective_metrics = [o.metric for o in pop.objectives]

    segment_times: list[tuple[float, float]] = []
    started_ray = start_ray(config, address)
    population = Population(config, run_dir, records, show_progress)
    try:
        # Trials and actors for the current segment (fresh start or resume).
        for r in records:
            if r.trial is None:
                fixed = r.hyperparameters or {}
                r.trial, params = trials.open(r.member_id, segment, r.niche, start_episode, fixed)
                r.hyperparameters = {**params, **fixed}
                if segment == 0:
                    curriculum = load_curriculum(r.curriculum)
                    for path in curriculum_paths:
                        curriculum = replace_path(curriculum, path.removeprefix("curriculum."),
                                                  r.hyperparameters[path])
                    r.curriculum = config_to_dict(curriculum)
        save_state()
        for r in records:
            # Interrupted during the final best response: every member is at its final.pt.
            ck = (layout.final_checkpoint(r.member_id) if segment >= n_segments
                  else population.checkpoint(r.member_id, segment))
            population.spawn(r.member_id, ck if ck.exists() else None)
            if not ck.exists():
                population.ray.get(population.actors[r.member_id].save.remote(str(ck)))
        population.open_bars(pop.episodes, start_episode)

        while segment < n_segments:
            episodes = min(pop.ready_interval, pop.episodes - segment * pop.ready_interval)
            seg = segment
            train_started = time.perf_counter()
            results = population.call_all("train", lambda _m, episodes=episodes: (episodes,),
                                          lambda m, seg=seg: population.checkpoint(m, seg))
            driver_started = time.perf_counter()
            end_episode = segment * pop.ready_interval + episodes
            fitness = {}
            for r in records:
                rows = results[r.member_id]
                for row in rows:
                    row.update(segment=segment, trial=r.trial, restarts=r.restarts)
                metrics.extend(rows)
                fitness[r.member_id] = _fitness(rows, pop.fitness, pop.fitness_rows)
                r.fitness_history.append(fitness[r.member_id])
                trials.tell(r.trial, [_fitness(rows, m, pop.fitness_rows) for m in objective_metrics])
            population.fitness = fitness
            write_table(metrics, metrics_path, "metrics")
            if not show_progress:
                line = "  ".join(f"{m}={f:.4g}" for m, f in sorted(fitness.items()))
                print(f"segment {segment + 1}/{n_segments} (episode {end_episode}): fitness {line}", flush=True)

            last = segment == n_segments - 1
            restarts = None
            if qd is not None and not last:
                probe_args = (pop.archive.probe_episodes, pop.archive.probe_seeds)
                probes = population.call_all("probe", lambda _m, args=probe_args: args,
                                             lambda m, seg=seg: population.checkpoint(m, seg))
                qd.record(segment, episodes * len(records), probes, population.records,
                          lambda m, path: population.ray.get(population.actors[m].save.remote(str(path))))
                qd.write()
                restarts = qd.restarts(population.records, random.Random(f"qd-{config.seed}-{segment}"))
            if not last:
                lineage.extend(_pbt_step(config, population, trials, records, fitness, segment, end_episode,
                                         training_paths, curriculum_paths, restarts, qd))
                write_table(lineage, lineage_path, "lineage", LineageRow)
                nxt = segment + 1
                population.call_all("save", lambda m, nxt=nxt: (str(population.checkpoint(m, nxt)),),
                                    lambda m, seg=seg: population.checkpoint(m, seg))
            else:
                population.call_all("save", lambda m: (str(layout.final_checkpoint(m)),),
                                    lambda m, seg=seg: population.checkpoint(m, seg))
            segment += 1
            save_state()
            _prune_checkpoints(population, segment)
            if qd is not None:
                qd.prune()
            segment_times.append((driver_started - train_started, time.perf_counter() - driver_started))
            if on_segment is not None:
                on_segment(segment - 1, population.actors)

        population.close_bars()
        if not lineage_path.exists():
            write_table(lineage, lineage_path, "lineage", LineageRow)
        outcomes, finals = _finish(config, population, run_dir)
        if pop.refine.rounds > 0:
            from populations.refinement import refine_outcomes

            outcomes = refine_outcomes(config, population, outcomes, LineageRow)
        if pop.solve.enabled:
            from populations.solving import solve_outcomes

            outcomes = solve_outcomes(config, population, outcomes, LineageRow)
        if qd is not None:
            last_episodes = pop.episodes - (n_segments - 1) * pop.ready_interval
            qd.record(n_segments, last_episodes * len(records), finals, population.records,
                      lambda m, path: copy_checkpoint(layout.final_checkpoint(m), path), kind="final")
            qd.write()
            if pop.archive.assess_elites:
                outcomes = _assess_elites(config, population, qd, outcomes)
        save_state(finished=True)
        if qd is not None:
            qd.prune()
    finally:
        population.close_bars()
        if started_ray:
            population.ray.shutdown()
    return SearchResult(run_dir, outcomes, n_segments, time.perf_counter() - started, tuple(segment_times))


def _prune_checkpoints(population: Population, segment: int) -> None:
    """Keep the checkpoints of the current and previous segment only."""
    for m in population.records:
        for old in population.layout.segment_checkpoints(m):
            if RunDir.segment_of(old) < segment - 1:
                old.unlink(missing_ok=True)


def _pbt_step(config: RunConfig, population: Population, trials: SegmentTrials, records: list[MemberRecord],
              fitness: dict[str, float], segment: int, episode: int, training_paths: list[str],
              curriculum_paths: list[str], restarts: list[Restart] | None = None,
              qd: QualitySearch | None = None) -> list[LineageRow]:
    """Plan the PBT step (:func:`populations.pbt.plan_step`, pure), then apply it through Ray.

    With ``restarts`` (quality-diversity search) stalled members load an archive elite's saved state
    instead of copying the top of their niche.
    """
    pop = config.population
    niches = {r.member_id: (r.niche if pop.niche_by == "curriculum" else "all") for r in records}
    plans = plan_step([(r.member_id, r.niche, dict(r.hyperparameters)) for r in records], fitness, niches,
                      config.search_space, pop, trials, random.Random(f"pbt-{config.seed}-{segment}"),
                      segment, episode, restarts)
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
                                      explore=plan.explore, changes="; ".join(plan.notes)))
    population.ray.get([
        population.actors[r.member_id].set_hyperparameters.remote({p: r.hyperparameters[p] for p in training_paths})
        for r in records if training_paths
    ])
    return lineage


def _assess_elites(config: RunConfig, population: Population, qd: QualitySearch,
                   outcomes: list[OutcomeRow]) -> list[OutcomeRow]:
    """Evaluate and best-respond every archive elite that is not a final outcome; append them to
    ``outcomes.parquet`` (member id ``<member>@e<episode>``, niche ``archive:<niche>``) and their
    deviations to ``best_response.parquet``."""
    layout = population.layout
    elites = [e for _, e in sorted(qd.archive.elites.items()) if e.episode < config.population.episodes]
    if not elites:
        return outcomes
    if population.show_progress:
        print(f"best response of {len(elites)} archive elites ...", flush=True)
    ray = population.ray
    for actor in population.actors.values():  # the members are done; free their CPU shares
        ray.kill(actor)
    population.actors = {}
    refs = []
    for e in elites:
        record = population.records[e.member_id]
        member_config, curriculum = population.member_config(record)
        actor = population.worker_cls.options(num_cpus=population.cpus).remote(
            member_config, curriculum, record.seed, f"{e.member_id}@e{e.episode}", population.threads)
        # Not waited for: more elites than free CPU shares queue as pending actors, and each starts
        # when an earlier one is killed below (waiting here would deadlock).
        actor.load.remote(str(layout.root / e.checkpoint))  # its own weights and hyperparameters
        refs.append((e, record, actor, actor.finish.remote()))
    br_rows = [BestResponseRow(**r) for r in read_table(layout.best_response, "best_response").to_pylist()]
    extra = []
    for e, record, actor, ref in refs:
        descriptors, descriptor_se, rows = ray.get(ref)
        ray.kill(actor)
        br_rows.extend(rows)
        extra.append(outcome_row(
            member_id=f"{e.member_id}@e{e.episode}", niche=f"archive:{record.niche}",
            curriculum=record.curriculum["name"], seed=record.seed, episode=e.episode,
            hyperparameters=e.hyperparameters, descriptors=descriptors, best_response_rows=rows,
            economy=config.economy_model, fixed_types=tuple(config.fixed), descriptor_se=descriptor_se, eval_seeds=config.analysis.eval_seeds))
    outcomes = outcomes + extra
    write_table(br_rows, layout.best_response, "best_response", BestResponseRow)
    write_table(outcomes, layout.outcomes, "outcomes", OutcomeRow)
    return outcomes


def _finish(config: RunConfig, population: Population, run_dir: Path) -> tuple[list[OutcomeRow], dict[str, tuple]]:
    """Evaluate and best-respond every final member; write outcomes and best-response tables."""
    if population.show_progress:
        print("best response and evaluation of every member ...", flush=True)
    layout = population.layout
    finals = population.call_all("finish", lambda _m: (), layout.final_checkpoint)
    outcomes, br_rows = [], []
    for m, r in sorted(population.records.items()):
        descriptors, descriptor_se, rows = finals[m]
        br_rows.extend(rows)
        outcomes.append(outcome_row(
            member_id=m, niche=r.niche, curriculum=r.curriculum["name"], seed=r.seed,
            episode=config.population.episodes, hyperparameters=r.hyperparameters,
            descriptors=descriptors, best_response_rows=rows, economy=config.economy_model, fixed_types=tuple(config.fixed),
            descriptor_se=descriptor_se, eval_seeds=config.analysis.eval_seeds,
        ))
    write_table(br_rows, layout.best_response, "best_response", BestResponseRow)
    write_table(outcomes, layout.outcomes, "outcomes", OutcomeRow)
    return outcomes, finals
