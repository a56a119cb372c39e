"""``python -m pbt_econ.reproduce``: the paper's claims against ours, with statistics, in one command.

The command (:mod:`.__main__`) composes the paper study's plan
(:mod:`pbt_econ.studies.paper.plan`: presets and runs), its runner
(:mod:`pbt_econ.studies.paper.runner`: runs as Ray tasks), its claims
(:mod:`pbt_econ.studies.paper.claims`: statistics and verdicts) and report
(:mod:`pbt_econ.studies.paper.report`: report and plots); docs/reproduce.md.
"""
