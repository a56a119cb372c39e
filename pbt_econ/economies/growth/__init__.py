"""A finite-horizon Brock-Mirman growth economy: households choose savings rates, closed-form optimum.

:mod:`.model` is the batched economy, :mod:`.solution` its closed forms
(docs/ground-truth.md, "Growth").
"""

from pbt_econ.economies.growth import solution
from pbt_econ.economies.growth.known import KNOWN
from pbt_econ.economies.growth.model import GrowthActions, GrowthConfig, GrowthEconomy, GrowthState, build
from pbt_econ.economies.protocol import EconomyEntry

__all__ = ["ENTRY", "KNOWN", "GrowthActions", "GrowthConfig", "GrowthEconomy", "GrowthState", "solution"]

ENTRY = EconomyEntry(kind="growth", config_class=GrowthConfig, build=build,
                     description="finite-horizon Brock-Mirman growth: log utility, y = z k^alpha, full depreciation",
                     known_answer=KNOWN)
