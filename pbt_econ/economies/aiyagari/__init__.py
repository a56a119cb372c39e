"""An Aiyagari (1994) economy: households save a share of cash on hand; its stationary equilibrium is known.

:mod:`.model` is the batched economy, :mod:`.markov` the labour chains, :mod:`.solution`
the stationary equilibria (the learners' share grid and Aiyagari's continuous choice),
:mod:`.certify` policy certificates (Euler errors, one-step Bellman gains), :mod:`.known`
the known answer (docs/ground-truth.md).
"""

from pbt_econ.economies.aiyagari import certify, markov, solution
from pbt_econ.economies.aiyagari.known import KNOWN
from pbt_econ.economies.aiyagari.model import (
    AiyagariActions,
    AiyagariConfig,
    AiyagariEconomy,
    AiyagariState,
    build,
)
from pbt_econ.economies.protocol import EconomyEntry

__all__ = ["ENTRY", "AiyagariActions", "AiyagariConfig", "AiyagariEconomy", "AiyagariState", "certify", "markov",
           "solution"]

ENTRY = EconomyEntry(kind="aiyagari", config_class=AiyagariConfig, build=build,
                     description="Aiyagari (1994): uninsured labour risk, borrowing limit 0, r and w from aggregate K",
                     known_answer=KNOWN)
