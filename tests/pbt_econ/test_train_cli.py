"""Tests of ``python -m pbt_econ.train``."""

from __future__ import annotations

import math

from pbt_econ.train import main as train_main


def test_train_cli_writes_outputs_and_resumes(tmp_path, capsys):
    out = tmp_path / "run"
    args = ["--set", "economy.num_consumers=4", "--set", "training.batch_size=8", "--set", "training.log_every=5",
            "--set", "training.checkpoint_every=10", "--out", str(out), "--no-progress"]
    assert train_main(args + ["--episodes", "10"]) == 0
    from pbt_econ.tables import read_table

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
