"""A Cournot market with linear demand: ``N`` firms, closed-form Nash, collusive and mixed-profile gains.

:mod:`.model` is the batched economy, :mod:`.solution` its closed forms
(docs/ground-truth.md, "Cournot").
"""

from pbt_econ.economies.cournot import solution
from pbt_econ.economies.cournot.known import KNOWN
from pbt_econ.economies.cournot.model import CournotActions, CournotConfig, CournotEconomy, CournotState, build
from pbt_econ.economies.protocol import EconomyEntry

__all__ = ["ENTRY", "KNOWN", "CournotActions", "CournotConfig", "CournotEconomy", "CournotState", "solution"]

ENTRY = EconomyEntry(kind="cournot", config_class=CournotConfig, build=build,
                     description="a Cournot market: N firms, linear inverse demand P = a - b Q, marginal cost c",
                     known_answer=KNOWN)
