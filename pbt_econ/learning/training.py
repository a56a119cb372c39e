"""Training one member into a folder: checkpoints, metrics, resume (the work behind ``python -m pbt_econ.train``).

:func:`run_training` writes ``OUT/config.yaml`` (the resolved config), ``OUT/checkpoint.pt`` every
``training.checkpoint_every`` episodes and at the end, and ``OUT/metrics.parquet``; ``resume=True``
continues from the checkpoint bit-identically (CPU). The reproduction study calls it too.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import torch

from pbt_econ.config.compare import config_differences
from pbt_econ.config.load import RunConfig, dump_config
from pbt_econ.core.checkpoints import CheckpointError
from pbt_econ.core.files import atomic_write_text, remove_stale_temporaries
from pbt_econ.core.rundir import TrainDir
from pbt_econ.core.tables import flatten, read_table, write_table
from pbt_econ.learning.member import Member, load_member
from pbt_econ.learning.preflight import check_device, check_output_dir
from pbt_econ.learning.rollout import NonFiniteError

__all__ = ["RESUMABLE_CHANGES", "run_training"]


RESUMABLE_CHANGES = ("device", "threads", "best_response", "analysis", "training.episodes",
                     "training.checkpoint_every")
"""Config fields a ``--resume`` may change; any other difference from the run's own config is refused."""


def _check_resume_config(saved: RunConfig, given: RunConfig, checkpoint: Path) -> None:
    """Refuse a resume whose config differs from the run's in anything but :data:`RESUMABLE_CHANGES`."""
    diffs = config_differences(saved, given, allowed=RESUMABLE_CHANGES)
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

    shown = member.economy.console_columns()[:4]

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


