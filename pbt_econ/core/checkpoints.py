"""Member checkpoints: atomic writes, ``weights_only=True`` reads, clear errors.

A checkpoint is one ``torch.save`` payload of plain data and tensors::

    {"format": "pbt-econ-member/1", "member_id", "seed", "config", "curriculum", "state"}

Written by :meth:`pbt_econ.learning.member.Member.save`, read back by :func:`pbt_econ.learning.member.load_member`.
``state`` is :meth:`pbt_econ.learning.member.Member.get_state` (weights, optimiser
state, no-Ponzi multipliers, episode counter, generator state, training
hyperparameters). It is written to a temporary file and renamed over the
target, and read back with ``torch.load(weights_only=True)``, so a checkpoint
can neither be half-written nor run code when loaded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from pbt_econ.core.files import atomic_write

__all__ = ["CHECKPOINT_FORMAT", "CheckpointError", "read_checkpoint", "write_checkpoint"]

CHECKPOINT_FORMAT = "pbt-econ-member/1"


class CheckpointError(ValueError):
    """A checkpoint file is missing, corrupted, foreign, or from another economy."""


def write_checkpoint(payload: dict[str, Any], path: str | Path) -> Path:
    """Write a checkpoint payload (see the module docstring) to ``path`` atomically."""
    path = Path(path)
    atomic_write(path, lambda tmp: torch.save({"format": CHECKPOINT_FORMAT, **payload}, tmp))
    return path


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """Load a member checkpoint's payload with ``weights_only=True``; clear errors if it is not one."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint not found")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - torch raises many types for corrupt files
        raise CheckpointError(f"{path}: not a readable pbt-econ checkpoint ({type(exc).__name__}: {exc})") from None
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path}: not a pbt-econ member checkpoint (expected format {CHECKPOINT_FORMAT!r})")
    return payload
