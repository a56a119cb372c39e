"""Integration with a real local Ray (num_cpus=2): a tiny population runs to completion,
survives a killed member actor, and an interrupted driver resumes without duplicates."""

from __future__ import annotations

import json
import math

import optuna
import pytest

from pbt_econ.core.tables import read_table
from pbt_econ.equilibrium.score import rank_key
from pbt_econ.search import main as search_main
from populations.driver import run_search

ray = pytest.importorskip("ray")


# A test blocked inside Ray's C++ wait may never see the signal-based timeout; the thread method dumps
# every stack and ends the run, so a hang costs minutes and says where it was, not the CI's whole budget.
pytestmark = pytest.mark.timeout(900, method="thread")


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, _node_ip_address="127.0.0.1", namespace="pbt-econ-tests",
             log_to_driver=False)
    yield
    ray.shutdown()


def _wait_until_idle(when: str, timeout: float = 120.0) -> None:
    """Every CPU share of the test cluster is free (collecting garbage that may hold actor handles)."""
    import gc
    import sys
    import time

    deadline = time.monotonic() + timeout
    while True:
        sys.last_traceback = sys.last_value = None  # pytest keeps a failed test's traceback, and its frames
        gc.collect()
        total = ray.cluster_resources().get("CPU", 0.0)
        free = ray.available_resources().get("CPU", 0.0)
        if free >= total:
            return
        if time.monotonic() > deadline:
            pytest.fail(f"{when}: {total - free:g} of {total:g} Ray CPUs are still held {timeout:g} s on; an actor "
                        "was left alive, and the next search's actors would wait for its shares forever")
        time.sleep(0.5)


@pytest.fixture(autouse=True)
def idle_ray(request):
    """Each Ray test starts on an idle cluster and leaves it idle: a search kills its actors when it ends,
    however it ends (an interrupt included)."""
    if "local_ray" not in request.fixturenames:
        yield
        return
    _wait_until_idle(f"before {request.node.name}")
    yield
    _wait_until_idle(f"after {request.node.name}")


def comparable(rows):
    """Metrics rows without wall-clock and bookkeeping columns, sorted (NaN -> None to compare)."""
    drop = {"episodes_per_s", "restarts", "trial"}
    return sorted(({k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()
                    if k not in drop} for r in rows),
                  key=lambda r: (r["member_id"], r["episode"]))


def assert_row_consistent(r):
    """A best-response row's ε is its clipped gain, and its verdict is the one its interval and tolerance give
    (docs/model.md §6): the relative gain's interval ``[gain_low / ref, gain_high / ref]`` (``ref``: the
    training improvement if positive, else ``|before|``; the ends are corrected for skewness, so they need
    not be ``gain ∓ gain_ci95``, but they bracket the gain) is below the tolerance (verified), above it
    (violated), or straddles it (inconclusive, as is a row without a usable reference or interval). A
    certificate with other candidates still open is never verified, nor is an unconverged trained row."""
    before, after, tol = r["reward_before"], r["reward_after"], r["tolerance"]
    gain = after - before
    assert r["epsilon_abs"] == pytest.approx(max(0.0, gain), rel=1e-9, abs=1e-9)
    improvement = before - r["reward_untrained"]
    ref = improvement if improvement > 0 else abs(before)
    low, high = r["gain_low"], r["gain_high"]
    usable = all(v is not None and math.isfinite(v) for v in (low, high, r["gain_ci95"]))
    slack = 1e-9 * (1 + abs(gain) + abs(before))  # the gain is a mean of differences, not a difference of means
    if not (math.isfinite(ref) and ref > 0) or not usable:
        assert r["verdict"] == "inconclusive", r
        return
    assert low - slack <= gain <= high + slack, r
    lo, hi = (low - slack) / ref, (high + slack) / ref
    lo_in, hi_in = (low + slack) / ref, (high - slack) / ref
    by_interval = {"verified": hi_in < tol, "violated": lo_in > tol, "inconclusive": lo <= tol <= hi}
    blocked = r["candidates_open"] > 0 or not r["converged"]
    if blocked:
        assert r["verdict"] != "verified", r
        by_interval["inconclusive"] = by_interval["inconclusive"] or by_interval["verified"]
    assert r["verdict"] in by_interval and by_interval[r["verdict"]], r


