"""The YAML loader of the typed run configuration, and the one place to import its names from.

One tree of frozen dataclasses (:class:`RunConfig`; sections in :mod:`pbt_econ.config.schema`,
``.training``, ``.curriculum``, ``.population``; the economy's own config class chosen by
``economy.kind`` from :mod:`pbt_econ.economies.registry`) holds everything a run needs. YAML files
hold values only; :func:`load_config` reads them (a shipped config by name, a ``base:`` file
underneath, ``--set`` overrides on top) and validates them into the tree; :func:`load_curriculum`
does the same for one curriculum, :func:`config_to_dict` / :func:`dump_config` turn a tree back into
plain data. Unknown keys, wrong types and out-of-range values stop here with a
:class:`~pbt_econ.core.errors.ConfigError` that names the file and the field
(``configs/x.yaml: training.consumer.lr = -1: must be in (0, inf]``), before anything starts.

The loader is a small generic walker over dataclass type hints rather than a
schema library: the dataclasses are the single source of truth for names,
types and defaults, and ``__post_init__`` checks ranges where they live.
"""

from __future__ import annotations

import contextvars
import copy
import dataclasses
import difflib
import types
import typing
from pathlib import Path
from typing import Any, Literal

import yaml

from pbt_econ.config.curriculum import Curriculum
from pbt_econ.config.schema import (
    DEFAULT_KIND,
    AgentTrainingConfig,
    AnalysisConfig,
    ArchiveConfig,
    BestResponseConfig,
    NoPonziConfig,
    Objective,
    PopulationConfig,
    RunConfig,
    SearchParam,
    TrainingConfig,
    get_path,
    replace_path,
)
from pbt_econ.core.errors import ConfigError
from pbt_econ.core.yaml_io import safe_load_unique

__all__ = [
    "AgentTrainingConfig",
    "AnalysisConfig",
    "ArchiveConfig",
    "BestResponseConfig",
    "CONFIG_DIR",
    "DEFAULT_CONFIG",
    "NoPonziConfig",
    "Objective",
    "PopulationConfig",
    "RunConfig",
    "SearchParam",
    "TrainingConfig",
    "apply_overrides",
    "config_from_dict",
    "config_to_dict",
    "dump_config",
    "get_path",
    "load_config",
    "load_curriculum",
    "replace_path",
]

CONFIG_DIR = Path(__file__).resolve().parents[1] / "configs"
"""The shipped configs and curricula: package data (``pbt_econ/configs``; the repository's ``configs/``
is a link to it), so a regular install finds them from any directory."""
DEFAULT_CONFIG = CONFIG_DIR / "default.yaml"


# ------------------------------------------------------------------ loading
def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", str(tp))


def _convert(tp: Any, value: Any, where: str) -> Any:
    """Convert one YAML value to the annotated type, or raise naming ``where``."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is Curriculum:
        return load_curriculum(value, where)
    if origin in (typing.Union, types.UnionType):
        if value is None:
            if type(None) in args:
                return None
            raise ConfigError(f"{where} = null: a value is required")
        errors = []
        for option in args:
            if option is type(None):
                continue
            try:
                return _convert(option, value, where)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(errors[0] if len(errors) == 1 else f"{where} = {value!r}: must be one of "
                          + ", ".join(_type_name(a) for a in args))
    if origin is Literal:
        if value not in args:
            raise ConfigError(f"{where} = {value!r}: must be one of {', '.join(map(repr, args))}")
        return value
    if dataclasses.is_dataclass(tp):
        if isinstance(value, tp):
            return value
        return _build(tp, value, where)
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where} = {value!r}: must be a list")
        item = args[0]
        return tuple(_convert(item, v, f"{where}[{i}]") for i, v in enumerate(value))
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where} = {value!r}: must be a mapping")
        return {str(k): _convert(args[1], v, f"{where}.{k}") for k, v in value.items()}
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where} = {value!r}: must be true or false")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where} = {value!r}: must be an integer")
        return value
    if tp is float:
        if isinstance(value, str):  # YAML reads 1e-3 (no dot) as a string
            try:
                value = float(value)
            except ValueError:
                pass
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where} = {value!r}: must be a number")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where} = {value!r}: must be a string")
        return value
    return value


_AGENT_DEFAULTS: contextvars.ContextVar[dict[str, dict[str, float]] | None] = contextvars.ContextVar(
    "agent_training_defaults", default=None)
"""The economy's per-type training defaults while a run config is being built (see :func:`_build_run`)."""


