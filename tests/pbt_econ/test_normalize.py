"""Tests of running return normalisation: the moments, the returns, and that it reaches the update."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from pbt_econ.learning.member import Member, load_member
from pbt_econ.learning.normalize import RunningMoments, discounted_returns
from tests.pbt_econ.helpers import small_config


def test_running_moments_match_a_two_pass_computation():
    g = torch.Generator().manual_seed(0)
    chunks = [torch.randn(n, generator=g, dtype=torch.float64) * s + m
              for n, s, m in ((7, 1.0, 0.0), (130, 5.0, 3.0), (1, 1.0, -2.0), (40, 1e3, 1e4))]
    moments = RunningMoments()
    for c in chunks:
        moments.update(c.reshape(-1, 1))
    everything = torch.cat(chunks)
    assert moments.count == everything.numel()
    assert moments.mean == pytest.approx(float(everything.mean()), rel=1e-12)
    assert moments.var == pytest.approx(float(everything.var(unbiased=False)), rel=1e-10)
    assert moments.scale() == pytest.approx(float(everything.std(unbiased=False)), rel=1e-10)
    assert RunningMoments().scale() == 1.0
    assert RunningMoments.from_dict(moments.to_dict()) == moments


def test_discounted_returns_by_hand():
    r = torch.tensor([[1.0], [2.0], [3.0]])
    g = 0.5
    assert discounted_returns(r, g).flatten().tolist() == [1 + g * 2 + g * g * 3, 2 + g * 3, 3.0]


def test_normalisation_scales_what_the_critic_learns_and_is_state():
    cfg = small_config(normalize_returns="true")
    member = Member(cfg, seed=3)
    rows = member.train(5)
    # Firms (reward_scale 30000) and consumers get their own divisor; it moved off 1 once they learned.
    assert member.return_moments["consumer"].count > 0
    assert rows[-1].return_scale_consumer > 0 and rows[-1].return_scale_consumer != 1.0
    assert member.return_moments["consumer"].scale() != 1.0
    off = Member(small_config(), seed=3)
    rows_off = off.train(5)
    assert rows_off[-1].return_scale_consumer == 1.0
    assert rows_off[-1].return_mean_consumer != pytest.approx(rows[-1].return_mean_consumer)


def test_resume_with_normaliser_is_bit_identical(tmp_path):
    cfg = small_config(normalize_returns="true")
    straight = Member(cfg, seed=1)
    rows_straight = straight.train(9)
    first = Member(cfg, seed=1)
    rows_first = first.train(5)
    first.save(tmp_path / "ck.pt")
    resumed = load_member(tmp_path / "ck.pt", cfg)
    assert resumed.return_moments == first.return_moments
    rows_resumed = resumed.train(4)
    strip = lambda rows: [dataclasses.replace(r, episodes_per_s=0) for r in rows]  # noqa: E731
    assert strip(rows_first + rows_resumed) == strip(rows_straight)
    assert resumed.return_moments == straight.return_moments
