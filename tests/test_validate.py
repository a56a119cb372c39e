"""``python -m pbt_econ.validate``: the known answers of the plug-ins, the generic study, a tiny run."""

from __future__ import annotations

import dataclasses
import math
import re
import sys
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
import yaml

from pbt_econ.economies.coordination import known as coordination_known
from pbt_econ.economies.coordination.model import CoordinationConfig
from pbt_econ.economies.cournot import known as cournot_known
from pbt_econ.economies.cournot import solution as cournot
from pbt_econ.economies.cournot.model import CournotConfig
from pbt_econ.economies.growth import known as growth_known
from pbt_econ.economies.growth import solution as growth
from pbt_econ.economies.growth.model import GrowthConfig
from pbt_econ.economies.protocol import KnownAnswer, Metric, Target
from pbt_econ.studies.validation.report import interval

ROOT = Path(__file__).resolve().parents[1]
TINY = ["population.size=2", "population.episodes=20", "population.ready_interval=10", "best_response.episodes=2",
        "best_response.eval_episodes=1", "analysis.eval_seeds=2", "training.batch_size=8"]


class FakeView:
    """A hand-made :class:`~pbt_econ.economies.protocol.RunView`: every member plays ``probs``."""

    def __init__(self, economy_config, outcomes: dict, probs=None, equilibria=None, seed: int = 0):
        self.seed, self.economy_config = seed, economy_config
        self.outcomes = pd.DataFrame(outcomes)
        self.equilibria = None if equilibria is None else pd.DataFrame(equilibria)
        self.probs = probs

    def member_ids(self):
        return [str(m) for m in self.outcomes["member_id"]]

    def policy(self, member_id, agent_type):
        raise NotImplementedError

    def policy_probs(self, member_id, agent_type):
        return list(self.probs)


def by_name(metrics: list[Metric]) -> dict[str, Metric]:
    return {m.name: m for m in metrics}


def over_seeds(*runs: list[Metric]) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    for run in runs:
        for m in run:
            out.setdefault(m.name, []).append(m.value)
    return out


# ------------------------------------------------------------------ cournot
def test_cournot_point_mass_at_nash_has_no_unilateral_gain():
    e = CournotConfig()
    q = cournot.nash_quantity(e.a, e.b, e.c, e.num_firms)
    probs = [1.0 if g == q else 0.0 for g in e.quantities]
    gains = cournot_known.gains(probs, e)
    assert gains["unilateral_gain"] == pytest.approx(0.0, abs=1e-9)
    assert gains["mean_quantity"] == q
    assert gains["type_level_gain"] == pytest.approx(405 - 225)  # the shared policy gains by colluding


def test_cournot_collusive_point_mass_gains_324_per_step_times_episode_length():
    e = CournotConfig(episode_length=2)
    probs = [1.0 if g == 9 else 0.0 for g in e.quantities]
    gains = cournot_known.gains(probs, e)
    assert gains["unilateral_gain"] == pytest.approx(2 * 324)
    assert gains["type_level_gain"] == pytest.approx(0.0, abs=1e-9)
    assert cournot_known.profiles(e) == {"collusive": {"firm": probs}}


def _cournot_view(q: float) -> FakeView:
    e = CournotConfig()
    probs = [1.0 if g == q else 0.0 for g in e.quantities]
    return FakeView(e, {"member_id": ["m0", "m1"], "quantity": [q, q], "epsilon_abs_firm": [0.5, 1.0],
                        "passes_firm": [True, False]}, probs)


