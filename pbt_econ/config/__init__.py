"""Configuration: the typed config tree (:mod:`.schema`, :mod:`.population`), YAML loading and overrides
(:mod:`.load`), resolution against the economy (:mod:`.resolve`), curricula (:mod:`.curriculum`) and
episode specs (:mod:`.episode`).

Layer: imports :mod:`pbt_econ.core` and :mod:`pbt_econ.economies` (protocol and registry) only.
``from pbt_econ.config import load_config, RunConfig, ...`` is the public surface (re-exported here).
"""

from pbt_econ.config.compare import ECONOMY_SECTIONS, config_differences  # noqa: F401
from pbt_econ.config.load import *  # noqa: F403  (the public surface, as before the layout change)
from pbt_econ.config.load import __all__ as _load_all

__all__ = [*_load_all, "ECONOMY_SECTIONS", "config_differences"]
