"""The population driver: Ray member actors, PBT between segments, Optuna, resume.

:func:`run_search` is called by ``python -m pbt_econ.search``. It owns every
decision; member actors (:mod:`populations.actor`) only train, checkpoint,
load and report. Data flow per segment ``k`` (design.md, steps 2-6):

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
import os
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pbt_econ.config import RunConfig, config_to_dict, load_curriculum, replace_path
from pbt_econ.files import atomic_write_text
from pbt_econ.outcomes import OutcomeRow, outcome_row
from pbt_econ.seeds import member_seed
from pbt_econ.tables import read_table, unflatten, write_table
from populations.pbt import perturb, plan_exploits
from populations.study import SegmentTrials, open_study

__all__ = ["LineageRow", "SearchError", "SearchResult", "run_search"]


class SearchError(RuntimeError):
    """The search cannot go on (an actor died too often, a member diverged, ...)."""


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


@dataclass
class _MemberRecord:
    """A member as the driver remembers it in ``driver.json``."""

    member_id: str
    niche: str
    curriculum: dict[str, Any]
    seed: int
    hyperparameters: dict[str, float] = field(default_factory=dict)
    trial: int | None = None
    restarts: int = 0


@dataclass(frozen=True)
class SearchResult:
    run_dir: Path
    outcomes: list[OutcomeRow]
    segments: int
    wall_time_s: float
    segment_times: tuple[tuple[float, float], ...] = ()
    """Per segment run here: (seconds training, seconds of driver work after it: Optuna, PBT, checkpoints, tables)."""


def _start_ray(config: RunConfig, address: str | None) -> bool:
    """Join ``address`` (or ``RAY_ADDRESS``) or start a local Ray on 127.0.0.1; True if we started it."""
    import ray

    if ray.is_initialized():
        return False
    target = address or os.environ.get("RAY_ADDRESS")
    if target:
        ray.init(address=target, namespace="pbt-econ", log_to_driver=False)
        return True
    ray.init(num_cpus=config.population.num_cpus, include_dashboard=False, namespace="pbt-econ",
             _node_ip_address="127.0.0.1", log_to_driver=False)
    return True


class _Population:
    """The driver's view of the running members (actors, records, progress)."""

    def __init__(self, config: RunConfig, run_dir: Path, records: list[_MemberRecord], show_progress: bool):
        import ray

        self.ray = ray
        self.config = config
        self.run_dir = run_dir
        self.records = {r.member_id: r for r in records}
        self.actors: dict[str, Any] = {}
        pop = config.population
        total_cpus = float(ray.cluster_resources().get("CPU", 1.0))
        self.cpus = min(pop.cpus_per_member, total_cpus / max(1, pop.size)) if pop.gpus_per_member == 0 \
            else pop.cpus_per_member
        self.threads = max(1, int(self.cpus))
        from populations.actor import remote_worker_class

        self.worker_cls = remote_worker_class()
        self.show_progress = show_progress
        self.bars: dict[str, Any] = {}
        self.fitness: dict[str, float] = {m: math.nan for m in self.records}

    # ------------------------------------------------------------ actors
    def member_config(self, record: _MemberRecord) -> tuple[RunConfig, Any]:
        config = self.config
        for path, value in record.hyperparameters.items():
            if path.startswith("training."):
                config = replace_path(config, path, value)
        return config, load_curriculum(record.curriculum)

    def checkpoint(self, member_id: str, segment: int) -> Path:
        return self.run_dir / "members" / member_id / f"seg_{segment:04d}.pt"

    def spawn(self, member_id: str, load: Path | None) -> None:
        record = self.records[member_id]
        config, curriculum = self.member_config(record)
        options: dict[str, Any] = {"num_cpus": self.cpus}
        if self.config.population.gpus_per_member:
            options["num_gpus"] = self.config.population.gpus_per_member
        actor = self.worker_cls.options(**options).remote(config, curriculum, record.seed, member_id, self.threads)
        if load is not None:
            self.ray.get(actor.load.remote(str(load)))
        self.actors[member_id] = actor

    def restart(self, member_id: str, load: Path, error: BaseException) -> None:
        record = self.records[member_id]
        record.restarts += 1
        if record.restarts > self.config.population.max_actor_restarts:
            raise SearchError(f"member {member_id}: actor died {record.restarts} times "
                              f"(population.max_actor_restarts = {self.config.population.max_actor_restarts}); "
                              f"last error: {error}")
        print(f"member {member_id}: actor died ({type(error).__name__}); restarting from {load}", file=sys.stderr)
        self.spawn(member_id, load)

    def call_all(self, method: str, args_for: Callable[[str], tuple], reload: Callable[[str], Path | None]):
        """Call ``method`` on every actor, restarting dead ones (from ``reload(id)``) and retrying."""
        ray = self.ray
        pending = {getattr(self.actors[m], method).remote(*args_for(m)): m for m in self.records}
        results: dict[str, Any] = {}
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1, timeout=1.0)
            self.refresh_progress()
            for ref in ready:
                m = pending.pop(ref)
                try:
                    results[m] = ray.get(ref)
                except ray.exceptions.RayActorError as exc:
                    self.restart(m, reload(m), exc)
                    pending[getattr(self.actors[m], method).remote(*args_for(m))] = m
                except ray.exceptions.RayTaskError as exc:
                    raise SearchError(f"member {m}: {method} failed: {exc.cause or exc}") from None
        return results

    # ------------------------------------------------------------ progress view
    def open_bars(self, total: int, start: int) -> None:
        if not self.show_progress:
            return
        import shutil

        from tqdm import tqdm

        size = shutil.get_terminal_size((120, 40))  # a 0x0 pty would otherwise hide every bar
        for i, (m, r) in enumerate(sorted(self.records.items())):
            self.bars[m] = tqdm(total=total, initial=start, position=i, unit="ep", ncols=size.columns,
                                nrows=max(size.lines, len(self.records) + 2), desc=f"{m} [{r.niche}]", leave=True)

    def refresh_progress(self) -> None:
        if not self.bars:
            return
        refs = {m: a.progress.remote() for m, a in self.actors.items()}
        ready, _ = self.ray.wait(list(refs.values()), num_returns=len(refs), timeout=0.5)
        ready = set(ready)
        for m, ref in refs.items():
            if ref not in ready or m not in self.bars:
                continue
            try:
                p = self.ray.get(ref)
            except Exception:  # noqa: BLE001 - a dead actor is handled by call_all
                continue
            bar = self.bars[m]
            bar.n = p["episode"]
            bar.set_postfix(fitness=f"{self.fitness[m]:.4g}", welfare=f"{p['welfare']:.4g}",
                            hours=f"{p['hours']:.0f}", price=f"{p['price']:.0f}", refresh=False)
            bar.refresh()

    def close_bars(self) -> None:
        for bar in self.bars.values():
            bar.close()
        self.bars = {}


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
    state_path = run_dir / "driver.json"
    space = config.search_space
    training_paths = sorted(p for p in space if p.startswith("training."))
    curriculum_paths = sorted(p for p in space if p.startswith("curriculum."))
    n_segments = math.ceil(pop.episodes / pop.ready_interval)

    if resume and state_path.exists():
        saved = json.loads(state_path.read_text())
        if saved.get("finished") and (run_dir / "outcomes.parquet").exists():
            outcomes = [unflatten(OutcomeRow, r)
                        for r in read_table(run_dir / "outcomes.parquet", "outcomes").to_pylist()]
            return SearchResult(run_dir, outcomes, n_segments, time.perf_counter() - started)
        records = [_MemberRecord(**r) for r in saved["members"]]
        segment = int(saved["segment"])
    else:
        curricula = config.member_curricula
        records = [
            _MemberRecord(member_id=f"m{i:03d}", niche=curricula[i % len(curricula)].niche,
                          curriculum=config_to_dict(curricula[i % len(curricula)]), seed=member_seed(config.seed, i))
            for i in range(pop.size)
        ]
        segment = 0

    def save_state(finished: bool = False) -> None:
        atomic_write_text(state_path, json.dumps({"segment": segment, "finished": finished,
                                                  "members": [dataclasses.asdict(r) for r in records]},
                                                 indent=1, sort_keys=True))

    metrics_path, lineage_path = run_dir / "metrics.parquet", run_dir / "lineage.parquet"
    start_episode = min(segment * pop.ready_interval, pop.episodes)
    metrics = [r for r in read_table(metrics_path, "metrics").to_pylist()
               if r["episode"] <= start_episode] if metrics_path.exists() else []
    lineage = [r for r in read_table(lineage_path, "lineage").to_pylist()
               if r["segment"] < segment] if lineage_path.exists() else []

    study = open_study(config.name, pop, run_dir, config.seed)
    trials = SegmentTrials(study, space)
    objective_metrics = [o.metric for o in pop.objectives]

    segment_times: list[tuple[float, float]] = []
    started_ray = _start_ray(config, address)
    population = _Population(config, run_dir, records, show_progress)
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
            ck = (run_dir / "members" / r.member_id / "final.pt" if segment >= n_segments
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
                trials.tell(r.trial, [_fitness(rows, m, pop.fitness_rows) for m in objective_metrics])
            population.fitness = fitness
            write_table(metrics, metrics_path, "metrics")
            if not show_progress:
                line = "  ".join(f"{m}={f:.4g}" for m, f in sorted(fitness.items()))
                print(f"segment {segment + 1}/{n_segments} (episode {end_episode}): fitness {line}", flush=True)

            last = segment == n_segments - 1
            if not last:
                lineage.extend(_pbt_step(config, population, trials, records, fitness, segment, end_episode,
                                         training_paths, curriculum_paths))
                write_table(lineage, lineage_path, "lineage", LineageRow)
                nxt = segment + 1
                population.call_all("save", lambda m, nxt=nxt: (str(population.checkpoint(m, nxt)),),
                                    lambda m, seg=seg: population.checkpoint(m, seg))
            else:
                population.call_all("save", lambda m: (str(run_dir / "members" / m / "final.pt"),),
                                    lambda m, seg=seg: population.checkpoint(m, seg))
            segment += 1
            save_state()
            _prune_checkpoints(population, segment)
            segment_times.append((driver_started - train_started, time.perf_counter() - driver_started))
            if on_segment is not None:
                on_segment(segment - 1, population.actors)

        population.close_bars()
        if not lineage_path.exists():
            write_table(lineage, lineage_path, "lineage", LineageRow)
        outcomes = _finish(config, population, run_dir)
        save_state(finished=True)
    finally:
        population.close_bars()
        if started_ray:
            population.ray.shutdown()
    return SearchResult(run_dir, outcomes, n_segments, time.perf_counter() - started, tuple(segment_times))


def _prune_checkpoints(population: _Population, segment: int) -> None:
    """Keep the checkpoints of the current and previous segment only."""
    for m in population.records:
        for old in (population.run_dir / "members" / m).glob("seg_*.pt"):
            if int(old.stem.removeprefix("seg_")) < segment - 1:
                old.unlink(missing_ok=True)


def _pbt_step(config: RunConfig, population: _Population, trials: SegmentTrials, records: list[_MemberRecord],
              fitness: dict[str, float], segment: int, episode: int, training_paths: list[str],
              curriculum_paths: list[str]) -> list[LineageRow]:
    """Exploit within niches, explore, open every member's trial for the next segment."""
    pop = config.population
    by_id = {r.member_id: r for r in records}
    niches = {r.member_id: (r.niche if pop.niche_by == "curriculum" else "all") for r in records}
    rng = random.Random(f"pbt-{config.seed}-{segment}")
    decisions = plan_exploits(fitness, niches, pop.quantile, rng)
    exploited = {d.child: d for d in decisions}
    lineage = []
    # Copy learning state parent -> child through the object store (all copies read pre-exploit states).
    states = {d.parent: population.actors[d.parent].get_state.remote() for d in decisions}
    population.ray.get([population.actors[d.child].set_state.remote(states[d.parent], True) for d in decisions])
    for r in records:
        curriculum_values = {p: r.hyperparameters[p] for p in curriculum_paths if p in r.hyperparameters}
        d = exploited.get(r.member_id)
        if d is None:
            r.trial, _ = trials.open(r.member_id, segment + 1, r.niche, episode, dict(r.hyperparameters))
            continue
        parent_values = {p: by_id[d.parent].hyperparameters[p] for p in training_paths}
        if pop.explore == "optuna":
            r.trial, params = trials.open(r.member_id, segment + 1, r.niche, episode, curriculum_values)
            new_values = {p: params[p] for p in training_paths}
            notes = [f"{p}: {parent_values[p]:.6g} --(optuna)--> {new_values[p]:.6g}" for p in training_paths]
        else:
            new_values, notes = perturb(parent_values, config.search_space, rng, pop.perturb_factors,
                                        pop.resample_probability)
            r.trial, _ = trials.open(r.member_id, segment + 1, r.niche, episode, {**curriculum_values, **new_values})
        r.hyperparameters = {**curriculum_values, **new_values}
        lineage.append(LineageRow(segment=segment, episode=episode, child=d.child, parent=d.parent, niche=d.niche,
                                  child_fitness=d.child_fitness, parent_fitness=d.parent_fitness,
                                  explore=pop.explore, changes="; ".join(notes)))
    population.ray.get([
        population.actors[r.member_id].set_hyperparameters.remote({p: r.hyperparameters[p] for p in training_paths})
        for r in records if training_paths
    ])
    return lineage


def _finish(config: RunConfig, population: _Population, run_dir: Path) -> list[OutcomeRow]:
    """Evaluate and best-respond every final member; write outcomes and best-response tables."""
    if population.show_progress:
        print("best response and evaluation of every member ...", flush=True)
    finals = population.call_all("finish", lambda _m: (), lambda m: run_dir / "members" / m / "final.pt")
    outcomes, br_rows = [], []
    for m, r in sorted(population.records.items()):
        descriptors, rows = finals[m]
        br_rows.extend(rows)
        outcomes.append(outcome_row(
            member_id=m, niche=r.niche, curriculum=r.curriculum["name"], seed=r.seed,
            episode=config.population.episodes, hyperparameters=r.hyperparameters,
            descriptors=descriptors, best_response_rows=rows,
        ))
    from pbt_econ.best_response import BestResponseRow

    write_table(br_rows, run_dir / "best_response.parquet", "best_response", BestResponseRow)
    write_table(outcomes, run_dir / "outcomes.parquet", "outcomes", OutcomeRow)
    return outcomes
