"""What the analysis needs to know about a run's economy, read from its config (no economy named here).

:meth:`Schema.of` builds it from a run config through the economy registry: descriptor names and
labels, agent types, regime rules, and optional presentation hints an economy may declare
(``relations``: pairs of descriptors whose across-outcome r² the report gives; ``spectrum_axes``:
two descriptor pairs for the spectrum plot; ``report_columns``: descriptors in the report's table).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pbt_econ.economies.protocol import Regime

__all__ = ["Schema", "regime_of"]


@dataclass(frozen=True)
class Schema:
    descriptors: tuple[str, ...]
    labels: dict[str, str]
    """Descriptor -> axis label (label and unit)."""
    types: tuple[str, ...]
    regimes: tuple[Regime, ...]
    relations: tuple[tuple[str, str, str], ...]
    spectrum_axes: tuple[tuple[str, str], ...]
    report_columns: tuple[str, ...]
    fitness: str
    counts: dict[str, int]
    """Agents of each type in one economy copy."""

    @staticmethod
    def of(config) -> Schema:
        """The schema of ``config``'s economy (a :class:`~pbt_econ.config.schema.RunConfig`)."""
        from pbt_econ.economies.registry import describe

        econ = describe(config.economy, config.spaces)
        names = tuple(d.name for d in econ.descriptors)
        return Schema(
            descriptors=names,
            labels={d.name: f"{d.label} ({d.unit})" for d in econ.descriptors},
            types=tuple(a.name for a in econ.agent_types),
            regimes=tuple(econ.regimes),
            relations=tuple(econ.relations()),
            spectrum_axes=tuple(econ.spectrum_axes()),
            report_columns=tuple(econ.report_columns()),
            fitness=econ.fitness_descriptor,
            counts={a.name: a.count for a in econ.agent_types},
        )

    def regime(self, descriptors: Mapping[str, float]) -> str:
        return regime_of(descriptors, self.regimes)


def regime_of(descriptors: Mapping[str, float], regimes: tuple[Regime, ...]) -> str:
    """The first regime whose rule holds (``"other"`` if none does)."""
    for r in regimes:
        if r.test(descriptors):
            return r.name
    return "other"
