"""Tests of member checkpoints: bit-identical resume, clear errors."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from pbt_econ.core.checkpoints import CheckpointError
from pbt_econ.learning.member import Member, load_member
from tests.pbt_econ.helpers import small_config


def test_checkpoint_resume_is_bit_identical(tmp_path):
    cfg = small_config()
    straight = Member(cfg, seed=1)
    rows_straight = straight.train(12)
    first = Member(cfg, seed=1)
    rows_first = first.train(5)
    first.save(tmp_path / "ck.pt")
    resumed = load_member(tmp_path / "ck.pt", cfg)
    assert resumed.episode == 5
    rows_resumed = resumed.train(7)
    strip = lambda rows: [dataclasses.replace(r, episodes_per_s=0) for r in rows]  # noqa: E731
    assert strip(rows_first + rows_resumed) == strip(rows_straight)
    for t in straight.policies:
        for pa, pb in zip(straight.policies[t].parameters(), resumed.policies[t].parameters()):
            assert torch.equal(pa, pb)
        sa, sb = straight.optimizers[t].state_dict(), resumed.optimizers[t].state_dict()
        for k in sa["state"]:
            assert torch.equal(sa["state"][k]["exp_avg"], sb["state"][k]["exp_avg"])


def test_corrupted_and_foreign_checkpoints_give_clear_errors(tmp_path):
    cfg = small_config()
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"this is not a checkpoint")
    with pytest.raises(CheckpointError, match="not a readable pbt-econ checkpoint"):
        load_member(bad)
    foreign = tmp_path / "foreign.pt"
    torch.save({"weights": torch.zeros(3)}, foreign)
    with pytest.raises(CheckpointError, match="not a pbt-econ member checkpoint"):
        load_member(foreign)
    with pytest.raises(CheckpointError, match="not found"):
        load_member(tmp_path / "missing.pt")
    m = Member(cfg)
    m.save(tmp_path / "ok.pt")
    other = dataclasses.replace(cfg, economy=dataclasses.replace(cfg.economy, num_consumers=9))
    with pytest.raises(CheckpointError, match="economy.num_consumers = 4 in the checkpoint, 9 in the config"):
        load_member(tmp_path / "ok.pt", other)
