"""``python -m pbt_econ.best_response`` (:mod:`.__main__`): the command. The algorithm lives in
:mod:`pbt_econ.equilibrium.best_response`; its public names stay importable from here.
"""

from pbt_econ.equilibrium.best_response import (
                                                BestResponseReport,
                                                BestResponseRow,
                                                assess_outcome,
                                                best_response,
                                                deviate,
)

__all__ = ["BestResponseReport", "BestResponseRow", "assess_outcome", "best_response", "deviate"]
