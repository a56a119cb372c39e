"""populations: the population search - Ray member actors, PBT and Optuna.

Drives many :class:`pbt_econ.member.Member` runs at once; the PBT decisions
are pure functions (:mod:`populations.pbt`), the Ray plumbing lives in
:mod:`populations.driver`.
"""
