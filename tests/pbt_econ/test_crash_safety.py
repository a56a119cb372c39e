"""kill -9 at random moments, resume, repeat: no episode lost, none duplicated, numbers identical."""

from __future__ import annotations

import math
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pbt_econ.core.tables import read_table
from pbt_econ.train import main as train_main

REPO = Path(__file__).resolve().parents[2]
ARGS = ["--set", "economy.num_consumers=3", "--set", "training.batch_size=2", "--set", "training.hidden_size=16",
        "--set", "training.log_every=1", "--set", "training.checkpoint_every=1", "--episodes", "600", "--no-progress"]


def comparable(path: Path) -> list[dict]:
    return [{k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items() if k != "episodes_per_s"}
            for r in read_table(path / "metrics.parquet", "metrics").to_pylist()]


@pytest.mark.slow
def test_kill_9_at_random_moments_loses_and_duplicates_nothing(tmp_path):
    straight = tmp_path / "straight"
    assert train_main(ARGS + ["--out", str(straight)]) == 0
    killed = tmp_path / "killed"
    rng = random.Random(0)
    kills = 0
    for _attempt in range(40):
        resume = ["--resume"] if (killed / "checkpoint.pt").exists() else []
        proc = subprocess.Popen([sys.executable, "-m", "pbt_econ.train", *ARGS, "--out", str(killed), *resume],
                                cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # Wait until it is training (a checkpoint newer than its start), then kill it at a random moment.
        started = time.time()
        while proc.poll() is None and time.time() - started < 60:
            ck = killed / "checkpoint.pt"
            if ck.exists() and ck.stat().st_mtime > started:
                break
            time.sleep(0.02)
        time.sleep(rng.uniform(0.0, 0.6))
        if proc.poll() is not None:
            break  # finished before the kill
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        kills += 1
        if kills >= 12:
            break
    assert kills >= 10, f"only {kills} kills landed before the run finished"
    assert train_main(ARGS + ["--out", str(killed), "--resume"]) == 0
    rows = comparable(killed)
    episodes = [r["episode"] for r in rows]
    assert episodes == list(range(1, 601)), "episodes lost or duplicated"
    assert rows == comparable(straight)
    assert not [p for p in killed.iterdir() if p.name.endswith(".tmp")]
