"""Cluster use: configs/cluster.yaml is a valid Ray cluster-launcher config, and a tiny search
submitted with `ray job submit` to a real Ray head on 127.0.0.1 (token auth on) completes."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from pbt_econ.config import CONFIG_DIR
from pbt_econ.tables import read_table

REPO = Path(__file__).resolve().parents[2]


def test_cluster_yaml_validates_against_rays_schema():
    import jsonschema
    import ray.autoscaler
    from ray.autoscaler._private.util import prepare_config, validate_config

    config = yaml.safe_load((CONFIG_DIR / "cluster.yaml").read_text())
    schema = json.loads((Path(ray.autoscaler.__file__).parent / "ray-schema.json").read_text())
    jsonschema.validate(config, schema)
    validate_config(prepare_config(config))
    gpu_nodes = [n for n in config["available_node_types"].values() if n.get("max_workers", 0) > 0]
    assert gpu_nodes and any("pip install -e ~/pbt-econ" in c for c in config["setup_commands"])
    broken = dict(config, max_workerz=3)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def ray_head():
    """A Ray head of this test's own: its own temp dir, ports and token, stopped by signalling its own
    process group, so no other Ray on this host (a developer's, another test's) is touched."""
    import secrets
    import signal
    import tempfile
    import time

    ray_cli = shutil.which("ray") or str(Path(sys.executable).parent / "ray")
    temp_dir = tempfile.mkdtemp(prefix="ray-t", dir="/tmp")  # short: Ray's unix socket paths have a length limit
    env = dict(os.environ, RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=secrets.token_hex(32))
    env.pop("RAY_ADDRESS", None)
    gcs, dash = _free_port(), _free_port()
    start = [ray_cli, "start", "--head", "--block", "--node-ip-address", "127.0.0.1", "--port", str(gcs),
             "--dashboard-host", "127.0.0.1", "--dashboard-port", str(dash), "--num-cpus", "2",
             "--include-dashboard", "true", "--disable-usage-stats", "--temp-dir", temp_dir]
    head = subprocess.Popen(start, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    address = f"http://127.0.0.1:{dash}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert head.poll() is None, f"ray start exited: {head.stderr.read().decode()[-3000:]}"
            probe = subprocess.run([ray_cli, "job", "list", "--address", address], env=env, capture_output=True,
                                   timeout=60)
            if probe.returncode == 0:
                break
            assert time.monotonic() < deadline, probe.stderr.decode()[-2000:]
            time.sleep(2)
        yield ray_cli, env, address
    finally:
        os.killpg(head.pid, signal.SIGTERM)
        try:
            head.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(head.pid, signal.SIGKILL)
            head.wait(timeout=30)
        shutil.rmtree(temp_dir, ignore_errors=True)


def test_ray_job_submit_runs_a_tiny_search(ray_head, tmp_path):
    from tests.populations.conftest import TINY

    ray_cli, env, address = ray_head
    out = tmp_path / "job-run"
    sets = [a for item in TINY if not item.startswith("population.num_cpus") for a in ("--set", item)]
    cmd = [ray_cli, "job", "submit", "--address", address, "--",
           sys.executable, "-m", "pbt_econ.search", *sets, "--out", str(out), "--no-progress", "--address", "auto"]
    proc = subprocess.run(cmd, env=env, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "succeeded" in proc.stdout + proc.stderr
    outcomes = read_table(out / "outcomes.parquet", "outcomes").to_pylist()
    assert len(outcomes) == 4
    assert (out / "equilibria.parquet").exists() and (out / "report.md").exists()