@pytest.fixture(scope="module")
def baseline(local_ray, tiny_config, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("baseline")
    result = run_search(tiny_config, run_dir, show_progress=False)
    return run_dir, result


def test_tiny_population_writes_every_table(baseline, tiny_config):
    run_dir, result = baseline
    metrics = read_table(run_dir / "metrics.parquet", "metrics").to_pylist()
    assert sorted((r["member_id"], r["episode"]) for r in metrics) == sorted(
        (f"m{i:03d}", e) for i in range(4) for e in (5, 10, 15, 20))
    assert {r["niche"] for r in metrics} == {"paper", "none"}
    outcomes = read_table(run_dir / "outcomes.parquet", "outcomes").to_pylist()
    assert [o["member_id"] for o in outcomes] == ["m000", "m001", "m002", "m003"]
    assert len(result.outcomes) == 4
    br = read_table(run_dir / "best_response.parquet", "best_response").to_pylist()
    trained_type_level = [r for r in br if r["start"] == "learned" and r["deviation"] == "type"]
    assert len(trained_type_level) == 4 * 3
    for r in br:
        assert_row_consistent(r)
    # per member: trained unilateral deviations of 2 consumers and 2 firms; certificates of the firm
    # (type-level, 2 unilateral) and of the government (type-level only: one agent), constant and, with the
    # default config's best_response.endgame_steps, end-game ones
    for m in ("m000", "m001", "m002", "m003"):
        kinds = sorted((r["agent_type"], r["start"], r["deviation"]) for r in br
                       if r["member_id"] == m and r["deviation"] == "unilateral" or
                       (r["member_id"] == m and r["start"] in ("constant", "endgame")))
        assert kinds == sorted([("consumer", "learned", "unilateral")] * 2 + [("firm", "learned", "unilateral")] * 2
                               + [("firm", start, "type") for start in ("constant", "endgame")]
                               + [("firm", start, "unilateral") for start in ("constant", "endgame")] * 2
                               + [("government", start, "type") for start in ("constant", "endgame")])
        endgame = [r for r in br if r["member_id"] == m and r["start"] == "endgame"]
        assert all(r["action"].split(":")[0] in ("step=8", "step=9") for r in endgame)
    lineage = read_table(run_dir / "lineage.parquet", "lineage").to_pylist()
    niches = {o["member_id"]: o["niche"] for o in outcomes}
    # Two niches of two members, quantile 0.25: exactly one exploit per niche after segment 0.
    assert sorted(niches[e["child"]] for e in lineage) == ["none", "paper"]
    # The default config ranks by equilibrium: every metrics row carries its segment's exploitability score,
    # and a child ranks below its parent by (score, then welfare) when it copies it.
    assert all(math.isfinite(r["exploitability"]) and r["exploitability"] >= 0 for r in metrics)
    score_at = {(r["member_id"], r["segment"]): r["exploitability"] for r in metrics}
    for e in lineage:
        assert e["child"] != e["parent"] and e["changes"]
        assert niches[e["child"]] == niches[e["parent"]] and e["segment"] == 0 and e["episode"] == 10
        assert (e["child_score"], e["parent_score"]) == (score_at[e["child"], 0], score_at[e["parent"], 0])
        assert rank_key(e["child_fitness"], e["child_score"]) < rank_key(e["parent_fitness"], e["parent_score"])
    study = optuna.load_study(study_name="tiny", storage=f"sqlite:///{run_dir / 'optuna.db'}")
    assert len(study.trials) == 4 * 2
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials)
    for t in study.trials:
        for path, value in t.params.items():
            p = tiny_config.search_space[path]
            assert p.low <= value <= p.high
    assert (run_dir / "members" / "m000" / "final.pt").exists()
    assert json.loads((run_dir / "driver.json").read_text())["finished"] is True