def test_cournot_compare_at_nash_and_at_collusion_on_a_fake_run():
    at_nash = cournot_known.compare(_cournot_view(15.0))
    m = by_name(at_nash)
    assert m["mean_quantity"].value == m["mean_quantity"].known == 15.0
    assert m["exact_unilateral_gain"].value == pytest.approx(0.0, abs=1e-9)
    assert m["nash_profit"].value == pytest.approx(225.0)
    assert m["framework_epsilon_abs"].value == 1.0 and m["passes_firm_fraction"].value == 0.5
    assert m["collusive_exact_unilateral_gain"].value == pytest.approx(324.0)  # shipped calibration, T = 1
    assert m["collusive_exact_best_deviation"].value == 27.0  # (90 - 4 * 9) / 2
    assert all(t.met for t in cournot_known.targets(over_seeds(at_nash)))

    colluding = cournot_known.compare(_cournot_view(9.0))
    m = by_name(colluding)
    assert m["exact_unilateral_gain"].value == pytest.approx(324.0)
    assert m["exact_unilateral_gain_rel"].value == pytest.approx(324.0 / 225.0)
    targets = cournot_known.targets(over_seeds(colluding))
    assert [t.met for t in targets] == [False, False]
    # one seed of ten off by more than one grid step: 9/10 >= 90% still meets the quantity target
    mixed = cournot_known.targets(over_seeds(*[at_nash] * 9, colluding))
    assert [t.met for t in mixed] == [True, False]
    assert "9/10 seeds" in mixed[0].measured


# ------------------------------------------------------------------ growth
def test_growth_errors_of_the_closed_form_and_of_the_grid():
    e = GrowthConfig()
    star = growth.savings_rates(e.alpha, e.beta, e.horizon)
    exact = growth_known.errors(star, e)
    assert exact["mean_abs_error"] == pytest.approx(0.0, abs=1e-12)
    assert exact["ce_loss"] == pytest.approx(0.0, abs=1e-12)
    assert exact["euler_max"] <= -15
    off = growth_known.errors([s + 0.05 for s in star[:-1]] + [0.0], e)
    assert off["mean_abs_error"] == pytest.approx(0.05 * e.horizon / (e.horizon + 1))
    assert off["ce_loss"] > exact["floor_ce_loss"] > 0


def _growth_view(rates) -> FakeView:
    cols = {f"savings_t{t}": [s, s] for t, s in enumerate(rates)}
    return FakeView(GrowthConfig(), {"member_id": ["m0", "m1"], "epsilon_abs_household": [0.1, 0.2],
                                     "epsilon_rel_household": [0.01, 0.02], **cols})


def test_growth_compare_and_targets_on_a_fake_run():
    e = GrowthConfig()
    star = growth.savings_rates(e.alpha, e.beta, e.horizon)
    exact = growth_known.compare(_growth_view(star))
    m = by_name(exact)
    assert m["savings_t0"].known == pytest.approx(star[0]) and m["mean_abs_error"].value == pytest.approx(0.0)
    assert m["ce_loss"].known == m["grid_floor_ce_loss"].value > 0
    assert m["framework_epsilon_abs"].value == 0.2
    assert all(t.met for t in growth_known.targets(over_seeds(exact)))
    off = growth_known.compare(_growth_view([s + 0.05 for s in star[:-1]] + [0.0]))
    assert [t.met for t in growth_known.targets(over_seeds(exact, off))] == [False, False]


# ------------------------------------------------------------------ coordination
def test_coordination_found_and_interval():
    assert coordination_known.found([0.02, 0.5], [0.0, 1.0]) == [True, False]
    assert coordination_known.found([0.95], [0.0, 1.0]) == [False, True]
    assert interval([1.0, 3.0]).startswith("2 (min-max 1-3")
    assert "±" in interval([1.0, 2.0, 3.0])


def test_coordination_compare_and_targets_on_a_fake_run():
    e = CoordinationConfig()
    both = coordination_known.compare(FakeView(e, {"member_id": ["m0", "m1"], "adoption": [0.0, 1.0],
                                                   "epsilon_abs_agent": [0.0, 0.3]},
                                               equilibria={"regime": ["idle", "active"]}))
    m = by_name(both)
    assert m["found_all"].value == 1.0 and m["analysis_equilibria"].value == m["analysis_equilibria"].known == 2
    assert m["member_adoption_m1"].value == 1.0
    assert all(t.met for t in coordination_known.targets(over_seeds(both)))
    idle = coordination_known.compare(FakeView(e, {"member_id": ["m0"], "adoption": [0.0],
                                                   "epsilon_abs_agent": [0.0]}))
    assert by_name(idle)["found_all"].value == 0.0 and by_name(idle)["analysis_equilibria"].value == 0
    assert [t.met for t in coordination_known.targets(over_seeds(both, idle))] == [False, False]


