"""Economies as plug-ins: the :class:`Economy` protocol, the registry, and the built-in models.

``pbt_econ.economies.rbc`` is the paper's model; ``cournot``, ``growth``,
``coordination`` and ``aiyagari`` are economies whose equilibria are known (closed
forms, or dynamic programming for Aiyagari) and declare them
(:class:`KnownAnswer`; ``python -m pbt_econ.validate``). A user's own economy is an
:class:`EconomyEntry` named in YAML as ``economy: {kind: package.module:NAME}``
(docs/economies.md).
"""

from pbt_econ.economies.protocol import (
                                        AgentType,
                                        DescriptorSpec,
                                        Economy,
                                        EconomyEntry,
                                        KnownAnswer,
                                        Metric,
                                        Regime,
                                        RunView,
                                        Summary,
                                        Target,
)
from pbt_econ.economies.registry import build_economy, get_entry, kinds, register

__all__ = ["AgentType", "DescriptorSpec", "Economy", "EconomyEntry", "KnownAnswer", "Metric", "Regime", "RunView",
           "Summary", "Target", "build_economy", "get_entry", "kinds", "register"]
