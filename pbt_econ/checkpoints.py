"""Member checkpoints: atomic writes, ``weights_only=True`` reads, clear errors.

A checkpoint is one ``torch.save`` payload of plain data and tensors::

    {"format": "pbt-econ-member/1", "member_id", "seed", "config", "curriculum", "state"}

``state`` is :meth:`pbt_econ.member.Member.get_state` (weights, optimiser
state, no-Ponzi multipliers, episode counter, generator state, training
hyperparameters). It is written to a temporary file and renamed over the
target, and read back with ``torch.load(weights_only=True)``, so a checkpoint
can neither be half-written nor run code when loaded.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from pbt_econ.config import RunConfig, config_from_dict, config_to_dict
from pbt_econ.files import atomic_write

if TYPE_CHECKING:
    from pbt_econ.member import Member

__all__ = ["CHECKPOINT_FORMAT", "CheckpointError", "load_member", "read_checkpoint", "save_member"]

CHECKPOINT_FORMAT = "pbt-econ-member/1"


class CheckpointError(ValueError):
    """A checkpoint file is missing, corrupted, foreign, or from another economy."""


def save_member(member: Member, path: str | Path) -> Path:
    """Write ``member``'s checkpoint to ``path`` atomically (temporary file, then rename)."""
    path = Path(path)
    payload = {
        "format": CHECKPOINT_FORMAT,
        "member_id": member.member_id,
        "seed": member.seed,
        "config": config_to_dict(member.config),
        "curriculum": config_to_dict(member.curriculum),
        "state": member.get_state(),
    }
    atomic_write(path, lambda tmp: torch.save(payload, tmp))
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


def load_member(path: str | Path, config: RunConfig | None = None, device: str | None = None) -> Member:
    """Rebuild a :class:`~pbt_econ.member.Member` from a checkpoint.

    With ``config``, the checkpoint must come from the same economy and grids
    (otherwise :class:`CheckpointError` says which field differs); training
    settings of ``config`` are ignored in favour of the checkpoint's.
    """
    from pbt_econ.config import load_curriculum
    from pbt_econ.member import Member

    payload = read_checkpoint(path)
    saved = config_from_dict(payload["config"])
    if config is not None:
        for section in ("economy", "spaces"):
            mine, theirs = config_to_dict(getattr(config, section)), config_to_dict(getattr(saved, section))
            for key in mine:
                if mine[key] != theirs.get(key):
                    raise CheckpointError(
                        f"{path}: checkpoint is from a different {section}: {section}.{key} = "
                        f"{theirs.get(key)!r} in the checkpoint, {mine[key]!r} in the config"
                    )
        saved = dataclasses.replace(saved, best_response=config.best_response, analysis=config.analysis)
    if device is not None:
        saved = dataclasses.replace(saved, device=device)
    member = Member(saved, load_curriculum(payload["curriculum"]), payload["seed"], payload["member_id"])
    try:
        member.set_state(payload["state"])
    except (KeyError, RuntimeError) as exc:
        raise CheckpointError(f"{path}: checkpoint state does not fit this member ({exc})") from None
    return member
