"""``python -m pbt_econ.search``: the command users run (the composition root).

Reads a config (default: the embedded ``configs/default.yaml``), starts or
joins Ray, runs the population (:func:`populations.driver.run_search`), then
hands the run directory to :mod:`analysis` (equilibria, plots, report) and
prints a summary table::

    python -m pbt_econ.search [--config FILE] [--set key=value ...] [--out DIR]
                              [--resume DIR] [--address ADDR] [--no-progress]

``--resume DIR`` continues an interrupted search with the config stored in
``DIR/config.yaml``. ``--address`` joins an existing Ray cluster (``auto``
inside ``ray job submit``); without it Ray starts locally on 127.0.0.1 with
the dashboard off.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from pbt_econ.config.load import RunConfig, dump_config, load_config
from pbt_econ.core.checkpoints import CheckpointError
from pbt_econ.core.errors import ConfigError
from pbt_econ.core.files import atomic_write_text
from pbt_econ.core.rundir import RunDir
from populations.address import check_address

__all__ = ["main", "search"]


def check_resumable(run_dir: Path, config: RunConfig) -> None:
    """Every member checkpoint a resume would load is readable and from this run's economy and grids."""
    from pbt_econ.config.compare import ECONOMY_SECTIONS, config_differences
    from pbt_econ.config.load import config_from_dict
    from pbt_econ.core.checkpoints import CheckpointError, read_checkpoint

    layout = RunDir(run_dir)
    for member_id in layout.member_ids():
        final = layout.final_checkpoint(member_id)
        paths = layout.segment_checkpoints(member_id) + ([final] if final.exists() else [])
        for path in paths[-2:]:
            payload = read_checkpoint(path)
            try:
                saved = config_from_dict(payload["config"])
            except (ConfigError, KeyError) as exc:
                raise CheckpointError(f"{path}: its config does not load ({exc})") from None
            diffs = config_differences(saved, config, sections=ECONOMY_SECTIONS,
                                       labels=("there", f"in {layout.config}"))
            if diffs:
                raise CheckpointError(f"{path}: from a different economy or grids ({diffs[0]})")


def search(config: RunConfig, run_dir: Path, resume: bool = False, address: str | None = None,
           show_progress: bool = True, analyse: bool = True):
    """Run or resume a search, then the analysis; returns the driver's ``SearchResult``.

    Every input is checked before anything is written or Ray starts.
    """
    from pbt_econ.learning.preflight import check_device, check_output_dir, check_search, pbt_notice
    from populations.driver import run_search

    check_output_dir(run_dir)
    check_device(config.device)
    check_search(config)
    check_address(address)
    if resume:
        check_resumable(run_dir, config)
    notice = pbt_notice(config)
    if notice:
        print(notice, file=sys.stderr)
    run_dir.mkdir(parents=True, exist_ok=True)
    if not resume:
        atomic_write_text(RunDir(run_dir).config, dump_config(config))
    result = run_search(config, run_dir, resume=resume, address=address, show_progress=show_progress)
    if analyse:
        from analysis.report import analyse_runs

        analyse_runs([run_dir])
    return result


def summary_lines(outcomes, model) -> list[str]:
    """The console table: one line per outcome. ``verified``: the sense in which its verdicts verify it
    (:func:`analysis.verification.verified_as`: ``Nash``, ``meta`` or ``no``), never its point estimates."""
    from analysis.verification import SHORT, verified_as
    from pbt_econ.core.tables import flatten

    types = tuple(a.name for a in model.agent_types)
    columns = model.console_columns()
    header = (f"{'member':<7}{'niche':<14}" + "".join(f"{h:>{w}}" for _, h, w, _ in columns)
              + f"{'eps_max':>9}  verified  trivial")
    lines = [header, "-" * len(header)]
    for o in outcomes:
        d = o.descriptors
        sense = SHORT[verified_as(flatten(o), types)]
        lines.append(f"{o.member_id:<7}{o.niche:<14}" + "".join(f"{d[k]:>{w}{fmt}}" for k, _, w, fmt in columns)
                     + f"{o.epsilon_max_rel:>9.3g}  {sense:<9} {'yes' if o.is_trivial else 'no'}")
    return lines


def _print_summary(outcomes, run_dir: Path, model) -> None:
    print("\n".join(summary_lines(outcomes, model)))
    if RunDir(run_dir).report.exists():
        print(f"\nreport: {run_dir / 'report.md'}")
    print(f"outputs: {run_dir}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pbt_econ.search",
                                     description="Search the equilibria of an economy with a PBT population.")
    parser.add_argument("--config", type=Path, default=None, help="run config YAML (default: configs/default.yaml)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config field, e.g. --set population.size=8 (repeatable)")
    parser.add_argument("--out", type=Path, default=None, help="run directory (default: runs/<name>)")
    parser.add_argument("--resume", type=Path, default=None, metavar="RUN_DIR", help="continue an interrupted search")
    parser.add_argument("--address", default=None, help="Ray cluster address to join (e.g. auto)")
    parser.add_argument("--no-progress", action="store_true", help="plain log lines instead of live progress bars")
    parser.add_argument("--no-analysis", action="store_true", help="skip clustering, plots and report")
    args = parser.parse_args(argv)
    try:
        if args.resume is not None:
            if args.config is not None or args.overrides or args.out is not None:
                raise ConfigError("--resume uses RUN_DIR/config.yaml; do not combine it with --config, --set or --out")
            run_dir = args.resume
            if not RunDir(run_dir).config.exists():
                raise ConfigError(f"{run_dir}: no config.yaml, not a search run directory")
            state = RunDir(run_dir).driver_state
            if state.exists() and json.loads(state.read_text()).get("finished"):
                print(f"{run_dir}: search already finished; re-running the analysis only")
            config = load_config(RunDir(run_dir).config)
        else:
            config = load_config(args.config, args.overrides)
            run_dir = args.out or Path("runs") / config.name
            if RunDir(run_dir).driver_state.exists():
                raise ConfigError(f"{run_dir}: already holds a search; pass --resume {run_dir} or choose --out")
        result = search(config, run_dir, resume=args.resume is not None, address=args.address,
                        show_progress=not args.no_progress and sys.stderr.isatty(), analyse=not args.no_analysis)
    except (ConfigError, CheckpointError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # noqa: BLE001 - the search's own failures are messages, not tracebacks
        from populations.members import SearchError

        if not isinstance(exc, SearchError):
            raise
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted; continue with: python -m pbt_econ.search --resume "
              f"{args.resume or args.out or Path('runs') / config.name}", file=sys.stderr)
        return 130
    _print_summary(result.outcomes, run_dir, config.economy_model)
    print(f"wall time {result.wall_time_s:.0f} s")
    return 0


def entry_point() -> None:
    """The installed console script."""
    from pbt_econ.core.cli import run

    run(main)


if __name__ == "__main__":
    from pbt_econ.core.cli import run

    run(main)
