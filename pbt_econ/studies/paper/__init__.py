"""The paper's experiments on the RBC economy: presets and run plan (:mod:`.plan`), runs as Ray tasks
(:mod:`.runner`), claims with statistics and verdicts (:mod:`.claims`), the report and plots
(:mod:`.report`). ``python -m pbt_econ.reproduce`` composes them (docs/reproduce.md).
"""
