"""The driver's view of the running population: member records, Ray actors, progress bars.

:class:`Population` owns one Ray actor per member (:mod:`populations.actor`)
and restarts an actor that dies from its last checkpoint;
:class:`MemberRecord` is what the driver remembers of a member in
``driver.json``. Every decision stays in :mod:`populations.driver`.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pbt_econ.config.load import RunConfig, load_curriculum, replace_path
from pbt_econ.core.rundir import RunDir

__all__ = ["MemberRecord", "Population", "SearchError", "start_ray"]


class SearchError(RuntimeError):
    """The search cannot go on (an actor died too often, a member diverged, ...)."""


@dataclass
class MemberRecord:
    """A member as the driver remembers it in ``driver.json``."""

    member_id: str
    niche: str
    curriculum: dict[str, Any]
    seed: int
    hyperparameters: dict[str, float] = field(default_factory=dict)
    trial: int | None = None
    restarts: int = 0
    """Times its actor died and was restarted."""
    fitness_history: list[float] = field(default_factory=list)
    """Fitness after each segment so far (the quality-diversity search restarts members that stall)."""


def start_ray(config: RunConfig, address: str | None) -> bool:
    """Join ``address`` (or ``RAY_ADDRESS``) or start a local Ray on 127.0.0.1; True if we started it.

    A local Ray advertises 127.0.0.1 and runs no dashboard, but Ray 2.60's gRPC servers (GCS,
    raylet, workers, agents) still listen on all interfaces (docs/cluster.md lists them), so token
    authentication must stay on: it is the default in Ray 2.60 (which generates ``~/.ray/auth_token``
    on first use), and this function refuses to start a local Ray with ``RAY_AUTH_MODE`` set to
    anything but ``token``. (Ray reads the variable when it is imported, so it is checked, not set.)
    """
    mode = os.environ.get("RAY_AUTH_MODE", "token")
    if mode != "token":
        raise SearchError(f"RAY_AUTH_MODE={mode!r}: pbt-econ keeps Ray's token authentication on, because Ray's "
                          "servers listen on every network interface (docs/cluster.md); unset RAY_AUTH_MODE")
    import ray

    if ray.is_initialized():
        return False
    target = address or os.environ.get("RAY_ADDRESS")
    if target:
        ray.init(address=target, namespace="pbt-econ", log_to_driver=False)
        return True
    ray.init(num_cpus=config.population.num_cpus, include_dashboard=False, namespace="pbt-econ",
             _node_ip_address="127.0.0.1", log_to_driver=False)
    return True


class Population:
    """The driver's view of the running members (actors, records, progress)."""

    def __init__(self, config: RunConfig, run_dir: Path, records: list[MemberRecord], show_progress: bool):
        import ray

        self.ray = ray
        self.config = config
        self.run_dir = run_dir
        self.layout = RunDir(run_dir)
        self.records = {r.member_id: r for r in records}
        self.actors: dict[str, Any] = {}
        pop = config.population
        total_cpus = float(ray.cluster_resources().get("CPU", 1.0))
        self.cpus = min(pop.cpus_per_member, total_cpus / max(1, pop.size)) if pop.gpus_per_member == 0 \
            else pop.cpus_per_member
        self.threads = max(1, int(self.cpus))
        from populations.actor import remote_worker_class

        self.worker_cls = remote_worker_class()
        self.show_progress = show_progress
        self.bars: dict[str, Any] = {}
        self.fitness: dict[str, float] = {m: math.nan for m in self.records}

    # ------------------------------------------------------------ actors
    def member_config(self, record: MemberRecord) -> tuple[RunConfig, Any]:
        config = self.config
        for path, value in record.hyperparameters.items():
            if path.startswith("training."):
                config = replace_path(config, path, value)
        return config, load_curriculum(record.curriculum)

    def checkpoint(self, member_id: str, segment: int) -> Path:
        return self.layout.segment_checkpoint(member_id, segment)

    def spawn(self, member_id: str, load: Path | None) -> None:
        record = self.records[member_id]
        config, curriculum = self.member_config(record)
        options: dict[str, Any] = {"num_cpus": self.cpus}
        if self.config.population.gpus_per_member:
            options["num_gpus"] = self.config.population.gpus_per_member
        actor = self.worker_cls.options(**options).remote(config, curriculum, record.seed, member_id, self.threads)
        if load is not None:
            self.ray.get(actor.load.remote(str(load)))
        self.actors[member_id] = actor

    def shutdown(self) -> None:
        """Kill every actor this population holds, so that their CPU shares are free at once.

        Dropping the handles would free them too, but only when the last reference goes, and a
        traceback (an interrupted driver, a failed test) can hold one for as long as it lives.
        """
        actors, self.actors = self.actors, {}
        for actor in actors.values():
            try:
                self.ray.kill(actor)
            except Exception:  # noqa: BLE001 - already dead or its node is gone: nothing to free
                pass

    def restart(self, member_id: str, load: Path, error: BaseException) -> None:
        record = self.records[member_id]
        record.restarts += 1
        if record.restarts > self.config.population.max_actor_restarts:
            raise SearchError(f"member {member_id}: actor died {record.restarts} times "
                              f"(population.max_actor_restarts = {self.config.population.max_actor_restarts}); "
                              f"last error: {error}")
        print(f"member {member_id}: actor died ({type(error).__name__}); restarting from {load}", file=sys.stderr)
        self.spawn(member_id, load)

    def call_all(self, method: str, args_for: Callable[[str], tuple], reload: Callable[[str], Path | None]):
        """Call ``method`` on every actor, restarting dead ones (from ``reload(id)``) and retrying."""
        ray = self.ray
        pending = {getattr(self.actors[m], method).remote(*args_for(m)): m for m in self.records}
        results: dict[str, Any] = {}
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1, timeout=1.0)
            self.refresh_progress()
            for ref in ready:
                m = pending.pop(ref)
                try:
                    results[m] = ray.get(ref)
                except ray.exceptions.RayActorError as exc:
                    self.restart(m, reload(m), exc)
                    pending[getattr(self.actors[m], method).remote(*args_for(m))] = m
                except ray.exceptions.RayTaskError as exc:
                    raise SearchError(f"member {m}: {method} failed: {exc.cause or exc}") from None
        return results

    # ------------------------------------------------------------ progress view
    def open_bars(self, total: int, start: int) -> None:
        if not self.show_progress:
            return
        import shutil

        from tqdm import tqdm

        size = shutil.get_terminal_size((120, 40))  # a 0x0 pty would otherwise hide every bar
        for i, (m, r) in enumerate(sorted(self.records.items())):
            self.bars[m] = tqdm(total=total, initial=start, position=i, unit="ep", ncols=size.columns,
                                nrows=max(size.lines, len(self.records) + 2), desc=f"{m} [{r.niche}]", leave=True)

    def refresh_progress(self) -> None:
        if not self.bars:
            return
        refs = {m: a.progress.remote() for m, a in self.actors.items()}
        ready, _ = self.ray.wait(list(refs.values()), num_returns=len(refs), timeout=0.5)
        ready = set(ready)
        for m, ref in refs.items():
            if ref not in ready or m not in self.bars:
                continue
            try:
                p = self.ray.get(ref)
            except Exception:  # noqa: BLE001 - a dead actor is handled by call_all
                continue
            bar = self.bars[m]
            bar.n = p["episode"]
            bar.set_postfix(fitness=f"{self.fitness[m]:.4g}",
                            **{k: f"{v:.4g}" for k, v in p.items() if k != "episode"}, refresh=False)
            bar.refresh()

    def close_bars(self) -> None:
        for bar in self.bars.values():
            bar.close()
        self.bars = {}
