"""The registry of economies: ``economy: {kind: NAME}`` in YAML picks one.

``kind`` is one of

* a registered name (``rbc``, ``cournot``, ``growth``, ``coordination``, or any name
  a package registers under the ``pbt_econ.economies`` entry-point group);
* a dotted path ``package.module:NAME`` to an :class:`EconomyEntry` (a user's
  own economy, no change to pbt-econ needed).

Built-in economies are imported lazily, on first lookup, so that importing
``pbt_econ`` does not import every model.
"""

from __future__ import annotations

import importlib
from importlib import metadata

from pbt_econ.core.errors import ConfigError
from pbt_econ.economies.protocol import Economy, EconomyEntry

__all__ = ["BUILTIN", "build_economy", "describe", "get_entry", "kinds", "register"]

BUILTIN = {
    "rbc": "pbt_econ.economies.rbc:ENTRY",
    "cournot": "pbt_econ.economies.cournot:ENTRY",
    "growth": "pbt_econ.economies.growth:ENTRY",
    "coordination": "pbt_econ.economies.coordination:ENTRY",
    "aiyagari": "pbt_econ.economies.aiyagari:ENTRY",
}
"""Built-in kinds and where their entries live."""

_REGISTERED: dict[str, EconomyEntry] = {}
ENTRY_POINT_GROUP = "pbt_econ.economies"


def register(entry: EconomyEntry) -> EconomyEntry:
    """Register ``entry`` under ``entry.kind`` (returns it, so it can be used at module level)."""
    if not isinstance(entry, EconomyEntry):
        raise TypeError(f"register: expected an EconomyEntry, got {type(entry).__name__}")
    _REGISTERED[entry.kind] = entry
    return entry


def _load(target: str, where: str) -> EconomyEntry:
    module_name, sep, attr = target.partition(":")
    if not sep or not module_name or not attr:
        raise ConfigError(f"{where} = {target!r}: a dotted path must look like 'package.module:NAME'")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f"{where} = {target!r}: cannot import {module_name!r} ({exc})") from None
    try:
        entry = getattr(module, attr)
    except AttributeError:
        raise ConfigError(f"{where} = {target!r}: module {module_name!r} has no {attr!r}") from None
    if not isinstance(entry, EconomyEntry):
        raise ConfigError(f"{where} = {target!r}: is a {type(entry).__name__}, not a "
                          "pbt_econ.economies.EconomyEntry")
    return entry


def get_entry(kind: str, where: str = "economy.kind") -> EconomyEntry:
    """The entry of ``kind`` (a registered name, an entry point or ``package.module:NAME``)."""
    if not isinstance(kind, str) or not kind:
        raise ConfigError(f"{where} = {kind!r}: must be an economy name or 'package.module:NAME'")
    if kind in _REGISTERED:
        return _REGISTERED[kind]
    if kind in BUILTIN:
        return register(_load(BUILTIN[kind], where))
    if ":" in kind:
        return _load(kind, where)
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        if ep.name == kind:
            entry = ep.load()
            if not isinstance(entry, EconomyEntry):
                raise ConfigError(f"{where} = {kind!r}: entry point {ep.value!r} is not an EconomyEntry")
            return register(entry)
    raise ConfigError(f"{where} = {kind!r}: unknown economy; known: {', '.join(kinds())} "
                      "(or give 'package.module:NAME')")


def kinds() -> tuple[str, ...]:
    """Every name a config may use without a dotted path."""
    names = set(BUILTIN) | set(_REGISTERED)
    names |= {ep.name for ep in metadata.entry_points(group=ENTRY_POINT_GROUP)}
    return tuple(sorted(names))


def build_economy(run_config, batch_size: int, device="cpu", dtype=None) -> Economy:
    """The economy of ``run_config.economy`` with ``batch_size`` copies on ``device``."""
    import torch

    entry = get_entry(run_config.economy.kind)
    return entry.build(run_config, batch_size, torch.device(device), dtype or torch.float32)


_DESCRIBED: dict = {}


def describe(economy_config, spaces=None) -> Economy:
    """A one-copy CPU instance of the economy of ``economy_config`` (read its agent types and descriptors).

    Cached per (hashable) config: the run config calls this every time it is built or replaced.
    """
    import types

    import torch

    try:
        key = (economy_config, spaces)
        hash(key)
    except TypeError:
        key = None
    if key is not None and key in _DESCRIBED:
        return _DESCRIBED[key]
    entry = get_entry(economy_config.kind)
    if not isinstance(economy_config, entry.config_class):
        raise ConfigError(f"economy: a {type(economy_config).__name__} is not the config of kind "
                          f"{entry.kind!r} ({entry.config_class.__name__})")
    run = types.SimpleNamespace(economy=economy_config, spaces=spaces)
    economy = entry.build(run, 1, torch.device("cpu"), torch.float32)
    if key is not None:
        if len(_DESCRIBED) > 64:
            _DESCRIBED.clear()
        _DESCRIBED[key] = economy
    return economy
