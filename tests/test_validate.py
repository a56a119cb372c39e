"""A tiny ``python -m pbt_econ.validate`` run on all three economies, and the comparison functions."""

from __future__ import annotations

import math

import pyarrow.parquet as pq
import pytest

from pbt_econ.economies.cournot import solution as cournot
from pbt_econ.economies.cournot.model import CournotConfig
from pbt_econ.economies.growth import solution as growth
from pbt_econ.economies.growth.model import GrowthConfig
from pbt_econ.validation_compare import coordination_found, cournot_gains, growth_errors
from pbt_econ.validation_report import interval

TINY = ["population.size=2", "population.episodes=20", "population.ready_interval=10", "best_response.episodes=2",
        "best_response.eval_episodes=1", "analysis.eval_seeds=2", "training.batch_size=8"]


def test_cournot_point_mass_at_nash_has_no_unilateral_gain():
    e = CournotConfig()
    q = cournot.nash_quantity(e.a, e.b, e.c, e.num_firms)
    probs = [1.0 if g == q else 0.0 for g in e.quantities]
    gains = cournot_gains(probs, e)
    assert gains["unilateral_gain"] == pytest.approx(0.0, abs=1e-9)
    assert gains["mean_quantity"] == q
    assert gains["type_level_gain"] == pytest.approx(405 - 225)  # the shared policy gains by colluding


def test_cournot_collusive_point_mass_gains_324_per_step_times_episode_length():
    e = CournotConfig(episode_length=2)
    probs = [1.0 if g == 9 else 0.0 for g in e.quantities]
    gains = cournot_gains(probs, e)
    assert gains["unilateral_gain"] == pytest.approx(2 * 324)
    assert gains["type_level_gain"] == pytest.approx(0.0, abs=1e-9)


def test_growth_errors_of_the_closed_form_and_of_the_grid():
    e = GrowthConfig()
    star = growth.savings_rates(e.alpha, e.beta, e.horizon)
    exact = growth_errors(star, e)
    assert exact["mean_abs_error"] == pytest.approx(0.0, abs=1e-12)
    assert exact["ce_loss"] == pytest.approx(0.0, abs=1e-12)
    assert exact["euler_max"] <= -15
    off = growth_errors([s + 0.05 for s in star[:-1]] + [0.0], e)
    assert off["mean_abs_error"] == pytest.approx(0.05 * e.horizon / (e.horizon + 1))
    assert off["ce_loss"] > exact["floor_ce_loss"] > 0


def test_coordination_found_and_interval():
    assert coordination_found([0.02, 0.5], [0.0, 1.0]) == [True, False]
    assert coordination_found([0.95], [0.0, 1.0]) == [False, True]
    assert interval([1.0, 3.0]).startswith("2 (min-max 1-3")
    assert "±" in interval([1.0, 2.0, 3.0])


def test_tiny_validate_run_writes_report_table_and_plots(tmp_path):
    from pbt_econ.validate import main

    argv = ["--seeds", "1", "--out", str(tmp_path)]
    for o in TINY:
        argv += ["--set", o]
    assert main(argv) == 0
    assert (tmp_path / "validation.md").read_text().startswith("# Validation")
    for plot in ("growth_savings.png", "cournot_quantities.png", "coordination_found.png"):
        assert (tmp_path / plot).stat().st_size > 0
    table = pq.read_table(tmp_path / "validation.parquet").to_pylist()
    assert {r["economy"] for r in table} == {"cournot", "growth", "coordination"}
    for economy, metric in (("cournot", "mean_quantity"), ("growth", "mean_abs_error"),
                            ("coordination", "analysis_equilibria")):
        hits = [r for r in table if r["economy"] == economy and r["metric"] == metric]
        assert hits and all(math.isfinite(r["known"]) and math.isfinite(r["value"]) for r in hits)
    assert main(argv) == 0  # resumable: every search is skipped the second time
