"""``python -m pbt_econ.validate``: run the population search on economies with known answers and compare.

::

    python -m pbt_econ.validate [--economy NAME] [--seeds N] [--set key=value ...] [--out DIR]

The economies are every registered kind whose entry declares a known answer
(``EconomyEntry.known_answer``; default: all of them). For each and each seed ``s = 0..N-1`` it runs
``python -m pbt_econ.search --config configs/<known_answer.config or kind.yaml> --set seed=s [--set ...]``
into ``DIR/<economy>/seed<s>`` (skipped when that directory already has ``outcomes.parquet``: the command
is resumable), compares the outcomes with the known answer recomputed from the run's resolved config
and checks the answer's known profiles (:mod:`pbt_econ.studies.validation.compare`), and writes
``DIR/validation.md``, ``DIR/validation.parquet`` (one row per economy x seed x metric) and plots
(:mod:`pbt_econ.studies.validation.report`). No economy is named here.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

from pbt_econ.core.errors import ConfigError
from pbt_econ.core.rundir import RunDir

__all__ = ["config_path", "known_kinds", "main", "run_one", "validate"]


def known_kinds() -> tuple[str, ...]:
    """Every registered kind whose entry declares a known answer (built-ins, registered, entry points)."""
    from pbt_econ.economies.registry import get_entry, kinds

    return tuple(k for k in kinds() if get_entry(k).known_answer is not None)


def config_path(economy: str) -> Path:
    """The config the validation of ``economy`` searches: ``configs/<known_answer.config or <kind>.yaml>``.

    Looked up in this checkout's ``configs/``, else the copy shipped in the package (an absolute
    ``known_answer.config`` is taken as it is)."""
    from pbt_econ.economies.registry import get_entry

    name = get_entry(economy, "--economy").known_answer.config or f"{economy}.yaml"
    for root in (Path.cwd() / "configs", Path(__file__).resolve().parents[1] / "configs",
                 Path(__file__).resolve().parent / "configs"):
        if (root / name).exists():
            return root / name
    raise ConfigError(f"--economy {economy}: no configs/{name}")


def run_one(economy: str, seed: int, overrides: list[str], run_dir: Path) -> float:
    """Run (or resume, or skip) one search; returns its wall time in seconds (0 when skipped)."""
    if (run_dir / "outcomes.parquet").exists():
        print(f"[validate] {economy} seed {seed}: already done ({run_dir}), skipped", flush=True)
        return 0.0
    if RunDir(run_dir).driver_state.exists():
        argv = ["--resume", str(run_dir)]
    else:
        argv = ["--config", str(config_path(economy)), "--out", str(run_dir), "--set", f"seed={seed}"]
        for o in overrides:
            argv += ["--set", o]
    print(f"[validate] {economy} seed {seed}: searching -> {run_dir}", flush=True)
    started = time.perf_counter()
    run_dir.parent.mkdir(parents=True, exist_ok=True)
    log = run_dir.parent / f"seed{seed}.log"
    with open(log, "w") as handle:
        code = subprocess.call([sys.executable, "-m", "pbt_econ.search", "--no-progress", *argv],
                               stdout=handle, stderr=subprocess.STDOUT)
    wall = time.perf_counter() - started
    if code != 0 or not (run_dir / "outcomes.parquet").exists():
        tail = "".join(log.read_text().splitlines(keepends=True)[-15:])
        raise ConfigError(f"{economy} seed {seed}: the search failed (exit {code}); log {log}:\n{tail}")
    print(f"[validate] {economy} seed {seed}: done in {wall:.0f} s", flush=True)
    return wall


def validate(economies: list[str], seeds: int, overrides: list[str], out: Path) -> list[dict]:
    """Run every search, compare, check the known profiles, write the report; returns the metric rows."""
    from pbt_econ.core.tables import write_table
    from pbt_econ.economies.registry import get_entry
    from pbt_econ.studies.validation.compare import RunDirView, check_profiles, compare
    from pbt_econ.studies.validation.report import run_figures, write_report

    entries = {economy: get_entry(economy, "--economy") for economy in economies}
    rows: list[dict] = []
    walls: dict[str, float] = {}
    figures: list[Path] = []
    for economy, entry in entries.items():
        economy_overrides = [o for o in overrides if not o.startswith("economy.") or _applies(o, economy)]
        for seed in range(seeds):
            run_dir = out / economy / f"seed{seed}"
            walls[f"{economy}/{seed}"] = run_one(economy, seed, economy_overrides, run_dir)
            view = RunDirView(run_dir, seed)
            rows += compare(entry, view)
            figures += run_figures(entry, view, out)
        if entry.known_answer.profiles is not None:
            print(f"[validate] {economy}: checking its known profiles with the framework's best response", flush=True)
            rows += check_profiles(entry, out / economy / "seed0")
    out.mkdir(parents=True, exist_ok=True)
    write_table(rows, out / "validation.parquet", "validation")
    write_report(rows, out, entries, walls=walls, overrides=overrides, figures=figures)
    print(f"[validate] wrote {out / 'validation.md'}, {out / 'validation.parquet'} and plots", flush=True)
    return rows


def _applies(override: str, economy: str) -> bool:
    """An ``economy.<field>=...`` override applies to the economies whose config has that field."""
    import dataclasses

    from pbt_econ.config.load import load_config

    field = override.split("=", 1)[0].split(".", 1)[1]
    config = load_config(config_path(economy))
    return field in {f.name for f in dataclasses.fields(config.economy)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pbt_econ.validate",
                                     description="Run the search on economies with known answers and compare.")
    known = known_kinds()
    parser.add_argument("--economy", choices=known, action="append", default=None,
                        help="economy to validate (repeatable; default: every economy with a known answer: "
                             f"{', '.join(known)})")
    parser.add_argument("--seeds", type=int, default=3, help="search seeds per economy, 0..N-1 (default 3)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config field of every search, e.g. --set economy.a=120 (repeatable; "
                             "economy.* fields only go to the economies that have them)")
    parser.add_argument("--out", type=Path, default=Path("runs/validate"), help="output folder (runs/validate)")
    args = parser.parse_args(argv)
    try:
        if args.seeds < 1:
            raise ConfigError(f"--seeds = {args.seeds}: must be >= 1")
        for o in args.overrides:
            if "=" not in o:
                raise ConfigError(f"--set {o!r}: must be KEY=VALUE")
        validate(list(dict.fromkeys(args.economy or known)), args.seeds, args.overrides, args.out)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    from pbt_econ.core.cli import run

    run(main)
