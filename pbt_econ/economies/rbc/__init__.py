"""The paper's real-business-cycle economy (Curry et al. 2022): consumers, firms, a government.

The model is :mod:`.model` (a pure batched ``step``), its constants
:mod:`.config`, its action grids :mod:`.spaces`, observations :mod:`.observe`,
fixed policies :mod:`.fixed`; :mod:`.plugin` exposes it to the generic core.
"""

from pbt_econ.economies.protocol import EconomyEntry
from pbt_econ.economies.rbc.config import EconomyConfig
from pbt_econ.economies.rbc.plugin import RBCEconomy, build
from pbt_econ.economies.rbc.spaces import SpacesConfig

__all__ = ["ENTRY", "EconomyConfig", "RBCEconomy"]

ENTRY = EconomyEntry(kind="rbc", config_class=EconomyConfig, build=build,
                     description="the paper's real-business-cycle economy: consumers, firms, a government",
                     spaces_class=SpacesConfig)
