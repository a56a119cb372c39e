"""The one rule for "is it an equilibrium?", as analysis uses it: :mod:`pbt_econ.equilibrium.verification`
(it lives with the verdicts, so that the search's quality-diversity archive reads the same rule)."""

from __future__ import annotations

from pbt_econ.equilibrium.verification import (
    META,
    NASH,
    NOT_VERIFIED,
    SHORT,
    cluster_verified_as,
    is_verified,
    meta_verified,
    nash_verified,
    verified_as,
)

__all__ = ["META", "NASH", "NOT_VERIFIED", "SHORT", "cluster_verified_as", "is_verified", "meta_verified",
           "nash_verified", "verified_as"]