# ------------------------------------------------------------------ the generic study
NAMES = re.compile(r"cournot|growth|coordination|rbc|aiyagari", re.IGNORECASE)
STUDY_FILES = sorted((ROOT / "pbt_econ" / "studies" / "validation").glob("*.py")) + [ROOT / "pbt_econ" / "validate.py"]


def test_the_validation_study_names_no_economy():
    assert NAMES.search("rows += cmp.cournot_rows(run_dir)")  # the check sees a name
    from pbt_econ.economies.registry import BUILTIN

    words = re.compile("|".join(map(re.escape, BUILTIN)), re.IGNORECASE)
    found = [f"{p.relative_to(ROOT)}:{i}: {line.strip()}" for p in STUDY_FILES
             for i, line in enumerate(p.read_text().splitlines(), 1) if NAMES.search(line) or words.search(line)]
    assert not found, "\n".join(found)


def _fake_compare(view):
    probs = view.policy_probs(view.member_ids()[0], "entrant")
    return [Metric("entry", float(view.outcomes["entry"].mean()), 0.5), Metric("enter_prob", probs[1])]


def _fake_targets(metrics):
    return [Target("entry near one half in every seed", all(abs(v - 0.5) <= 0.5 for v in metrics["entry"]),
                   f"entry {metrics['entry']}")]


def _fake_plot(metrics, ax):
    ax.plot(metrics["entry"], "o")


def test_a_registered_known_answer_is_picked_up_without_being_named(tmp_path, monkeypatch):
    """The worked example of docs/economies.md with a fake known answer: compare, profiles, report, plot."""
    from pbt_econ.config.load import config_from_dict
    from pbt_econ.economies import registry
    from pbt_econ.learning.member import Member
    from pbt_econ.validate import known_kinds, main

    text = (ROOT / "docs" / "economies.md").read_text()
    code = re.search(r"```python\n(.*?)```", text, re.S).group(1)
    (tmp_path / "fakeknown").mkdir()
    (tmp_path / "fakeknown" / "__init__.py").write_text("")
    (tmp_path / "fakeknown" / "entry.py").write_text(code)
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in ("fakeknown", "fakeknown.entry"):
        sys.modules.pop(name, None)
    import fakeknown.entry as module

    kind = "fake_known_entry"
    config = yaml.safe_load(re.search(r"```yaml\n(.*?)```", text, re.S).group(1))
    config["economy"]["kind"] = kind
    config["best_response"] = {"episodes": 2, "eval_episodes": 1}
    (tmp_path / "fake.yaml").write_text(yaml.safe_dump(config))
    known = KnownAnswer(compare=_fake_compare, targets=_fake_targets, plot=_fake_plot,
                        profiles=lambda economy: {"all_enter": {"entrant": [0.0, 1.0]}},
                        config=str(tmp_path / "fake.yaml"))
    registry.register(dataclasses.replace(module.ENTRY, kind=kind, known_answer=known))
    try:
        assert kind in known_kinds() and "rbc" not in known_kinds()
        run_dir = tmp_path / "out" / kind / "seed0"  # a finished search: validate skips it and compares
        member = Member(config_from_dict(config), seed=0)
        member.save(run_dir / "members" / "m0" / "final.pt")
        (run_dir / "config.yaml").write_text(yaml.safe_dump(config))
        pd.DataFrame({"member_id": ["m0"], "entry": [0.5]}).to_parquet(run_dir / "outcomes.parquet")
        assert main(["--economy", kind, "--seeds", "1", "--out", str(tmp_path / "out")]) == 0
    finally:
        registry._REGISTERED.pop(kind, None)
    table = pq.read_table(tmp_path / "out" / "validation.parquet").to_pylist()
    assert {r["economy"] for r in table} == {kind}
    got = {r["metric"]: r for r in table}
    assert got["entry"]["value"] == 0.5 and got["entry"]["error"] == 0.0
    assert 0.0 < got["enter_prob"]["value"] < 1.0 and math.isnan(got["enter_prob"]["known"])
    assert got["profile_all_enter_framework_before"]["seed"] == -1
    assert {"profile_all_enter_framework_type_epsilon", "profile_all_enter_framework_unilateral_epsilon"} <= set(got)
    report = (tmp_path / "out" / "validation.md").read_text()
    assert f"## {kind}" in report and "**met** — entry near one half in every seed" in report
    assert "| entry | 0.5 |" in report
    assert (tmp_path / "out" / f"{kind}_validation.png").stat().st_size > 0


