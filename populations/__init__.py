"""populations: the population search - Ray member actors, PBT and Optuna.

Drives many :class:`pbt_econ.learning.member.Member` runs at once; the PBT decisions
are pure functions (:mod:`populations.pbt`). Ray plumbing: starting or joining
Ray and the member actors' calls in :mod:`populations.members`, the actor class
in :mod:`populations.actor`; the segment loop in :mod:`populations.driver`;
the quality-diversity archive in :mod:`populations.archive` and
:mod:`populations.quality_diversity`; refinement in :mod:`populations.refinement`.
"""
