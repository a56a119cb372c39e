"""Checks that run before any work starts: output paths, the device, the search settings.

The config dataclasses check each field's own range when they are built.
What needs the outside world or several fields at once is checked here, by
every CLI, before anything is written to ``--out`` or Ray is started. Each
check raises :class:`~pbt_econ.core.errors.ConfigError` naming the field or
file, what was given and what is allowed.
"""

from __future__ import annotations

from pathlib import Path

from pbt_econ.config.schema import RunConfig, get_path, replace_path
from pbt_econ.core.errors import ConfigError

__all__ = ["check_device", "check_output_dir", "check_output_file", "check_search", "pbt_notice"]


def _existing_ancestor(path: Path) -> Path:
    for parent in (path, *path.parents):
        if parent.exists():
            return parent
    return Path("/")


def check_output_dir(path: Path, flag: str = "--out") -> None:
    """``path`` is, or can become, a directory."""
    ancestor = _existing_ancestor(path)
    if ancestor == path and not path.is_dir():
        raise ConfigError(f"{flag} {path}: exists and is not a directory")
    if ancestor != path and not ancestor.is_dir():
        raise ConfigError(f"{flag} {path}: {ancestor} is a file, so no directory can be made there")


def check_output_file(path: Path, flag: str = "--out", suffix: str | None = None) -> None:
    """``path`` is, or can become, a file (its folder is, or can become, a directory)."""
    if path.is_dir():
        raise ConfigError(f"{flag} {path}: is a directory; give a file name" + (f" ending in {suffix}" if suffix else ""))
    if suffix and path.suffix != suffix:
        raise ConfigError(f"{flag} {path}: must end in {suffix}")
    check_output_dir(path.parent, flag=f"{flag} (folder of {path.name})")


def check_device(device: str) -> None:
    """A CUDA device is available when one is asked for (the format was checked with the config)."""
    if not device.startswith("cuda"):
        return
    import torch

    if not torch.cuda.is_available():
        raise ConfigError(f"device = {device!r}: no CUDA GPU is visible to torch (torch.cuda.is_available() is "
                          "False); use device=cpu, or install a CUDA build of torch on a GPU machine")
    index = int(device.split(":")[1]) if ":" in device else 0
    if index >= torch.cuda.device_count():
        raise ConfigError(f"device = {device!r}: only {torch.cuda.device_count()} GPU(s) visible (cuda:0 ...)")


def _metric_columns(config: RunConfig) -> tuple[str, ...]:
    """Numeric ``metrics.parquet`` columns of ``config``'s economy (a fitness or objective must be one)."""
    from pbt_econ.core.tables import schema_of
    from pbt_econ.learning.records import METRIC_COLUMN_ORDER, MetricsRow

    fixed = [f.name for f in schema_of(MetricsRow) if str(f.type) in ("double", "int64") and f.name != "episodes_per_s"]
    model = config.economy_model
    types = config.agent_types
    budgets = tuple(model.budgets(model.reset()) or {})
    per_type = [f"{k}_{t}" for k in METRIC_COLUMN_ORDER[1:] + ("lr",) for t in types]
    per_type += [f"mask_progress_{a.name}" for a in model.agent_types if a.mask_actions]
    per_type += [f"multiplier_{t}" for t in budgets] + [f"{t}_budget" for t in budgets]
    return tuple(fixed + [d.name for d in model.descriptors] + per_type)


def _check_storage(storage: str | None) -> None:
    if storage is None or storage.startswith("journal:"):
        if storage is not None and not storage.removeprefix("journal:"):
            raise ConfigError("population.storage = 'journal:': give a file, e.g. journal:runs/x/study.log")
        return
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    try:
        make_url(storage).get_dialect()
    except (ArgumentError, NoSuchModuleError, ValueError) as exc:
        raise ConfigError(f"population.storage = {storage!r}: not a usable database URL ({exc}); use "
                          "sqlite:///file.db, postgresql://..., mysql://... or journal:FILE") from None
    except ImportError as exc:
        raise ConfigError(f"population.storage = {storage!r}: its database driver is not installed ({exc})") from None


def check_search(config: RunConfig) -> None:
    """Fitness and objective metrics exist, the storage URL is usable, search bounds are valid values."""
    pop = config.population
    metrics = _metric_columns(config)
    if pop.fitness not in metrics:
        raise ConfigError(f"population.fitness = {pop.fitness!r}: not a numeric metrics column; "
                          f"choose from {', '.join(metrics)}")
    for i, objective in enumerate(pop.objectives):
        if objective.metric not in metrics:
            raise ConfigError(f"population.objectives[{i}].metric = {objective.metric!r}: not a numeric metrics "
                              f"column; choose from {', '.join(metrics)}")
    _check_storage(pop.storage)
    for path, param in config.search_space.items():
        current = get_path(config, path)
        integer = isinstance(current, int) and not isinstance(current, bool)
        for bound in ("low", "high"):
            value = getattr(param, bound)
            if integer and value != int(value):
                raise ConfigError(f"search_space.{path}.{bound} = {value!r}: {path} is an integer field")
            try:
                replace_path(config, path, int(value) if integer else float(value))
            except ConfigError as exc:
                raise ConfigError(f"search_space.{path}.{bound} = {value!r} is not a valid {path}: {exc}") from None
        if integer and not param.integer:
            raise ConfigError(f"search_space.{path}: {path} is an integer field; set integer: true")


def pbt_notice(config: RunConfig) -> str | None:
    """A line saying PBT is off, when the population settings turn it off; ``None`` otherwise."""
    pop = config.population
    if pop.size < 2:
        return "note: population.size = 1: PBT is off (one member trains alone, then best response and analysis)"
    if pop.quantile <= 0:
        return "note: population.quantile = 0: PBT is off (members train independently; Optuna still records them)"
    niches = {c.niche for c in config.member_curricula}
    if pop.size < 2 * len(niches):
        return (f"note: {pop.size} members in {len(niches)} niches: a niche with one member has no one to copy, "
                "so PBT acts only where a niche has two or more")
    return None
