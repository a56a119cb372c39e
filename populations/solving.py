"""The search's solver stage (``population.solve``): solve the final outcomes that are not verified.

Runs after the members' final assessment (:func:`populations.driver.run_search`), on the members' own
actors, in parallel (:func:`pbt_econ.equilibrium.solver.solve`). A member whose Nash verdict is not
``verified`` is solved in place: check, pool its violated constant deviations, train against the pool,
check again. A member that trained at least one round gives a new outcome ``<member>~s`` (niche
``solve:<niche>``; ``refined_from``, ``refine_rounds``, ``refine_ending`` and ``epsilon_max_rel_before``
say where it came from and how the solver ended); its last check's rows join ``best_response.parquet``;
one lineage row of kind ``solve`` lists what was pooled; ``solve.parquet`` holds every round's
exploitability (the convergence curve, docs/outputs.md).
"""

from __future__ import annotations

from pbt_econ.core.tables import read_table, write_table
from pbt_econ.equilibrium.outcomes import OutcomeRow
from pbt_econ.equilibrium.solver import solve_rows
from populations.children import StageTables, add_child

__all__ = ["solve_outcomes"]


def solve_outcomes(config, population, outcomes: list[OutcomeRow], lineage_row_type) -> list[OutcomeRow]:
    """Solve every final member whose verdict is not ``verified``; returns the outcomes with the solved ones."""
    settings = config.population.solve
    episodes = settings.episodes or config.best_response.episodes
    todo = {o.member_id: o for o in outcomes if o.verdict != "verified" and "~" not in o.member_id}
    if population.show_progress:
        print(f"solver: up to {settings.rounds} rounds of {episodes} episodes for {len(todo)} outcome(s) "
              f"not verified ...", flush=True)
    refs = {m: a.solve.remote(settings.rounds, episodes, settings.share, settings.meta_solver,
                                   settings.entropy_factor)
            for m, a in sorted(population.actors.items()) if m in todo}
    tables = StageTables.read(population.layout, lineage_row_type)
    layout = population.layout
    solve_table = read_table(layout.solve, "solve").to_pylist() if layout.solve.exists() else []
    extra = []
    for m, ref in refs.items():
        result = population.ray.get(ref)
        solve_table += solve_rows(m, result)
        if population.show_progress:
            print(f"solver: {m} {result.ending} after {len(result.rounds) - 1} round(s)", flush=True)
        if result.chosen < 1:  # nothing trained, or no round did better: the outcome is the original one
            continue
        original = todo[m]
        pooled = "; ".join(f"round {r.round}: pooled {', '.join(r.added)}" for r in result.rounds if r.added)
        kept = "" if result.chosen == len(result.rounds) - 1 else f"; round {result.chosen} kept"
        extra.append(add_child(tables, config, population.records[m], original, result.final, suffix="s",
                               stage="solve", episode=result.rounds[result.chosen].member_episode,
                               rounds=result.chosen, ending=f"solve: {result.ending}",
                               changes=f"{pooled or 'nothing pooled'}; {result.ending}{kept}"))
    outcomes = outcomes + extra
    tables.write(outcomes)
    if solve_table:
        write_table(solve_table, layout.solve, "solve")
    return outcomes
