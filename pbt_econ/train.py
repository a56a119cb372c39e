"""``python -m pbt_econ.train``: train one member, with checkpoints and a progress bar.

A thin shell around :class:`pbt_econ.member.Member`::

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
import dataclasses
import sys
from pathlib import Path

import torch

from pbt_econ.checkpoints import CheckpointError
from pbt_econ.config import RunConfig, config_to_dict, dump_config, load_config
from pbt_econ.files import atomic_write_text, remove_stale_temporaries
from pbt_econ.member import Member, load_member
from pbt_econ.preflight import check_device, check_output_dir
from pbt_econ.rollout import NonFiniteError
from pbt_econ.rundir import TrainDir
from pbt_econ.tables import flatten, read_table, write_table
from pbt_econ.validation import ConfigError

__all__ = ["main", "run_training"]


RESUMABLE_CHANGES = ("device", "threads", "best_response", "analysis", "training.episodes",
                     "training.checkpoint_every")
"""Config fields a ``--resume`` may change; any other difference from the run's own config is refused."""


def _differences(saved, given, prefix: str = "") -> list[str]:
    if isinstance(saved, dict) and isinstance(given, dict):
        out = []
        for key in sorted(set(saved) | set(given)):
            out += _differences(saved.get(key), given.get(key), f"{prefix}{key}.")
        return out
    return [] if saved == given else [f"{prefix[:-1]} = {saved!r} in the run, {given!r} given"]


def _check_resume_config(saved: RunConfig, given: RunConfig, checkpoint: Path) -> None:
    """Refuse a resume whose config differs from the run's in anything but :data:`RESUMABLE_CHANGES`."""
    diffs = [d for d in _differences(config_to_dict(saved), config_to_dict(given))
             if not any(d == f or d.startswith(f + ".") or d.startswith(f + " ") for f in RESUMABLE_CHANGES)]
    if diffs:
        raise CheckpointError(f"{checkpoint}: --resume continues the run with its own config, but "
                              + "; ".join(diffs[:5]) + (" ..." if len(diffs) > 5 else "")
                              + ". Resume without those overrides, or start a new run with another --out")


def run_training(config: RunConfig, out: Path, episodes: int, resume: bool = False, show_progress: bool = True) -> Member:
    """Train one member into ``out``; returns the trained member. Raises :class:`NonFiniteError`.

    Everything is checked (output folder, device, resume consistency) before anything is written.
    """
    check_output_dir(out)
    check_device(config.device)
    layout = TrainDir(out)
    checkpoint = layout.checkpoint
    metrics_path = layout.metrics
    rows: list[dict] = []
    if resume:
        if not checkpoint.exists():
            raise CheckpointError(f"{checkpoint}: --resume given but there is no checkpoint to resume from")
        member = load_member(checkpoint, config, device=config.device)
        _check_resume_config(member.config, config, checkpoint)
        remove_stale_temporaries(out)
        config = dataclasses.replace(member.config, device=config.device, threads=config.threads,
                                     best_response=config.best_response, analysis=config.analysis)
        if metrics_path.exists():
            rows = [r for r in read_table(metrics_path, "metrics").to_pylist() if r["episode"] <= member.episode]
    else:
        if checkpoint.exists():
            raise CheckpointError(f"{out}: already holds a run; pass --resume to continue it or choose another --out")
        member = Member(config, member_id=config.name)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(layout.config, dump_config(config))

    if config.threads:
        torch.set_num_threads(config.threads)
    remaining = max(0, episodes - member.episode)
    every = config.training.checkpoint_every
    bar = None
    if show_progress:
        from tqdm import tqdm

        bar = tqdm(total=episodes, initial=member.episode, unit="ep", desc=config.name, dynamic_ncols=True)

    from pbt_econ.search import console_columns

    shown = console_columns(member.economy)[:4]

    def progress(_done: int, stats) -> None:
        if bar is not None:
            bar.update(1)
            d = stats.descriptors
            bar.set_postfix({h: f"{d[k]:{fmt}}" for k, h, _, fmt in shown}, refresh=False)

    try:
        while remaining > 0:
            chunk = min(remaining, every - member.episode % every)
            new_rows = member.train(chunk, progress=progress)
            rows.extend(flatten(r) for r in new_rows)
            remaining -= chunk
            # Rows first, then the checkpoint that covers them: a kill between the two leaves rows past the
            # checkpoint, which a resume drops (it keeps rows up to the checkpoint's episode) and re-trains.
            write_table(rows, metrics_path, "metrics")
            member.save(checkpoint)
    except NonFiniteError:
        if rows:
            write_table(rows, metrics_path, "metrics")
        member.save(checkpoint)  # the member still holds its last good state
        raise
    finally:
        if bar is not None:
            bar.close()
    member.save(checkpoint)
    return member


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
    from pbt_econ.cli import run

    run(main)


if __name__ == "__main__":
    from pbt_econ.cli import run

    run(main)
