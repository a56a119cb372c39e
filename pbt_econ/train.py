"""``python -m pbt_econ.train``: train one member, with checkpoints and a progress bar.

A thin shell around :class:`pbt_econ.learning.member.Member`::

    python -m pbt_econ.train [--config FILE] [--episodes N] [--out DIR]
                             [--device cpu|cuda] [--set key=value ...] [--resume]

Writes ``DIR/config.yaml`` (the resolved config), ``DIR/checkpoint.pt`` every
``training.checkpoint_every`` episodes and at the end, and
``DIR/metrics.parquet``. ``--resume`` continues from ``DIR/checkpoint.pt``
bit-identically (CPU). A NaN or inf stops the run with a message and leaves
``DIR/checkpoint.pt`` as the last good state.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pbt_econ.config.load import load_config
from pbt_econ.core.checkpoints import CheckpointError
from pbt_econ.core.errors import ConfigError
from pbt_econ.core.rundir import TrainDir
from pbt_econ.core.tables import read_table
from pbt_econ.learning.rollout import NonFiniteError
from pbt_econ.learning.training import run_training

__all__ = ["main"]


def _summary(row: dict, config) -> str:
    """One line of the key metrics of a metrics row (the economy's descriptors)."""
    keys = ("episode",) + tuple(d.name for d in config.economy_model.descriptors)[:12] + ("is_trivial",)
    return "  ".join(f"{k}={row[k]:.4g}" if isinstance(row[k], float) else f"{k}={row[k]}" for k in keys)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pbt_econ.train", description="Train one pbt-econ member.")
    parser.add_argument("--config", type=Path, default=None, help="run config YAML (default: configs/default.yaml)")
    parser.add_argument("--episodes", type=int, default=None, help="total episodes (default: training.episodes)")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: runs/<name>-train)")
    parser.add_argument("--device", default=None, help="cpu, cuda or cuda:N (default: the config's)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config field, e.g. --set training.batch_size=64 (repeatable)")
    parser.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    try:
        overrides = list(args.overrides) + ([f"device={args.device}"] if args.device else [])
        config = load_config(args.config, overrides)
        episodes = config.training.episodes if args.episodes is None else args.episodes
        if episodes < 0:
            raise ConfigError(f"--episodes = {episodes}: must be >= 0")
        out = args.out or Path("runs") / f"{config.name}-train"
        member = run_training(config, out, episodes, resume=args.resume, show_progress=not args.no_progress)
    except (ConfigError, CheckpointError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except NonFiniteError as exc:
        print(f"error: {exc}\nlast good checkpoint: {TrainDir(out).checkpoint}", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        command = " ".join(["python -m pbt_econ.train", *(argv if argv is not None else sys.argv[1:])])
        if "--resume" not in command:
            command += " --resume"
        print(f"\ninterrupted; continue with: {command}", file=sys.stderr)
        return 130
    if TrainDir(out).metrics.exists():
        metrics = read_table(TrainDir(out).metrics, "metrics").to_pylist()
        print(_summary(metrics[-1], config))
    print(f"member trained to episode {member.episode}; outputs in {out}")
    return 0


def entry_point() -> None:
    """The installed console script."""
    from pbt_econ.core.cli import run

    run(main)


if __name__ == "__main__":
    from pbt_econ.core.cli import run

    run(main)
