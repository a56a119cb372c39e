"""Tests of ``python -m pbt_econ.train``."""

from __future__ import annotations

import math

from pbt_econ.train import main as train_main


def test_train_cli_writes_outputs_and_resumes(tmp_path, capsys):
    out = tmp_path / "run"
    args = ["--set", "economy.num_consumers=4", "--set", "training.batch_size=8", "--set", "training.log_every=5",
            "--set", "training.checkpoint_every=10", "--out", str(out), "--no-progress"]
    assert train_main(args + ["--episodes", "10"]) == 0
    from pbt_econ.core.tables import read_table

    rows = read_table(out / "metrics.parquet", "metrics").to_pylist()
    assert [r["episode"] for r in rows] == [5, 10]
    assert (out / "config.yaml").exists() and (out / "checkpoint.pt").exists()
    assert all(math.isfinite(r["reward_consumer"]) for r in rows)
    assert train_main(args + ["--episodes", "15", "--resume"]) == 0
    rows = read_table(out / "metrics.parquet", "metrics").to_pylist()
    assert [r["episode"] for r in rows] == [5, 10, 15]
    assert train_main(args + ["--episodes", "15"]) == 2  # refuses to overwrite
    assert "pass --resume" in capsys.readouterr().err
    assert train_main(["--set", "economy.crra_eta=1", "--out", str(tmp_path / "x")]) == 2
    assert "economy.crra_eta = 1" in capsys.readouterr().err


def test_resume_refuses_overrides_it_would_not_apply(tmp_path, capsys):
    from pbt_econ.core.tables import read_table

    out = tmp_path / "run"
    args = ["--set", "economy.num_consumers=4", "--set", "training.batch_size=4", "--set", "training.log_every=5",
            "--set", "training.checkpoint_every=5", "--out", str(out), "--no-progress"]
    assert train_main(args + ["--episodes", "5"]) == 0
    capsys.readouterr()
    assert train_main(args + ["--episodes", "10", "--resume", "--set", "training.consumer.lr=0.05"]) == 2
    err = capsys.readouterr().err
    assert "training.consumer.lr = 0.003 in the run, 0.05 given" in err and "without those overrides" in err
    assert "lr: 0.05" not in (out / "config.yaml").read_text()  # nothing was written
    # allowed: more episodes, another checkpoint interval
    assert train_main(args + ["--episodes", "10", "--resume", "--set", "training.checkpoint_every=10"]) == 0
    assert [r["episode"] for r in read_table(out / "metrics.parquet", "metrics").to_pylist()] == [5, 10]


def test_rows_are_durable_before_the_checkpoint_that_covers_them(tmp_path, monkeypatch, capsys):
    """A crash right after the metrics write and before the checkpoint: resume drops the extra rows
    and re-trains them, so nothing is lost or duplicated and the result equals an uninterrupted run."""
    from pbt_econ.core.tables import read_table
    from pbt_econ.learning import member as member_module

    args = ["--set", "economy.num_consumers=4", "--set", "training.batch_size=4", "--set", "training.log_every=2",
            "--set", "training.checkpoint_every=4", "--no-progress"]
    assert train_main(args + ["--episodes", "12", "--out", str(tmp_path / "straight")]) == 0
    real_save = member_module.Member.save
    calls = {"n": 0}

    def crash_on_second_save(self, path):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt  # killed between the metrics write and the checkpoint
        return real_save(self, path)

    monkeypatch.setattr(member_module.Member, "save", crash_on_second_save)
    crashed = tmp_path / "crashed"
    assert train_main(args + ["--episodes", "12", "--out", str(crashed)]) == 130
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("interrupted; continue with: python -m pbt_econ.train")
    assert err[0].endswith("--resume") and "Traceback" not in err[0]
    rows = read_table(crashed / "metrics.parquet", "metrics").to_pylist()
    assert [r["episode"] for r in rows] == [2, 4, 6, 8]  # rows of episodes 5-8 were durable, checkpoint at 4
    monkeypatch.undo()
    assert train_main(args + ["--episodes", "12", "--out", str(crashed), "--resume"]) == 0

    def comparable(path):
        return [{k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()
                 if k != "episodes_per_s"}
                for r in read_table(path / "metrics.parquet", "metrics").to_pylist()]

    a, b = comparable(crashed), comparable(tmp_path / "straight")
    assert len(a) == len(b)
    for ra, rb in zip(a, b):
        assert ra == rb, {k: (ra[k], rb[k]) for k in ra if ra[k] != rb[k]}
