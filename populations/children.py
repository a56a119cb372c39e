"""New outcomes made from final members after the search (refinement ``<member>~r``, the solver ``<member>~s``).

One place builds a child's outcome row, its best-response rows and its lineage row, and reads and writes
the three tables the stages after the search extend (``best_response``, ``outcomes``, ``lineage``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from pbt_econ.core.tables import read_table, write_table
from pbt_econ.equilibrium.best_response import BestResponseRow
from pbt_econ.equilibrium.outcomes import OutcomeRow, outcome_row

__all__ = ["StageTables", "add_child"]


@dataclass
class StageTables:
    """The tables a stage after the search extends, read once and written once."""

    layout: object
    lineage_row_type: type
    best_response: list
    lineage: list

    @staticmethod
    def read(layout, lineage_row_type) -> StageTables:
        br = [BestResponseRow(**r) for r in read_table(layout.best_response, "best_response").to_pylist()]
        lineage = [lineage_row_type(**r) for r in read_table(layout.lineage, "lineage").to_pylist()] \
            if layout.lineage.exists() else []
        return StageTables(layout, lineage_row_type, br, lineage)

    def write(self, outcomes: list[OutcomeRow]) -> None:
        write_table(self.best_response, self.layout.best_response, "best_response", BestResponseRow)
        write_table(outcomes, self.layout.outcomes, "outcomes", OutcomeRow)
        write_table(self.lineage, self.layout.lineage, "lineage", self.lineage_row_type)


def add_child(tables: StageTables, config, record, original: OutcomeRow, final: tuple, *, suffix: str, stage: str,
              episode: int, rounds: int, ending: str, changes: str) -> OutcomeRow:
    """The outcome ``<member>~<suffix>`` of ``final = (descriptors, descriptor_se, rows)``; its rows and its
    lineage row (kind ``stage``) join ``tables``. ``refined_from``/``refine_*`` say where it came from."""
    descriptors, se, rows = final
    child = f"{original.member_id}~{suffix}"
    rows = [dataclasses.replace(r, member_id=child) for r in rows]
    tables.best_response.extend(rows)
    out = outcome_row(member_id=child, niche=f"{stage}:{original.niche}", curriculum=original.curriculum,
                      seed=original.seed, episode=episode, hyperparameters=record.hyperparameters,
                      descriptors=descriptors, best_response_rows=rows, economy=config.economy_model,
                      fixed_types=tuple(config.fixed), descriptor_se=se, eval_seeds=config.analysis.eval_seeds)
    fitness = config.population.fitness
    tables.lineage.append(tables.lineage_row_type(
        segment=-1, episode=original.episode, child=child, parent=original.member_id, niche=original.niche,
        child_fitness=descriptors[fitness], parent_fitness=original.descriptors[fitness], explore=stage,
        changes=changes, kind=stage))
    return dataclasses.replace(out, refined_from=original.member_id, refine_rounds=rounds, refine_ending=ending,
                               epsilon_max_rel_before=original.epsilon_max_rel)
