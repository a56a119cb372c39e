"""The reproduction of the paper's experiments on the RBC model: presets and runs (:mod:`.plan`), running
them as Ray tasks (:mod:`.runner`); the claims are :mod:`pbt_econ.economies.rbc.claims`, the report
:mod:`pbt_econ.economies.rbc.reproduction`. The command is ``python -m pbt_econ.reproduce``."""
