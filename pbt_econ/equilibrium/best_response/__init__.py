"""Best response: is a learned outcome an ε-meta-equilibrium? (docs/model.md §6)

:mod:`.check` holds the algorithm, :mod:`.unilateral` single-agent deviations, :mod:`.certificates` the
exact certificates over constant actions, :mod:`.rows` the table rows. The command is
``python -m pbt_econ.best_response``.
"""

from pbt_econ.equilibrium.best_response.check import assess_outcome, best_response, deviate
from pbt_econ.equilibrium.best_response.rows import BestResponseReport, BestResponseRow

__all__ = ["BestResponseReport", "BestResponseRow", "assess_outcome", "best_response", "deviate"]
