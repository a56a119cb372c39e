"""A technology-adoption game with increasing returns: two pure equilibria and an unstable mixed one.

:mod:`.model` is the batched economy, :mod:`.solution` its closed forms
(docs/ground-truth.md, "Coordination").
"""

from pbt_econ.economies.coordination import solution
from pbt_econ.economies.coordination.known import KNOWN
from pbt_econ.economies.coordination.model import (
    CoordinationActions,
    CoordinationConfig,
    CoordinationEconomy,
    CoordinationState,
    build,
)
from pbt_econ.economies.protocol import EconomyEntry

__all__ = ["ENTRY", "KNOWN", "CoordinationActions", "CoordinationConfig", "CoordinationEconomy", "CoordinationState",
           "solution"]

ENTRY = EconomyEntry(kind="coordination", config_class=CoordinationConfig, build=build,
                     description="technology adoption with increasing returns: adopters earn theta m / N - kappa",
                     known_answer=KNOWN)
