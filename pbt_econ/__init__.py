"""pbt_econ: a framework for searching the equilibria of multi-agent economies by reinforcement learning.

Layered, each layer importing only those below it (``tests/test_layout.py`` checks):

* :mod:`pbt_econ.core` - errors, seeds, files and tables, checkpoints, run-directory layout, statistics;
* :mod:`pbt_econ.economies` - the economy protocol (:mod:`pbt_econ.economies.protocol`), the registry
  and the built-in plug-ins (RBC, Cournot, coordination, growth, Aiyagari);
* :mod:`pbt_econ.config` - the typed run configuration and its YAML loader;
* :mod:`pbt_econ.learning` - one population member's learning: policies, rollouts, PPO, the member;
* :mod:`pbt_econ.equilibrium` - best response and certificates, verdicts, outcomes, refinement, the solver;
* :mod:`pbt_econ.studies` - studies built on the rest (the paper's reproduction, validation);

and on top the commands (``python -m pbt_econ.train``, ``.search``, ``.best_response``, ``.solve``,
``.validate``, ``.reproduce``). The population search itself is the :mod:`populations` package, its
analysis :mod:`analysis`. Importing ``pbt_econ`` starts neither Ray nor CUDA.
"""

__version__ = "0.1.0"
