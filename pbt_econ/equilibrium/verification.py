"""The one rule for "is it an equilibrium?": an outcome is verified by its verdicts, never by point estimates.

A verdict (docs/model.md §6) is ``verified`` only when the 95% interval of every deviation's gain lies
entirely below the type's tolerance. An outcome row (``outcomes.parquet``) is

* an **ε-equilibrium** (Nash) when its ``verdict`` is ``verified`` (every checked type's Nash verdict:
  unilateral deviations where measured);
* else an **ε-meta-equilibrium** (type-level, the paper's sense) when every checked type's
  ``verdict_type_<type>`` is ``verified``;
* else ``not verified``, whatever its point estimates say: ``passes_<type>`` and
  ``is_epsilon_equilibrium`` (gains within tolerance as point estimates) stay columns, but nothing
  labelled verified or ε-verified reads them.

:func:`verified_as` is what the search's console table (its ``verified`` column), the spectrum plot's
markers, the report (headline, regimes, unseen equilibria) and the ``verified_as`` columns of
``outcomes.parquet`` and ``equilibria.parquet`` show; :func:`cluster_verified_as` extends it to a
cluster (verified in a sense only when every member is).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["META", "NASH", "NOT_VERIFIED", "SHORT", "cluster_verified_as", "is_verified", "meta_verified",
           "nash_verified", "verified_as"]

NASH = "ε-equilibrium"
"""The outcome's Nash verdict is ``verified``."""
META = "ε-meta-equilibrium"
"""Every checked type's type-level verdict is ``verified`` (the paper's sense), the Nash verdict is not."""
NOT_VERIFIED = "not verified"
"""Neither verdict is ``verified`` (a point estimate within tolerance does not count)."""
SHORT = {NASH: "Nash", META: "meta", NOT_VERIFIED: "no"}
"""The console table's short names of the three answers."""


def _isnan(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def nash_verified(outcome: Mapping[str, Any]) -> bool:
    """The outcome's Nash verdict (``verdict``: unilateral deviations where measured) is ``verified``."""
    return outcome.get("verdict") == "verified"


def meta_verified(outcome: Mapping[str, Any], types: Iterable[str]) -> bool:
    """Every checked type's type-level verdict (``verdict_type_<type>``) is ``verified`` (the paper's sense);
    a type is checked when it has a verdict and a measured ``epsilon_abs_<type>``. Nothing checked: False."""
    checked = [t for t in types if outcome.get(f"verdict_type_{t}") not in (None, "")
               and not _isnan(outcome.get(f"epsilon_abs_{t}"))]
    return bool(checked) and all(outcome.get(f"verdict_type_{t}") == "verified" for t in checked)


def verified_as(outcome: Mapping[str, Any], types: Iterable[str]) -> str:
    """The one rule: :data:`NASH`, :data:`META` or :data:`NOT_VERIFIED` for one outcome row (a dict with
    the ``outcomes.parquet`` columns, or :func:`pbt_econ.core.tables.flatten` of an ``OutcomeRow``)."""
    if nash_verified(outcome):
        return NASH
    if meta_verified(outcome, types):
        return META
    return NOT_VERIFIED


def is_verified(outcome: Mapping[str, Any], types: Iterable[str]) -> bool:
    """Verified in at least one sense (:func:`verified_as` is not :data:`NOT_VERIFIED`)."""
    return verified_as(outcome, types) != NOT_VERIFIED


def cluster_verified_as(members: Iterable[Mapping[str, Any]], types: Iterable[str]) -> str:
    """A cluster's sense: :data:`NASH` when every member is Nash-verified, else :data:`META` when every
    member's type-level verdicts are (:func:`meta_verified`, the paper's sense), else :data:`NOT_VERIFIED`
    (so is an empty cluster, and one mixing Nash-only and type-level-only members)."""
    members, types = list(members), tuple(types)
    if members and all(nash_verified(m) for m in members):
        return NASH
    if members and all(meta_verified(m, types) for m in members):
        return META
    return NOT_VERIFIED
