"""Best response: is a learned outcome an ε-meta-equilibrium? (docs/model.md §6)

:mod:`.check` holds the algorithm, :mod:`.rows` the table rows, ``python -m pbt_econ.best_response``
(:mod:`.__main__`) the command line.
"""

from pbt_econ.best_response.check import assess_outcome, best_response, deviate
from pbt_econ.best_response.rows import BestResponseReport, BestResponseRow

__all__ = ["BestResponseReport", "BestResponseRow", "assess_outcome", "best_response", "deviate"]
