"""The search's stages after the segment loop, and the lineage row every stage writes.

:func:`final_stages` runs them in order once the last segment is trained
(:func:`populations.driver.run_search`):

1. :func:`final_assessment`: every member is evaluated and best-responded on its
   actor; ``outcomes.parquet`` and ``best_response.parquet`` are written;
2. refinement (``population.refine``, :func:`populations.refinement.refine_outcomes`);
3. the solver (``population.solve``, :func:`populations.solving.solve_outcomes`);
4. with the quality-diversity archive, the final members join it and, with
   ``population.archive.assess_elites``, every earlier elite is assessed too
   (:func:`assess_elites`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from pbt_econ.config.load import RunConfig
from pbt_econ.core.tables import read_table, write_table
from pbt_econ.equilibrium.best_response import BestResponseRow
from pbt_econ.equilibrium.outcomes import OutcomeRow, outcome_row
from populations.members import Population
from populations.quality_diversity import QualitySearch, copy_checkpoint

__all__ = ["LineageRow", "assess_elites", "final_assessment", "final_stages"]


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
    child_score: float = math.nan
    """``population.rank_by: equilibrium``: the child's exploitability score before the copy (NaN otherwise)."""
    parent_score: float = math.nan
    """The parent's score (NaN unless ranking by equilibrium)."""


def final_stages(config: RunConfig, population: Population, qd: QualitySearch | None,
                 n_segments: int) -> list[OutcomeRow]:
    """Final assessment, refinement, solver, archive elites (in that order); returns every outcome."""
    pop = config.population
    layout = population.layout
    outcomes, finals = final_assessment(config, population)
    if pop.refine.rounds > 0:
        from populations.refinement import refine_outcomes

        outcomes = refine_outcomes(config, population, outcomes, LineageRow)
    if pop.solve.enabled:
        from populations.solving import solve_outcomes

        outcomes = solve_outcomes(config, population, outcomes, LineageRow)
    if qd is not None:
        last_episodes = pop.episodes - (n_segments - 1) * pop.ready_interval
        qd.record(n_segments, last_episodes * len(population.records), finals, population.records,
                  lambda m, path: copy_checkpoint(layout.final_checkpoint(m), path), kind="final")
        qd.write()
        if pop.archive.assess_elites:
            outcomes = assess_elites(config, population, qd, outcomes)
    return outcomes


def final_assessment(config: RunConfig, population: Population) -> tuple[list[OutcomeRow], dict[str, tuple]]:
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


def assess_elites(config: RunConfig, population: Population, qd: QualitySearch,
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
    population.shutdown()  # the members are done; free their CPU shares
    refs = []
    try:
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
                economy=config.economy_model, fixed_types=tuple(config.fixed), descriptor_se=descriptor_se,
                eval_seeds=config.analysis.eval_seeds))
    except BaseException:  # an elite that failed (or an interrupt) must not keep the others' actors queued
        for _, _, actor, _ in refs:
            ray.kill(actor)
        raise
    outcomes = outcomes + extra
    write_table(br_rows, layout.best_response, "best_response", BestResponseRow)
    write_table(outcomes, layout.outcomes, "outcomes", OutcomeRow)
    return outcomes
