"""What ``python -m pbt_econ.reproduce`` runs: scale presets and the list of independent runs.

A preset (``pbt_econ/configs/reproduce/<scale>.yaml``, fields in docs/reproduce.md)
names the run configs of the open and the closed economy, overrides, the
number of seeds, the curricula and the fixed-tax grid. :func:`plan_runs`
expands it into :class:`RunSpec` s, one per training run:

* ``curricula``: every curriculum x {open, closed} x seed, every type learning;
* ``fixed_tax``: the open economy with the government fixed at each
  (income tax, corporate tax) grid point (``fixed:``, docs/model.md §8),
  consumers and firms learning, ``fixed_tax.seeds`` seeds each.

:func:`run_config` builds each run's :class:`~pbt_econ.config.load.RunConfig`; every
config is built (and so validated) before the first run starts.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from pbt_econ.config.load import CONFIG_DIR, RunConfig, load_config, load_curriculum, safe_load_unique
from pbt_econ.core.errors import ConfigError, check_number

__all__ = ["SCALES", "FixedTaxPreset", "ReproducePreset", "RunSpec", "load_preset", "plan_runs", "run_config"]

SCALES = ("small", "cpu", "paper")
PRESET_DIR = CONFIG_DIR / "reproduce"


@dataclass(frozen=True)
class FixedTaxPreset:
    """The fixed-tax baselines (``fixed_tax:``)."""

    income_tax: tuple[float, ...] = (0.2, 0.4, 0.6)
    corporate_tax: tuple[float, ...] = (0.2, 0.6, 0.8)
    seeds: int = 2
    curriculum: str = "paper"
    """Curriculum of the fixed-tax runs; their learned counterpart is the open economy's runs with it."""

    def __post_init__(self) -> None:
        check_number("seeds", self.seeds, low=0, integer=True)
        if self.seeds and not (self.income_tax and self.corporate_tax):
            raise ConfigError("income_tax / corporate_tax: list at least one rate each (or set seeds: 0)")


@dataclass(frozen=True)
class ReproducePreset:
    """One scale of the reproduction (a file in ``pbt_econ/configs/reproduce/``)."""

    description: str
    open_config: str
    """Run config of the open economy (a shipped name or a file)."""
    closed_config: str
    overrides: tuple[str, ...] = ()
    """``key=value`` overrides applied to both economies' configs."""
    closed_overrides: tuple[str, ...] = ()
    """Overrides applied to the closed economy's config only."""
    seeds: int = 6
    """Seeds per (curriculum, economy); ``--seeds`` replaces it."""
    curricula: tuple[str, ...] = ("paper", "none", "firms-first")
    fixed_tax: FixedTaxPreset = field(default_factory=FixedTaxPreset)
    cpus_per_run: float = 1.0
    gpus_per_run: float = 0.0

    def __post_init__(self) -> None:
        check_number("seeds", self.seeds, low=1, integer=True)
        check_number("cpus_per_run", self.cpus_per_run, low=0)
        check_number("gpus_per_run", self.gpus_per_run, low=0)
        if "paper" not in self.curricula or "none" not in self.curricula:
            raise ConfigError(f"curricula = {list(self.curricula)}: must include 'paper' and 'none' (the paper's "
                              "first claim compares them)")


@dataclass(frozen=True)
class RunSpec:
    """One independent training run of the reproduction."""

    run_id: str
    experiment: str
    """``curricula`` or ``fixed_tax``."""
    curriculum: str
    economy: str
    """``open`` or ``closed``."""
    seed: int
    income_tax: float | None = None
    """The government's fixed income tax (``None``: the government learns)."""
    corporate_tax: float | None = None


def load_preset(scale: str | Path) -> tuple[ReproducePreset, Path]:
    """A shipped preset by name (``small``, ``cpu``, ``paper``) or a preset file."""
    from pbt_econ.config.load import _build

    path = PRESET_DIR / f"{scale}.yaml" if str(scale) in SCALES else Path(scale)
    if not path.is_file():
        raise ConfigError(f"--scale {scale}: not one of {', '.join(SCALES)} and not a preset file")
    try:
        data = safe_load_unique(path.read_text())
    except Exception as exc:  # noqa: BLE001 - YAML errors of several kinds
        raise ConfigError(f"{path}: not valid YAML ({exc})") from None
    try:
        return _build(ReproducePreset, data, ""), path
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None


def plan_runs(preset: ReproducePreset, seeds: int | None = None, first_seed: int = 0) -> list[RunSpec]:
    """Every run, in a fixed order (curricula first, then the fixed-tax grid)."""
    n = seeds if seeds is not None else preset.seeds
    if n < 1:
        raise ConfigError(f"--seeds {n}: must be at least 1")
    runs = []
    for economy in ("open", "closed"):
        for curriculum in preset.curricula:
            for k in range(n):
                seed = first_seed + k
                runs.append(RunSpec(f"curricula-{economy}-{curriculum}-s{seed}", "curricula", curriculum, economy, seed))
    ft = preset.fixed_tax
    for income in ft.income_tax:
        for corporate in ft.corporate_tax:
            for k in range(ft.seeds):
                seed = first_seed + k
                runs.append(RunSpec(f"fixed_tax-i{income:g}-c{corporate:g}-s{seed}", "fixed_tax", ft.curriculum,
                                    "open", seed, income, corporate))
    return runs


def run_config(preset: ReproducePreset, spec: RunSpec) -> RunConfig:
    """The run config of one run: the economy's config, overrides, curriculum, seed and fixed taxes."""
    base = preset.open_config if spec.economy == "open" else preset.closed_config
    overrides = list(preset.overrides) + (list(preset.closed_overrides) if spec.economy == "closed" else [])
    path = base if Path(base).suffix in (".yaml", ".yml") else CONFIG_DIR / f"{base}.yaml"
    config = load_config(path, overrides)
    curriculum = load_curriculum({"base": spec.curriculum, "time_scale": config.curriculum.time_scale})
    config = dataclasses.replace(config, name=spec.run_id, seed=spec.seed, curriculum=curriculum)
    if spec.income_tax is not None:
        from pbt_econ.config.load import config_from_dict, config_to_dict

        data = config_to_dict(config)
        data["fixed"] = {**data.get("fixed", {}),
                         "government": {"income_tax": spec.income_tax, "corporate_tax": spec.corporate_tax}}
        try:
            config = config_from_dict(data)
        except ConfigError as exc:
            raise ConfigError(f"fixed_tax: {exc}") from None
    return config
