"""Kept import path of the configuration errors: ``from pbt_econ.validation import ConfigError, check_number``
(docs/economies.md). They live in :mod:`pbt_econ.core.errors`.
"""

from pbt_econ.core.errors import ConfigError, check_number

__all__ = ["ConfigError", "check_number"]
