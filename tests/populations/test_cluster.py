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

from pbt_econ.config.load import CONFIG_DIR
from pbt_econ.core.tables import read_table

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
    starts = " ".join(config["head_start_ray_commands"] + config["worker_start_ray_commands"])
    assert "0.0.0.0" not in starts and "--dashboard-host=127.0.0.1" in starts
    assert all("RAY_AUTH_MODE=token ray start" in c for c in starts.split(" - ") if "ray start" in c)
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


def _descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    out, todo = set(), [pid]
    while todo:
        p = todo.pop()
        for c in children.get(p, []):
            if c not in out:
                out.add(c)
                todo.append(c)
    return out


def _listeners() -> list[tuple[str, int, str, int]]:
    """``(ip, port, process name, pid)`` of every listening TCP socket (``ss -ltnpH``)."""
    import re

    rows = []
    for line in subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True, check=True).stdout.splitlines():
        cols = line.split()
        addr = cols[3]
        ip, port = addr.rsplit(":", 1)
        for name, pid in re.findall(r'\("([^"]+)",pid=(\d+)', line):
            rows.append((ip.strip("[]"), int(port), name, int(pid)))
    return rows


def test_local_search_ray_listeners_and_token_authentication(tmp_path):
    """What a local search's Ray listens on, and that a client without the token is refused.

    Ray 2.60 binds its gRPC servers to every interface whatever the node IP (docs/cluster.md), so the
    protection is token authentication: start_ray keeps it on, and an unauthenticated client fails."""
    code = """
import json, os, sys, ray
from pbt_econ.config.load import load_config
from populations.members import start_ray
start_ray(load_config(overrides=["population.num_cpus=1"]), None)
node = ray._private.worker.global_worker.node
print(json.dumps({"gcs": node.gcs_address}), flush=True)
sys.stdin.readline()
ray.shutdown()
"""
    env = {k: v for k, v in os.environ.items() if k not in ("RAY_AUTH_MODE", "RAY_ADDRESS")}
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=REPO, env=env, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        info = json.loads(proc.stdout.readline())
        ours = _descendants(proc.pid) | {proc.pid}
        listeners = [row for row in _listeners() if row[3] in ours]
        assert listeners, "a local Ray listens somewhere"
        exposed = sorted({(ip, name) for ip, _, name, _ in listeners if not ip.startswith("127.")})
        # The documented exception: Ray's own servers and workers, nothing else of ours.
        assert all(name.startswith(("raylet", "gcs_server", "ray::", "python")) for _, name in exposed), exposed
        assert not any(port == 8265 for _, port, _, _ in listeners)  # no dashboard
        # A client without the token is refused.
        home = tmp_path / "home"
        home.mkdir()
        client_env = dict(env, HOME=str(home), RAY_AUTH_MODE="token")
        client_env.pop("RAY_AUTH_TOKEN", None)
        client = subprocess.run([sys.executable, "-c", f"import ray; ray.init(address='{info['gcs']}')"],
                                env=client_env, capture_output=True, text=True, timeout=180)
        assert client.returncode != 0
        assert "token" in (client.stdout + client.stderr).lower()
    finally:
        proc.stdin.write("\n")
        proc.stdin.flush()
        proc.wait(timeout=120)


def test_start_ray_refuses_to_turn_token_authentication_off(monkeypatch):
    from pbt_econ.config.load import load_config
    from populations.members import SearchError, start_ray

    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")
    with pytest.raises(SearchError, match="keeps Ray's token authentication on"):
        start_ray(load_config(), None)
