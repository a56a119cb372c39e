"""`python -m pbt_econ.reproduce`: presets validate, bad input is refused, a tiny small-scale run writes
every file, and --resume re-runs only what has no result."""

from __future__ import annotations

import json
import math

import pytest

from pbt_econ.core.tables import read_table
from pbt_econ.reproduce.__main__ import main
from pbt_econ.studies.paper.plan import SCALES, load_preset, plan_runs, run_config

TINY = ["economy.num_consumers=4", "economy.num_firms=2", "training.batch_size=8", "training.hidden_size=32",
        "training.episodes=6", "training.log_every=3", "training.checkpoint_every=3", "best_response.episodes=2",
        "best_response.eval_episodes=1", "analysis.eval_seeds=2", "analysis.bootstrap=20"]


def test_every_preset_plans_and_validates_every_run_config():
    for scale in SCALES:
        preset, _ = load_preset(scale)
        specs = plan_runs(preset)
        assert len({s.run_id for s in specs}) == len(specs)
        curricula = [s for s in specs if s.experiment == "curricula"]
        assert len(curricula) == 2 * len(preset.curricula) * preset.seeds
        assert sum(s.economy == "open" for s in curricula) >= 16  # the spectrum needs at least 16 open outcomes
        for s in specs:
            config = run_config(preset, s)
            assert config.seed == s.seed and config.curriculum.name == s.curriculum
            assert config.economy.open_economy == (s.economy == "open")
            if s.experiment == "fixed_tax":
                assert config.fixed == {"government": {"income_tax": s.income_tax, "corporate_tax": s.corporate_tax}}
    paper = load_preset("paper")[0]
    assert run_config(paper, plan_runs(paper)[0]).device == "cuda"


@pytest.mark.parametrize("args, message", [
    (["--scale", "huge"], "not one of small, cpu, paper"),
    (["--seeds", "0"], "--seeds 0: must be at least 1"),
    (["--first-seed", "-1"], "--first-seed -1"),
    (["--set", "training.episodes=-3"], "episodes"),
    (["--scale", "paper"], "no CUDA GPU"),
])
def test_bad_input_is_refused_before_any_work(tmp_path, capsys, args, message):
    out = tmp_path / "out"
    assert main([*args, "--out", str(out)]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_off_grid_fixed_tax_names_the_allowed_values(tmp_path, capsys):
    preset = tmp_path / "preset.yaml"
    text = load_preset("small")[1].read_text().replace("income_tax: [0.2, 0.4, 0.6]", "income_tax: [0.3]")
    preset.write_text(text)
    assert main(["--scale", str(preset), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "fixed_tax" in err and "0.3" in err and "0.4" in err


@pytest.mark.slow
def test_tiny_small_scale_reproduction_writes_every_file_and_resumes(tmp_path, capsys):
    out = tmp_path / "repro"
    args = ["--scale", "small", "--seeds", "1", "--out", str(out), "--no-progress", "--num-cpus", "2"]
    args += [a for item in TINY for a in ("--set", item)]
    assert main(args) == 0
    log = capsys.readouterr().out
    rows = read_table(out / "reproduction.parquet", "reproduction").to_pylist()
    assert len(rows) == 6 + 18  # 3 curricula x 2 economies x 1 seed + 3 x 3 tax points x 2 seeds
    assert sum(r["experiment"] == "fixed_tax" for r in rows) == 18
    assert all(r["fixed_types"] == "government" for r in rows if r["experiment"] == "fixed_tax")
    assert all(math.isnan(r["epsilon_rel_government"]) for r in rows if r["experiment"] == "fixed_tax")
    assert all(r["status"] == "ok" and r["wall_s"] > 0 and r["eval_seeds"] == 2 for r in rows)
    assert {(r["economy"], r["curriculum"]) for r in rows if r["experiment"] == "curricula"} == {
        (e, c) for e in ("open", "closed") for c in ("paper", "none", "firms-first")}
    report = (out / "reproduction.md").read_text()
    for claim in ("| 1 |", "| 2-consumer |", "| 3 |", "| 4 |", "| 4a |", "| 5 |"):
        assert claim in report, claim
    assert "Table 3" in report and "Verdict rules" in report
    for plot in ("collapse", "best_response", "fixed_tax", "relations"):
        assert (out / "plots" / f"{plot}.png").stat().st_size > 0, plot
    assert "reproduction.md" in log

    # Without --resume an existing reproduction is refused; with it only runs without a result run again.
    assert main(args) == 2
    assert "already holds a reproduction" in capsys.readouterr().err
    results = sorted((out / "runs").glob("*/result.json"))
    assert len(results) == 24
    removed = [p for p in results if "curricula-open-none" in str(p) or "fixed_tax-i0.2-c0.2-s1" in str(p)]
    kept = {p: p.read_text() for p in results if p not in removed}
    for p in removed:
        p.unlink()
    assert main([*args, "--resume"]) == 0
    log = capsys.readouterr().out
    assert log.count("] curricula-") + log.count("] fixed_tax-") == 2  # one log line per run that ran
    assert "curricula-open-none-s0" in log and "fixed_tax-i0.2-c0.2-s1" in log
    assert all(p.read_text() == text for p, text in kept.items())  # finished runs were not re-run
    assert len(read_table(out / "reproduction.parquet", "reproduction").to_pylist()) == 24
    # A resume with another plan is refused, naming what differs.
    assert main([*args[:2], "--seeds", "2", *args[4:], "--resume"]) == 2
    assert "seeds differs" in capsys.readouterr().err
    assert json.loads((out / "reproduce.json").read_text())["seeds"] == 1
