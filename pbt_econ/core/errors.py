"""Config validation errors and the number check every config dataclass uses.

:class:`ConfigError` is what every bad input becomes: its message names the
field and says what is allowed. It lives here, below every other module, so
that the economy, curricula and the config tree can all raise it.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["ConfigError", "check_number"]


class ConfigError(ValueError):
    """A configuration value is missing, of the wrong type or out of range.

    The message always names the offending field (``economy.crra_eta``) and
    says what is allowed.
    """


def check_number(
    name: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    integer: bool = False,
) -> None:
    """Raise :class:`ConfigError` unless ``value`` is a finite number in range."""
    kind = "an integer" if integer else "a number"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{name} = {value!r}: must be {kind}")
    if integer and not isinstance(value, int):
        raise ConfigError(f"{name} = {value!r}: must be an integer")
    if not math.isfinite(value):
        raise ConfigError(f"{name} = {value!r}: must be finite")
    lo = "(" if low_open else "["
    hi = ")" if high_open else "]"
    allowed = f"{lo}{'-inf' if low is None else low}, {'inf' if high is None else high}{hi}"
    too_low = low is not None and (value <= low if low_open else value < low)
    too_high = high is not None and (value >= high if high_open else value > high)
    if too_low or too_high:
        raise ConfigError(f"{name} = {value!r}: must be in {allowed}")