def test_killed_actor_restarts_from_checkpoint(baseline, tiny_config, tmp_path):
    def kill_first(segment, actors):
        if segment == 0:
            ray.kill(actors["m000"], no_restart=True)

    run_search(tiny_config, tmp_path, show_progress=False, on_segment=kill_first)
    state = json.loads((tmp_path / "driver.json").read_text())
    assert [m["restarts"] for m in state["members"]] == [1, 0, 0, 0]
    rows = read_table(tmp_path / "metrics.parquet", "metrics").to_pylist()
    assert comparable(rows) == comparable(read_table(baseline[0] / "metrics.parquet", "metrics").to_pylist())


@pytest.mark.parametrize("stop_after", [0, 1], ids=["mid-training", "before-best-response"])
def test_interrupted_driver_resumes_without_duplicates(baseline, tiny_config, tmp_path, stop_after):
    def interrupt(segment, actors):
        if segment == stop_after:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt) as interrupted:
        run_search(tiny_config, tmp_path, show_progress=False, on_segment=interrupt)
    # The interrupted driver killed its actors: their CPU shares are free while its traceback still holds them.
    _wait_until_idle("after the interrupt", timeout=60)
    assert interrupted.traceback  # still alive here
    del interrupted
    assert json.loads((tmp_path / "driver.json").read_text())["segment"] == stop_after + 1
    result = run_search(tiny_config, tmp_path, resume=True, show_progress=False)
    from pbt_econ.core.tables import flatten

    assert comparable([flatten(o) for o in result.outcomes]) == comparable([flatten(o) for o in baseline[1].outcomes])
    rows = read_table(tmp_path / "metrics.parquet", "metrics").to_pylist()
    assert len(rows) == len({(r["member_id"], r["episode"]) for r in rows}) == 16
    assert comparable(rows) == comparable(read_table(baseline[0] / "metrics.parquet", "metrics").to_pylist())
    study = optuna.load_study(study_name="tiny", storage=f"sqlite:///{tmp_path / 'optuna.db'}")
    assert len(study.trials) == 8
    # The sampler proposed exactly what it proposed without the interruption (seeded per member and segment).
    uninterrupted = optuna.load_study(study_name="tiny", storage=f"sqlite:///{baseline[0] / 'optuna.db'}")
    key = lambda t: (t.user_attrs["member"], t.user_attrs["segment"])  # noqa: E731
    assert sorted((key(t), t.params, t.values) for t in study.trials) == sorted(
        (key(t), t.params, t.values) for t in uninterrupted.trials)
    lineage = read_table(tmp_path / "lineage.parquet", "lineage").to_pylist()
    assert lineage == read_table(baseline[0] / "lineage.parquet", "lineage").to_pylist()


def test_search_cli_runs_analysis_and_refuses_to_overwrite(local_ray, tmp_path, capsys):
    from tests.populations.conftest import TINY

    args = [a for item in TINY for a in ("--set", item)] + ["--out", str(tmp_path), "--no-progress"]
    assert search_main(args) == 0
    out = capsys.readouterr().out
    assert "m003" in out and "report:" in out
    for name in ("equilibria.parquet", "report.md", "plots/spectrum.png", "config.yaml"):
        assert (tmp_path / name).exists(), name
    assert search_main(args) == 2
    assert "already holds a search" in capsys.readouterr().err
    assert search_main(["--resume", str(tmp_path), "--no-progress"]) == 0  # finished: analysis only


