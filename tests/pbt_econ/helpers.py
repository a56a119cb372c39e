"""Shared helpers of the pbt_econ tests."""

from __future__ import annotations

from pbt_econ.config.load import load_config


def small_config(**training):
    overrides = ["economy.num_consumers=4", "economy.num_firms=2", "training.batch_size=8",
                 "training.log_every=5", "training.hidden_size=32"]
    overrides += [f"training.{k}={v}" for k, v in training.items()]
    return load_config(overrides=overrides)
