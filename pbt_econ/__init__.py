"""pbt_econ: the RBC economy and one population member's learning.

Holds the batched economy (:mod:`pbt_econ.economy`), action spaces and
observations, policies, curricula, episode specs, rollouts and updates,
the member that owns learning state, best response, the typed
configuration and the command-line entry points. Importing it starts neither
Ray nor CUDA.
"""

__version__ = "0.1.0"
