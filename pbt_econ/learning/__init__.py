"""Learning: policies, PPO, observation normalisation, the rollout, the member that owns one run's
learning state, metric records and pre-flight checks.

Layer: imports :mod:`pbt_econ.core`, :mod:`pbt_econ.economies` (protocol, registry) and
:mod:`pbt_econ.config`.
"""
