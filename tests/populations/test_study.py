"""Optuna: search space from YAML, study resume, sampler-driven explore, storage URLs, multi-objective."""

from __future__ import annotations

import optuna
import pytest

from pbt_econ.config.load import Objective, PopulationConfig, load_config
from pbt_econ.core.errors import ConfigError
from populations.study import SegmentTrials, distributions, open_study


def test_search_space_from_yaml(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("search_space:\n  training.consumer.lr: {low: 1.0e-4, high: 1.0e-2, log: true}\n"
                    "  training.update_epochs: {low: 1, high: 4, integer: true}\n"
                    "  curriculum.time_scale: {low: 0.5, high: 2}\n")
    cfg = load_config(path)
    dists = distributions(cfg.search_space)
    assert dists["training.consumer.lr"] == optuna.distributions.FloatDistribution(1e-4, 1e-2, log=True)
    assert dists["training.update_epochs"] == optuna.distributions.IntDistribution(1, 4)
    bad = tmp_path / "bad.yaml"
    bad.write_text("search_space:\n  training.consumer.lr: {low: 0.1, high: 0.01}\n")
    with pytest.raises(ConfigError, match="search_space.training.consumer.lr.high = 0.01: must be greater than low"):
        load_config(bad)


def test_trials_resume_without_duplicates_and_fixed_values(tmp_path):
    cfg = load_config()
    pop = cfg.population
    study = open_study("s", pop, tmp_path, seed=0)
    trials = SegmentTrials(study, cfg.search_space)
    n0, p0 = trials.open("m000", 0, "paper", 0, {})
    assert set(p0) == set(cfg.search_space)
    trials.tell(n0, [1.5])
    # Re-opening the same (member, segment) after an interruption returns the same trial.
    reopened = SegmentTrials(open_study("s", pop, tmp_path, seed=0), cfg.search_space)
    assert reopened.open("m000", 0, "paper", 0, {})[0] == n0
    reopened.tell(n0, [99.0])  # already told: unchanged
    assert reopened.study.trials[n0].value == 1.5
    n1, p1 = reopened.open("m000", 1, "paper", 10, dict(p0))
    assert p1 == p0 and n1 != n0
    assert len(reopened.study.trials) == 2


def test_sampler_explore_conditions_on_results(tmp_path):
    cfg = load_config()
    study = open_study("tpe", cfg.population, tmp_path, seed=0)
    trials = SegmentTrials(study, cfg.search_space)
    for i in range(12):  # the objective rewards a high consumer lr
        n, p = trials.open(f"m{i}", 0, "x", 0, {})
        trials.tell(n, [p["training.consumer.lr"]])
    proposals = []
    for i in range(8):
        n, p = trials.open(f"e{i}", 1, "x", 0, {"training.firm.lr": 0.001})
        assert p["training.firm.lr"] == 0.001  # fixed part kept
        proposals.append(p["training.consumer.lr"])
        trials.tell(n, [p["training.consumer.lr"]])
    import statistics

    first = [t.params["training.consumer.lr"] for t in study.trials[:12]]
    assert statistics.median(proposals) > statistics.median(first)


def test_rdb_url_journal_and_multi_objective(tmp_path):
    url = f"sqlite:///{tmp_path / 'elsewhere.db'}"
    pop = PopulationConfig(storage=url, objectives=(Objective("welfare", "maximize"),
                                                    Objective("reward_firm", "minimize")))
    study = open_study("multi", pop, tmp_path, seed=0)
    assert (tmp_path / "elsewhere.db").exists() and not (tmp_path / "optuna.db").exists()
    assert study.directions == [optuna.study.StudyDirection.MAXIMIZE, optuna.study.StudyDirection.MINIMIZE]
    trials = SegmentTrials(study, load_config().search_space)
    n, _ = trials.open("m0", 0, "x", 0, {})
    trials.tell(n, [1.0, 2.0])
    assert optuna.load_study(study_name="multi", storage=url).trials[0].values == [1.0, 2.0]
    journal = PopulationConfig(storage=f"journal:{tmp_path / 'j.log'}")
    open_study("j", journal, tmp_path, seed=0).ask()
    assert (tmp_path / "j.log").exists()
