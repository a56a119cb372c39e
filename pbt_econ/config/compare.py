"""The one checkpoint/config compatibility check (``--resume``, loading a checkpoint into a config).

A checkpoint may be loaded into a config only from the same economy and grids
(:data:`ECONOMY_SECTIONS`); a ``train --resume`` may change only a few fields
(:data:`pbt_econ.learning.training.RESUMABLE_CHANGES`). Both ask :func:`config_differences`.
"""

from __future__ import annotations

from typing import Any

from pbt_econ.config.load import config_to_dict

__all__ = ["ECONOMY_SECTIONS", "config_differences"]


ECONOMY_SECTIONS = ("economy", "spaces")
"""The sections a checkpoint must share with the config it is loaded into: the economy and its grids."""


def config_differences(theirs: Any, mine: Any, sections: tuple[str, ...] | None = None,
                       allowed: tuple[str, ...] = (), labels: tuple[str, str] = ("in the run", "given")) -> list[str]:
    """The one checkpoint/config compatibility check: every field where two run configs differ.

    ``theirs`` (a checkpoint's or a run's own config) and ``mine`` (the one given now); ``sections``
    (e.g. ``("economy", "spaces")``: the economy and its grids) limits the comparison; fields under an
    ``allowed`` path may differ. Each difference reads ``path = <theirs> <labels[0]>, <mine> <labels[1]>``.
    """
    a, b = config_to_dict(theirs), config_to_dict(mine)
    if sections is not None:
        a, b = {k: a.get(k) for k in sections}, {k: b.get(k) for k in sections}
    return [d for d in _differences(a, b, labels) if not any(d == f or d.startswith((f + ".", f + " "))
                                                             for f in allowed)]


def _differences(theirs: Any, mine: Any, labels: tuple[str, str], prefix: str = "") -> list[str]:
    if isinstance(theirs, dict) and isinstance(mine, dict):
        out = []
        for key in sorted(set(theirs) | set(mine)):
            out += _differences(theirs.get(key), mine.get(key), labels, f"{prefix}{key}.")
        return out
    return [] if theirs == mine else [f"{prefix[:-1]} = {theirs!r} {labels[0]}, {mine!r} {labels[1]}"]
