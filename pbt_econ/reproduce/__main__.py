"""``python -m pbt_econ.reproduce``: run the paper's experiments and check its claims.

    python -m pbt_econ.reproduce [--scale small|cpu|paper|PRESET.yaml] [--seeds N] [--first-seed K]
                                 [--out DIR] [--address ADDR] [--resume] [--set key=value ...]
                                 [--no-progress]

Runs the curricula (every curriculum x open/closed x seed) and the fixed-tax
baselines as independent Ray tasks (on a local Ray, or a cluster with
``--address``), then writes ``reproduction.md``, ``reproduction.parquet`` and
plots into ``--out`` (default ``runs/reproduce-<scale>``). ``--resume``
skips every finished run. ``--set`` overrides fields of every run's config
(e.g. ``--set training.episodes=50`` for a quick look). docs/reproduce.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

from pbt_econ.core.checkpoints import CheckpointError
from pbt_econ.core.errors import ConfigError

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m pbt_econ.reproduce",
                                     description="Reproduce the paper's claims with statistics.")
    parser.add_argument("--scale", default="small", help="small (minutes), cpu (hours), paper (GPU cluster), "
                                                         "or a preset YAML file (default: small)")
    parser.add_argument("--seeds", type=int, default=None, help="seeds per curriculum and economy (default: the preset's)")
    parser.add_argument("--first-seed", type=int, default=0, help="seeds are K, K+1, ... (default 0)")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: runs/reproduce-<scale>)")
    parser.add_argument("--address", default=None, help="Ray cluster address to join (e.g. auto)")
    parser.add_argument("--resume", action="store_true", help="continue: skip every run that has a result")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a field of every run's config (repeatable)")
    parser.add_argument("--num-cpus", type=int, default=None, help="CPUs of a locally started Ray (default: all)")
    parser.add_argument("--no-progress", action="store_true", help="one log line per finished run")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        from pbt_econ.learning.preflight import check_device, check_output_dir
        from pbt_econ.studies.paper.plan import load_preset, plan_runs, run_config
        from populations.address import check_address

        preset, _ = load_preset(args.scale)
        if args.overrides:
            preset = dataclasses.replace(preset, overrides=tuple(preset.overrides) + tuple(args.overrides))
        if args.first_seed < 0:
            raise ConfigError(f"--first-seed {args.first_seed}: must be >= 0")
        if args.num_cpus is not None and args.num_cpus < 1:
            raise ConfigError(f"--num-cpus {args.num_cpus}: must be >= 1")
        specs = plan_runs(preset, args.seeds, args.first_seed)
        configs = [run_config(preset, s) for s in specs]  # validates every run's config before any work
        scale = Path(args.scale).stem if str(args.scale).endswith((".yaml", ".yml")) else args.scale
        out = args.out or Path("runs") / f"reproduce-{scale}"
        check_output_dir(out)
        if args.address is None:
            for device in sorted({c.device for c in configs}):
                check_device(device)
        check_address(args.address)
        _write_manifest(out, {"scale": str(args.scale), "seeds": args.seeds, "first_seed": args.first_seed,
                              "overrides": list(args.overrides), "runs": [s.run_id for s in specs]}, args.resume)

        from pbt_econ.studies.paper.report import write_reproduction
        from pbt_econ.studies.paper.runner import run_all

        started = time.perf_counter()
        rows = run_all(preset, specs, configs, out, address=args.address,
                       show_progress=not args.no_progress and sys.stderr.isatty(), num_cpus=args.num_cpus)
        wall = time.perf_counter() - started
        claims = write_reproduction(out, rows, preset, scale, configs[0].analysis, wall_s=wall)
    except (ConfigError, CheckpointError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"\ninterrupted; finished runs are kept. Continue with: python -m pbt_econ.reproduce "
              f"--scale {args.scale} --out {args.out or Path('runs') / f'reproduce-{args.scale}'} --resume",
              file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - a failed run is a message, not a traceback
        from pbt_econ.studies.paper.runner import ReproduceError
        from populations.members import SearchError

        if not isinstance(exc, (ReproduceError, SearchError)):
            raise
        print(f"error: {exc}", file=sys.stderr)
        return 1
    width = max(len(c.claim) for c in claims)
    for c in claims:
        print(f"{c.claim:<{width}}  {c.verdict:<15} {c.ours}")
    from pbt_econ.core.rundir import ReproduceDir

    print(f"\nreport: {ReproduceDir(out).report} ({wall / 60:.1f} min)")
    return 0



def _write_manifest(out: Path, plan: dict, resume: bool) -> None:
    """Record the reproduction's plan in ``out``; with ``resume`` it must match the plan already there."""
    from pbt_econ.core.rundir import ReproduceDir

    manifest = ReproduceDir(out).manifest
    if manifest.exists() and not resume:
        raise ConfigError(f"{out}: already holds a reproduction; pass --resume to continue it or choose --out")
    if manifest.exists():
        saved = json.loads(manifest.read_text())
        if {k: saved.get(k) for k in plan} != plan:
            changed = next(k for k in plan if saved.get(k) != plan[k])
            raise ConfigError(f"--resume {out}: {changed} differs from the reproduction there "
                              f"({saved.get(changed)!r} there, {plan[changed]!r} now)")
    from pbt_econ.core.files import atomic_write_text

    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(manifest, json.dumps(plan, indent=1))

if __name__ == "__main__":
    from pbt_econ.core.cli import run

    run(main)
