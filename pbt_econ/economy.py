"""The RBC economy's documented import path (the model lives in :mod:`pbt_econ.economies.rbc`).

``from pbt_econ.economy import Economy, EconomyConfig, EconomyState, Actions`` keeps working.
"""

from pbt_econ.economies.rbc.config import EconomyConfig
from pbt_econ.economies.rbc.model import Actions, Economy, EconomyState, Rewards, StepInfo

__all__ = ["Actions", "Economy", "EconomyConfig", "EconomyState", "Rewards", "StepInfo"]
