"""The search's refinement stage (``population.refine``): refine violated final outcomes on their actors.

Runs after the members' final assessment (:func:`populations.driver.run_search`). Every final member's
actor refines its own policies (:func:`pbt_econ.equilibrium.refine.refine`, in parallel); a member that adopted at
least one deviation gives a new outcome ``<member>~r`` (niche ``refine:<niche>``) with ε before and
after, its deviations join ``best_response.parquet``, and one lineage row of kind ``refine`` records the
adopted types in order.
"""

from __future__ import annotations

import dataclasses

from pbt_econ.core.tables import read_table, write_table
from pbt_econ.equilibrium.best_response import BestResponseRow
from pbt_econ.equilibrium.outcomes import OutcomeRow, outcome_row

__all__ = ["refine_outcomes"]


def refine_outcomes(config, population, outcomes: list[OutcomeRow], lineage_row_type) -> list[OutcomeRow]:
    """Refine every final member with a violated type-level check; returns the outcomes with the refined ones."""
    settings = config.population.refine
    episodes = settings.episodes or config.best_response.episodes
    if population.show_progress:
        print(f"refinement: up to {settings.rounds} rounds of {episodes} episodes per violated outcome ...",
              flush=True)
    by_member = {o.member_id: o for o in outcomes}
    refs = {m: a.refine.remote(settings.rounds, episodes) for m, a in sorted(population.actors.items())
            if m in by_member}
    layout = population.layout
    br_rows = [BestResponseRow(**r) for r in read_table(layout.best_response, "best_response").to_pylist()]
    lineage = [lineage_row_type(**r) for r in read_table(layout.lineage, "lineage").to_pylist()] \
        if layout.lineage.exists() else []
    extra = []
    for m, ref in refs.items():
        result = population.ray.get(ref)
        if not result.rounds:
            continue
        original = by_member[m]
        record = population.records[m]
        descriptors, se, rows = result.final
        child = f"{m}~r"
        rows = [dataclasses.replace(r, member_id=child) for r in rows]
        br_rows.extend(rows)
        out = outcome_row(member_id=child, niche=f"refine:{original.niche}", curriculum=original.curriculum,
                          seed=original.seed, episode=original.episode + len(result.rounds) * episodes,
                          hyperparameters=record.hyperparameters, descriptors=descriptors, best_response_rows=rows,
                          economy=config.economy_model, fixed_types=tuple(config.fixed), descriptor_se=se,
                          eval_seeds=config.analysis.eval_seeds)
        extra.append(dataclasses.replace(out, refined_from=m, refine_rounds=len(result.rounds),
                                         refine_ending=result.ending,
                                         epsilon_max_rel_before=original.epsilon_max_rel))
        changes = "; ".join(f"round {i + 1}: adopted {r.adopted}"
                            + f" (largest relative ε {r.epsilon_before:.4g})"
                            for i, r in enumerate(result.rounds)) + f"; {result.ending}"
        lineage.append(lineage_row_type(segment=-1, episode=original.episode, child=child, parent=m,
                                        niche=original.niche, child_fitness=descriptors[config.population.fitness],
                                        parent_fitness=original.descriptors[config.population.fitness],
                                        explore="refine", changes=changes, kind="refine"))
    outcomes = outcomes + extra
    write_table(br_rows, layout.best_response, "best_response", BestResponseRow)
    write_table(outcomes, layout.outcomes, "outcomes", OutcomeRow)
    write_table(lineage, layout.lineage, "lineage", lineage_row_type)
    return outcomes