def test_every_builtin_with_a_known_answer_is_a_choice():
    from pbt_econ.validate import config_path, known_kinds

    kinds = known_kinds()
    assert {"cournot", "growth", "coordination"} <= set(kinds) and "rbc" not in kinds
    assert all(config_path(k).is_file() for k in kinds)


def test_tiny_validate_run_writes_report_table_and_plots(tmp_path):
    from pbt_econ.validate import main

    economies = ("cournot", "growth", "coordination")
    argv = ["--seeds", "1", "--out", str(tmp_path)]
    for e in economies:
        argv += ["--economy", e]
    for o in TINY:
        argv += ["--set", o]
    assert main(argv) == 0
    report = (tmp_path / "validation.md").read_text()
    assert report.startswith("# Validation")
    for economy in economies:
        assert (tmp_path / f"{economy}_validation.png").stat().st_size > 0
        assert f"## {economy}" in report
    table = pq.read_table(tmp_path / "validation.parquet").to_pylist()
    assert {r["economy"] for r in table} == set(economies)
    for economy, metric in (("cournot", "mean_quantity"), ("growth", "mean_abs_error"),
                            ("coordination", "analysis_equilibria")):
        hits = [r for r in table if r["economy"] == economy and r["metric"] == metric]
        assert hits and all(math.isfinite(r["known"]) and math.isfinite(r["value"]) for r in hits)
    assert any(r["metric"] == "profile_collusive_framework_unilateral_epsilon" for r in table)
    assert main(argv) == 0  # resumable: every search is skipped the second time


def test_tiny_aiyagari_search_and_validation(tmp_path):
    """`python -m pbt_econ.validate --economy aiyagari` end to end on a tiny economy: the search runs, and the
    comparison with both dynamic-programming solutions gives finite r, K, Gini, Euler and Bellman numbers."""
    from pbt_econ.validate import main

    argv = ["--economy", "aiyagari", "--seeds", "1", "--out", str(tmp_path)]
    for o in TINY + ["economy.num_households=8", "economy.horizon=12", "economy.tail=4"]:
        argv += ["--set", o]
    assert main(argv) == 0
    table = pq.read_table(tmp_path / "validation.parquet").to_pylist()
    metrics = {r["metric"]: r for r in table if r["economy"] == "aiyagari"}
    assert metrics, table
    finite = [m for m, r in metrics.items() if math.isfinite(r["value"])]
    assert len(finite) >= 4, metrics
    report = (tmp_path / "validation.md").read_text()
    assert "## aiyagari" in report
    # the economy's own figure of the run (capital market, savings policy, Lorenz curves), linked in the report
    assert (tmp_path / "aiyagari_seed0_markets.png").stat().st_size > 10_000
    assert "(aiyagari_seed0_markets.png)" in report
    assert metrics["r_gap_pp"]["value"] == pytest.approx(abs(metrics["r_percent"]["value"] - metrics["r_percent"]["known"]))