def _build(cls: type, data: Any, where: str):
    """Build dataclass ``cls`` from a mapping; unknown keys are errors.

    A class with a ``PER_TYPE_FIELD`` (training, curricula) gathers mapping-valued keys that are not
    fields into that field, keyed by agent type; the run config checks them against the economy.
    """
    if cls is RunConfig:
        return _build_run(data, where)
    if not isinstance(data, dict):
        raise ConfigError(f"{where or 'config'} = {data!r}: must be a mapping")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls) if f.init]
    per_type = getattr(cls, "PER_TYPE_FIELD", None)
    prefix = f"{where}." if where else ""
    kwargs, agents = {}, {}
    for key, value in data.items():
        if key in names and key != per_type:
            kwargs[key] = _convert(hints[key], value, f"{prefix}{key}")
        elif per_type and isinstance(value, dict):
            item = typing.get_args(hints[per_type])[1]
            defaults = (_AGENT_DEFAULTS.get() or {}).get(str(key), {}) if item is AgentTrainingConfig else {}
            agents[str(key)] = _convert(item, {**defaults, **value}, f"{prefix}{key}")
        else:
            allowed = [n for n in names if n != per_type] + (["<agent type>"] if per_type else [])
            close = difflib.get_close_matches(str(key), names, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise ConfigError(f"{prefix}{key}: unknown field{hint}; allowed: {', '.join(allowed)}")
    if agents:
        kwargs[per_type] = agents
    try:
        return cls(**kwargs)
    except ConfigError as exc:
        raise ConfigError(f"{prefix}{exc}") from None
    except TypeError as exc:  # a required field is missing
        raise ConfigError(f"{where or 'config'}: {exc}") from None


def _build_run(data: Any, where: str) -> RunConfig:
    """A :class:`RunConfig`: the economy section first (its ``kind`` picks the config class and the
    per-type training defaults), then everything else."""
    if not isinstance(data, dict):
        raise ConfigError(f"{where or 'config'} = {data!r}: must be a mapping")
    from pbt_econ.economies.registry import describe, get_entry

    data = dict(data)
    section = data.pop("economy", {}) or {}
    if not isinstance(section, dict):
        raise ConfigError(f"economy = {section!r}: must be a mapping")
    entry = get_entry(section.get("kind", DEFAULT_KIND))
    economy = _build(entry.config_class, section, "economy")
    if data.get("spaces") not in (None, {}) and entry.spaces_class is None:
        raise ConfigError(f"spaces: the {entry.kind!r} economy has no separate action grids (its grids are "
                          "fields of economy:)")
    spaces = _convert(entry.spaces_class, data.pop("spaces", {}) or {}, "spaces") if entry.spaces_class else None
    info = describe(economy, spaces)
    token = _AGENT_DEFAULTS.set({a.name: dict(a.training_defaults) for a in info.agent_types})
    try:
        hints = typing.get_type_hints(RunConfig)
        names = [f.name for f in dataclasses.fields(RunConfig) if f.init]
        kwargs: dict[str, Any] = {"economy": economy, "spaces": spaces}
        for key, value in data.items():
            if key not in names:
                close = difflib.get_close_matches(str(key), names, n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                raise ConfigError(f"{key}: unknown field{hint}; allowed: {', '.join(names)}")
            kwargs[key] = _convert(hints[key], value, key)
        try:
            return RunConfig(**kwargs)
        except TypeError as exc:
            raise ConfigError(f"config: {exc}") from None
    finally:
        _AGENT_DEFAULTS.reset(token)


def _read_yaml(path: Path) -> Any:
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror})") from None
    try:
        return safe_load_unique(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None


def _deep_merge(base: dict, overrides: dict) -> dict:
    merged = copy.deepcopy(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _curriculum_file(name: str, where: str) -> Path:
    path = Path(name)
    if path.suffix in (".yaml", ".yml"):
        if not path.exists():
            raise ConfigError(f"{where} = {name!r}: file not found")
        return path
    path = CONFIG_DIR / "curricula" / f"{name}.yaml"
    if not path.exists():
        known = sorted(p.stem for p in (CONFIG_DIR / "curricula").glob("*.yaml"))
        raise ConfigError(f"{where} = {name!r}: unknown curriculum; built in: {', '.join(known)}, or a path to a .yaml file")
    return path


def load_curriculum(value: Any, where: str = "curriculum") -> Curriculum:
    """A curriculum from a built-in name, a YAML path, or a mapping.

    A mapping may name ``base`` (a built-in name or path) and override any of
    its fields: ``{base: paper, time_scale: 0.005}``.
    """
    if isinstance(value, Curriculum):
        return value
    if isinstance(value, str):
        path = _curriculum_file(value, where)
        data = _read_yaml(path)
        try:
            return _build(Curriculum, data, "")
        except ConfigError as exc:
            raise ConfigError(f"{path}: {exc}") from None
    if isinstance(value, dict):
        data = dict(value)
        base = data.pop("base", None)
        if base is not None:
            if not isinstance(base, str):
                raise ConfigError(f"{where}.base = {base!r}: must be a curriculum name or path")
            data = _deep_merge(_read_yaml(_curriculum_file(base, f"{where}.base")), data)
        return _build(Curriculum, data, where)
    raise ConfigError(f"{where} = {value!r}: must be a curriculum name, a .yaml path or a mapping")


def apply_overrides(data: dict, overrides: list[str]) -> dict:
    """Apply ``--set a.b.c=value`` overrides (values parsed as YAML) to raw config data."""
    data = copy.deepcopy(data)
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"--set {item!r}: must look like section.field=value")
        try:
            value = safe_load_unique(raw)
        except yaml.YAMLError as exc:
            raise ConfigError(f"--set {item!r}: value is not valid YAML: {exc}") from None
        parts = key.split(".")
        if parts[0] == "search_space" and len(parts) > 1:
            # The search space is keyed by dotted config paths: search_space.<path>[.low|.high|.log|.integer]
            field = parts[-1] if parts[-1] in ("low", "high", "log", "integer") and len(parts) > 2 else None
            path = ".".join(parts[1:-1] if field else parts[1:])
            space = data.setdefault("search_space", {})
            if field:
                if not isinstance(space.get(path, {}), dict):
                    raise ConfigError(f"--set {item!r}: search_space.{path} is not a range mapping")
                space.setdefault(path, {})[field] = value
            else:
                space[path] = value
            continue
        node = data
        for i, part in enumerate(parts[:-1]):
            child = node.get(part)
            if child is None or isinstance(child, str):
                child = {"base": child} if isinstance(child, str) else {}
                node[part] = child
            if not isinstance(child, dict):
                where = ".".join(parts[: i + 1])
                raise ConfigError(f"--set {item!r}: {where} is a value ({child!r}), not a section with fields")
            node = child
        node[parts[-1]] = value
    return data


def _resolve_base(data: dict, path: Path, seen: tuple[Path, ...]) -> dict:
    """Merge a run config over the file named by its ``base:`` key (relative to ``path``)."""
    if "base" not in data:
        return data
    data = dict(data)
    base = data.pop("base")
    if not isinstance(base, str):
        raise ConfigError(f"{path}: base = {base!r}: must be the path of another config file")
    base_path = (path.parent / base).resolve()
    if base_path in seen:
        raise ConfigError(f"{path}: base = {base!r}: configs extend each other in a cycle")
    base_data = _read_yaml(base_path)
    if not isinstance(base_data, dict):
        raise ConfigError(f"{base_path}: must hold a mapping of sections")
    return _deep_merge(_resolve_base(base_data, base_path, seen + (base_path,)), data)


def resolve_config_path(path: str | Path | None) -> Path:
    """A config file: ``path`` itself if it exists, else the shipped config of that name."""
    if path is None:
        return DEFAULT_CONFIG
    path = Path(path)
    if path.exists():
        return path
    name = path.name if path.suffix == ".yaml" else f"{path.name}.yaml"
    shipped = CONFIG_DIR / name
    if shipped.exists() and (len(path.parts) == 1 or path.parent.name == "configs"):
        return shipped
    return path


def load_config(path: str | Path | None = None, overrides: list[str] | None = None) -> RunConfig:
    """Read and validate a run config (default: the shipped ``default.yaml``).

    ``path`` is a file, or the name of a shipped config (``paper-open-cpu`` or ``configs/paper-open-cpu.yaml``),
    which is found in the installed package when no such file exists here.
    """
    path = resolve_config_path(path)
    data = _read_yaml(path)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: must hold a mapping of sections, not {type(data).__name__}")
    data = _resolve_base(data, path, seen=(path.resolve(),))
    try:
        data = apply_overrides(data, overrides or [])
        return _build(RunConfig, data, "")
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None


def config_from_dict(data: dict) -> RunConfig:
    """Validate a raw mapping (e.g. a resolved ``config.yaml``) into a :class:`RunConfig`."""
    return _build(RunConfig, data, "")


def config_to_dict(config: Any) -> Any:
    """The plain-data form of a config tree (YAML-ready; round-trips through :func:`config_from_dict`)."""
    if dataclasses.is_dataclass(config):
        per_type = getattr(config, "PER_TYPE_FIELD", None)
        out = {f.name: config_to_dict(getattr(config, f.name)) for f in dataclasses.fields(config)
               if f.name != per_type}
        if per_type:
            out.update({t: config_to_dict(v) for t, v in getattr(config, per_type).items()})
        return out
    if isinstance(config, (list, tuple)):
        return [config_to_dict(v) for v in config]
    if isinstance(config, dict):
        return {k: config_to_dict(v) for k, v in config.items()}
    return config


def dump_config(config: RunConfig) -> str:
    return yaml.safe_dump(config_to_dict(config), sort_keys=False)
