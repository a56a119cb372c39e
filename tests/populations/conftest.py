"""A tiny population config shared by the Ray tests."""

from __future__ import annotations

import pytest

from pbt_econ.config.load import load_config

TINY = [
    "name=tiny",
    "economy.num_consumers=4",
    "economy.num_firms=2",
    "training.batch_size=8",
    "training.log_every=5",
    "training.hidden_size=32",
    "population.size=4",
    "population.episodes=20",
    "population.ready_interval=10",
    "population.num_cpus=2",
    "best_response.episodes=4",
    "best_response.eval_episodes=1",
]


@pytest.fixture(scope="session")
def tiny_config():
    return load_config(overrides=TINY)