@pytest.mark.slow
def test_search_driver_killed_with_sigkill_resumes_to_identical_results(baseline, tmp_path):
    """kill -9 of the whole driver process group (driver and its local Ray) in the middle of training,
    then `--resume`: outcomes, metrics, trials and lineage equal the uninterrupted search's."""
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    from tests.populations.conftest import TINY

    repo = Path(__file__).resolve().parents[2]
    run_dir = tmp_path / "killed"
    sets = [a for item in TINY for a in ("--set", item)]
    cmd = [sys.executable, "-m", "pbt_econ.search", *sets, "--out", str(run_dir), "--no-progress", "--no-analysis"]
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    proc = subprocess.Popen(cmd, cwd=repo, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    state = run_dir / "driver.json"
    deadline = time.time() + 400
    while time.time() < deadline and proc.poll() is None:
        if state.exists() and json.loads(state.read_text()).get("segment", 0) >= 1:
            break
        time.sleep(0.2)
    assert proc.poll() is None, "the search finished before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    assert not json.loads(state.read_text()).get("finished")
    resumed = subprocess.run([sys.executable, "-m", "pbt_econ.search", "--resume", str(run_dir), "--no-progress",
                              "--no-analysis"], cwd=repo, env=env, capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    base_dir = baseline[0]
    assert comparable(read_table(run_dir / "metrics.parquet", "metrics").to_pylist()) == comparable(
        read_table(base_dir / "metrics.parquet", "metrics").to_pylist())
    strip = lambda rows: [{k: (None if isinstance(v, float) and math.isnan(v) else v)  # noqa: E731
                           for k, v in r.items() if k != "restarts"} for r in rows]  # NaN-aware
    assert strip(read_table(run_dir / "outcomes.parquet", "outcomes").to_pylist()) == strip(
        read_table(base_dir / "outcomes.parquet", "outcomes").to_pylist())
    assert read_table(run_dir / "lineage.parquet", "lineage").to_pylist() == read_table(
        base_dir / "lineage.parquet", "lineage").to_pylist()
    trials = lambda d: sorted((t.user_attrs["member"], t.user_attrs["segment"], t.params, t.values)  # noqa: E731
                              for t in optuna.load_study(study_name="tiny", storage=f"sqlite:///{d / 'optuna.db'}").trials)
    assert trials(run_dir) == trials(base_dir)


QD = ["population.episodes=30", "population.archive.enabled=true", "population.archive.probe_episodes=2",
      "population.archive.bins=4", "population.archive.min_improvement=10"]
"""Three segments, probes after the first two; min_improvement 10 (fitness must grow elevenfold) makes
every member stall after segment 1, so restarts from the archive surely happen."""


@pytest.fixture(scope="module")
def qd_baseline(local_ray, tmp_path_factory):
    from pbt_econ.config.load import dump_config, load_config
    from tests.populations.conftest import TINY

    config = load_config(overrides=TINY + QD)
    run_dir = tmp_path_factory.mktemp("qd")
    (run_dir / "config.yaml").write_text(dump_config(config))  # as `python -m pbt_econ.search` does
    run_search(config, run_dir, show_progress=False)
    return config, run_dir


def test_quality_diversity_search_writes_every_new_file(qd_baseline):
    from analysis.report import analyse_runs

    config, run_dir = qd_baseline
    probes = read_table(run_dir / "probes.parquet", "probes").to_pylist()
    assert sorted((p["kind"], p["segment"]) for p in probes) == sorted(
        [("probe", 0)] * 4 + [("probe", 1)] * 4 + [("final", 3)] * 4)
    spent = [p["episodes_spent"] for p in probes]
    assert spent == sorted(spent) and spent[0] > 4 * 10  # training plus probe episodes
    assert all(math.isfinite(p["welfare"]) and p["eval_seeds"] in (2, 4) for p in probes)
    archive = read_table(run_dir / "archive.parquet", "archive").to_pylist()
    assert archive and len({(r["cell_x"], r["cell_y"]) for r in archive}) == len(archive)
    assert sum(r["visits"] for r in archive) == len(probes)  # every probe was offered to the archive
    for r in archive:
        assert (run_dir / r["checkpoint"]).exists()
        assert r["x_low"] <= min(max(r["x"], 0.0), 1.0) <= r["x_high"] + 1e-9
        events = r["history"].split(";")
        assert events[0].endswith(":added") and len(events) <= r["visits"]
        assert f"{r['member_id']}@{r['episode']}:" in r["history"]
    # Only the current elites' states are kept.
    assert sorted(p.relative_to(run_dir).as_posix() for p in (run_dir / "archive").glob("*.pt")) == sorted(
        r["checkpoint"] for r in archive)
    lineage = read_table(run_dir / "lineage.parquet", "lineage").to_pylist()
    restarts = [e for e in lineage if e["kind"] == "restart"]
    # After segment 0 nobody has a history to stall on; after segment 1 every member is stalled.
    assert sorted(e["child"] for e in restarts) == ["m000", "m001", "m002", "m003"]
    assert all(e["segment"] == 1 and e["cell"] for e in restarts)
    assert not [e for e in lineage if e["kind"] == "exploit"]  # no within-niche copies in this mode
    state = json.loads((run_dir / "driver.json").read_text())
    assert all(len(m["fitness_history"]) == 3 for m in state["members"])
    # Elites that are not final outcomes got the full check and are outcomes too.
    outcomes = read_table(run_dir / "outcomes.parquet", "outcomes").to_pylist()
    elites = {f"{r['member_id']}@e{r['episode']}" for r in archive if r["episode"] < 30}
    assert {o["member_id"] for o in outcomes if o["niche"].startswith("archive:")} == elites
    assert len(outcomes) == 4 + len(elites)
    br = read_table(run_dir / "best_response.parquet", "best_response").to_pylist()
    assert {r["member_id"] for r in br} == {o["member_id"] for o in outcomes}
    assert all(r["member_episode"] < 30 for r in br if "@" in r["member_id"])
    result = analyse_runs([run_dir])
    for name in ("plots/coverage.png", "plots/discovery.png"):
        assert (run_dir / name).stat().st_size > 0, name
    drawn = {p.path.name: p.points for p in result.plots}
    assert drawn["coverage.png"] == len(archive) and drawn["discovery.png"] == 3
    report = (run_dir / "report.md").read_text()
    assert "quality-diversity archive over export_share x income_tax" in report and "coverage.png" in report


def test_quality_diversity_search_resumes_to_the_same_archive(qd_baseline, tmp_path):
    config, base = qd_baseline

    def interrupt(segment, actors):
        if segment == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_search(config, tmp_path, show_progress=False, on_segment=interrupt)
    run_search(config, tmp_path, resume=True, show_progress=False)
    def rows(d, table):  # NaN-aware (a type without unilateral deviations has NaN there)
        return [{k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()}
                for r in read_table(d / f"{table}.parquet", table).to_pylist()]

    for table in ("archive", "probes", "lineage"):
        assert rows(tmp_path, table) == rows(base, table), table
    assert comparable(read_table(tmp_path / "metrics.parquet", "metrics").to_pylist()) == comparable(
        read_table(base / "metrics.parquet", "metrics").to_pylist())


def test_assessing_more_elites_than_free_cpu_shares_does_not_deadlock(qd_baseline, tmp_path):
    """Elite actors beyond the free CPU shares wait as pending actors and start as earlier ones finish."""
    import dataclasses
    import shutil

    from populations.driver import _assess_elites
    from populations.members import MemberRecord, Population
    from populations.quality_diversity import QualitySearch

    config, base = qd_baseline
    run_dir = tmp_path / "run"
    shutil.copytree(base, run_dir)
    state = json.loads((run_dir / "driver.json").read_text())
    records = [MemberRecord(**m) for m in state["members"]]
    population = Population(config, run_dir, records, show_progress=False)
    population.cpus = 2.0  # one elite actor at a time on the 2-CPU Ray
    qd = QualitySearch(config, run_dir, state["quality_diversity"])
    source = next(e for e in qd.archive.elites.values())
    qd.archive.elites = {(i, 0): dataclasses.replace(source, member_id=f"m00{i}", episode=10 + i) for i in range(3)}
    outcomes = _assess_elites(config, population, qd, [])
    assert sorted(o.member_id for o in outcomes) == ["m000@e10", "m001@e11", "m002@e12"]
    assert all(o.niche.startswith("archive:") and math.isfinite(o.descriptors.welfare) for o in outcomes)


def test_refinement_adds_refined_outcomes_and_refine_lineage(baseline, tiny_config, tmp_path):
    """With population.refine on, every violated member (a tiny search violates) gets a refined outcome
    ``<member>~r`` with ε before and after, its deviations in best_response.parquet, and a lineage row of
    kind ``refine``; the members' own outcomes are those of the search without refinement."""
    import dataclasses

    config = dataclasses.replace(tiny_config, population=dataclasses.replace(
        tiny_config.population, refine=dataclasses.replace(tiny_config.population.refine, rounds=1)))
    run_search(config, tmp_path, show_progress=False)
    outcomes = {o["member_id"]: o for o in read_table(tmp_path / "outcomes.parquet", "outcomes").to_pylist()}
    base = {o["member_id"]: o for o in read_table(baseline[0] / "outcomes.parquet", "outcomes").to_pylist()}
    assert {m: outcomes[m]["epsilon_max_rel"] for m in base} == {m: o["epsilon_max_rel"] for m, o in base.items()}
    refined = [o for m, o in outcomes.items() if m.endswith("~r")]
    assert refined, "a tiny search has violated outcomes to refine"
    for o in refined:
        parent = o["refined_from"]
        assert o["member_id"] == f"{parent}~r" and o["niche"] == f"refine:{base[parent]['niche']}"
        assert o["refine_rounds"] == 1 and o["epsilon_max_rel_before"] == base[parent]["epsilon_max_rel"]
        assert o["refine_ending"] in ("converged", "stuck", "cycling", "rounds exhausted")
    br = read_table(tmp_path / "best_response.parquet", "best_response").to_pylist()
    assert {r["member_id"] for r in br} >= {o["member_id"] for o in refined}
    lineage = [e for e in read_table(tmp_path / "lineage.parquet", "lineage").to_pylist() if e["kind"] == "refine"]
    assert sorted(e["child"] for e in lineage) == sorted(o["member_id"] for o in refined)
    assert all("round 1: adopted" in e["changes"] for e in lineage)


def test_solver_stage_adds_solved_outcomes_convergence_table_and_lineage(baseline, tiny_config, tmp_path):
    """With population.solve on, every member not verified is solved: solve.parquet has its rounds (round 0 =
    the member's own check), a member that trained gets ``<member>~s`` with how the solver ended, and a
    lineage row of kind ``solve``; the members' own outcomes are those of the search without the stage."""
    import dataclasses

    solve = dataclasses.replace(tiny_config.population.solve, enabled=True, rounds=1, episodes=2)
    config = dataclasses.replace(tiny_config, population=dataclasses.replace(tiny_config.population, solve=solve))
    run_search(config, tmp_path, show_progress=False)
    outcomes = {o["member_id"]: o for o in read_table(tmp_path / "outcomes.parquet", "outcomes").to_pylist()}
    base = {o["member_id"]: o for o in read_table(baseline[0] / "outcomes.parquet", "outcomes").to_pylist()}
    assert {m: outcomes[m]["epsilon_max_rel"] for m in base} == {m: o["epsilon_max_rel"] for m, o in base.items()}
    unverified = sorted(m for m, o in base.items() if o["verdict"] != "verified")
    assert unverified, "a tiny search has outcomes that are not verified"
    rounds = read_table(tmp_path / "solve.parquet", "solve").to_pylist()
    assert sorted({r["member_id"] for r in rounds}) == unverified
    for m in unverified:  # round 0 is the member's own final check: the same Nash verdict
        first = [r for r in rounds if r["member_id"] == m and r["round"] == 0]
        assert first and first[0]["outcome_verdict"] == base[m]["verdict"]
    for m in unverified:  # one round is kept per member: the least exploitable
        assert len({r["round"] for r in rounds if r["member_id"] == m and r["chosen"]}) == 1
    solved = {m: o for m, o in outcomes.items() if m.endswith("~s")}
    kept_trained = sorted({r["member_id"] for r in rounds if r["round"] == 1 and r["chosen"]})
    assert sorted(o["refined_from"] for o in solved.values()) == kept_trained  # round 0 kept: no ~s outcome
    for o in solved.values():
        assert o["refine_rounds"] == 1 and o["refine_ending"].startswith("solve: ")
        assert o["niche"] == f"solve:{base[o['refined_from']]['niche']}"
    lineage = [e for e in read_table(tmp_path / "lineage.parquet", "lineage").to_pylist() if e["kind"] == "solve"]
    assert sorted(e["child"] for e in lineage) == sorted(solved)
