"""``python -m pbt_econ.reproduce``: the paper's claims against ours, with statistics, in one command.

:mod:`.plan` (presets and runs), :mod:`.runner` (Ray tasks, resume),
:mod:`analysis.claims` (statistics and verdicts) and
:mod:`analysis.reproduction` (report and plots); docs/reproduce.md.
"""
