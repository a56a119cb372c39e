"""The search's refinement stage (``population.refine``): refine violated final outcomes on their actors.

Runs after the members' final assessment (:func:`populations.driver.run_search`). Every final member's
actor refines its own policies (:func:`pbt_econ.equilibrium.refine.refine`, in parallel); a member that adopted at
least one deviation gives a new outcome ``<member>~r`` (niche ``refine:<niche>``) with ε before and
after, its deviations join ``best_response.parquet``, and one lineage row of kind ``refine`` records the
adopted types in order.
"""

from __future__ import annotations

from pbt_econ.equilibrium.outcomes import OutcomeRow
from populations.children import StageTables, add_child

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
    tables = StageTables.read(population.layout, lineage_row_type)
    extra = []
    for m, ref in refs.items():
        result = population.ray.get(ref)
        if not result.rounds:
            continue
        original = by_member[m]
        changes = "; ".join(f"round {i + 1}: adopted {r.adopted}"
                            + f" (largest relative ε {r.epsilon_before:.4g})"
                            for i, r in enumerate(result.rounds)) + f"; {result.ending}"
        extra.append(add_child(tables, config, population.records[m], original, result.final, suffix="r",
                               stage="refine", episode=original.episode + len(result.rounds) * episodes,
                               rounds=len(result.rounds), ending=result.ending, changes=changes))
    outcomes = outcomes + extra
    tables.write(outcomes)
    return outcomes
