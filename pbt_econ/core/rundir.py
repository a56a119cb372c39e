"""The run-directory layout: the one place where the paths of a run's files are spelled.

A search run directory (``python -m pbt_econ.search``)::

    runs/<name>/
      config.yaml  driver.json  optuna.db
      metrics.parquet  lineage.parquet  outcomes.parquet  best_response.parquet  equilibria.parquet
      [solve.parquet]
      report.md  plots/*.png
      members/<id>/seg_NNNN.pt, final.pt
      archive.parquet  probes.parquet  archive/c<X>-<Y>_<id>_e<episode>.pt   (quality-diversity search)

A training directory (``python -m pbt_econ.train``)::

    <out>/config.yaml  checkpoint.pt  metrics.parquet  [best_response.parquet]

A reproduction directory (``python -m pbt_econ.reproduce``)::

    <out>/reproduce.json  reproduction.md  reproduction.parquet  plots/*.png
          runs/<run_id>/  (a training directory)  result.json

The driver, best response, the train CLI and the analysis all reach files
through :class:`RunDir` and :class:`TrainDir`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["ReproduceDir", "RunDir", "TrainDir", "find_checkpoints"]


@dataclass(frozen=True)
class _Layout:
    """A folder's root (any path-like, kept as a ``Path``); nothing is created or read here."""

    root: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root))


@dataclass(frozen=True)
class RunDir(_Layout):
    """Paths of a search run directory."""

    @property
    def config(self) -> Path:
        return self.root / "config.yaml"

    @property
    def driver_state(self) -> Path:
        return self.root / "driver.json"

    @property
    def metrics(self) -> Path:
        return self.root / "metrics.parquet"

    @property
    def lineage(self) -> Path:
        return self.root / "lineage.parquet"

    @property
    def outcomes(self) -> Path:
        return self.root / "outcomes.parquet"

    @property
    def best_response(self) -> Path:
        return self.root / "best_response.parquet"

    @property
    def solve(self) -> Path:
        """The solver's rounds (``population.solve``; ``python -m pbt_econ.solve``)."""
        return self.root / "solve.parquet"

    @property
    def equilibria(self) -> Path:
        return self.root / "equilibria.parquet"

    @property
    def report(self) -> Path:
        return self.root / "report.md"

    @property
    def plots(self) -> Path:
        return self.root / "plots"

    @property
    def members(self) -> Path:
        return self.root / "members"

    def member(self, member_id: str) -> Path:
        return self.members / member_id

    def segment_checkpoint(self, member_id: str, segment: int) -> Path:
        """The checkpoint a member saves when segment ``segment`` starts."""
        return self.member(member_id) / f"seg_{segment:04d}.pt"

    def final_checkpoint(self, member_id: str) -> Path:
        return self.member(member_id) / "final.pt"

    def segment_checkpoints(self, member_id: str) -> list[Path]:
        """A member's segment checkpoints, oldest first."""
        return sorted(self.member(member_id).glob("seg_*.pt"))

    @staticmethod
    def segment_of(checkpoint: Path) -> int:
        """The segment number of a ``seg_NNNN.pt`` path."""
        return int(Path(checkpoint).stem.removeprefix("seg_"))

    @property
    def archive(self) -> Path:
        return self.root / "archive.parquet"

    @property
    def probes(self) -> Path:
        return self.root / "probes.parquet"

    @property
    def archive_dir(self) -> Path:
        return self.root / "archive"

    def archive_checkpoint(self, cell: tuple[int, int], member_id: str, episode: int) -> Path:
        """The saved state of an archive elite (one file per elite, never overwritten)."""
        return self.archive_dir / f"c{cell[0]}-{cell[1]}_{member_id}_e{episode}.pt"

    def archive_checkpoints(self) -> list[Path]:
        return sorted(self.archive_dir.glob("c*_e*.pt"))

    def member_ids(self) -> list[str]:
        """Ids of the members that have a folder, sorted."""
        return sorted(p.name for p in self.members.glob("*") if p.is_dir())


@dataclass(frozen=True)
class TrainDir(_Layout):
    """Paths of a ``pbt_econ.train`` output folder."""

    @property
    def config(self) -> Path:
        return self.root / "config.yaml"

    @property
    def checkpoint(self) -> Path:
        return self.root / "checkpoint.pt"

    @property
    def metrics(self) -> Path:
        return self.root / "metrics.parquet"

    @property
    def best_response(self) -> Path:
        return self.root / "best_response.parquet"


@dataclass(frozen=True)
class ReproduceDir(_Layout):
    """Paths of a ``pbt_econ.reproduce`` output folder."""

    @property
    def manifest(self) -> Path:
        """The plan (scale, seeds, overrides, run ids) a ``--resume`` must match."""
        return self.root / "reproduce.json"

    @property
    def report(self) -> Path:
        return self.root / "reproduction.md"

    @property
    def table(self) -> Path:
        return self.root / "reproduction.parquet"

    @property
    def plots(self) -> Path:
        return self.root / "plots"

    @property
    def runs(self) -> Path:
        return self.root / "runs"

    def run(self, run_id: str) -> Path:
        """One run's training directory."""
        return self.runs / run_id

    def result(self, run_id: str) -> Path:
        """One run's measured outcome, written by the driver when the run returns."""
        return self.run(run_id) / "result.json"


def find_checkpoints(path: Path) -> list[Path]:
    """A checkpoint file, a ``pbt_econ.train`` folder, or a search run directory -> checkpoint files.

    For a search: every member's ``final.pt``, or, if the search has not finished,
    every member's newest ``seg_NNNN.pt``.
    """
    from pbt_econ.core.checkpoints import CheckpointError

    if path.is_file():
        return [path]
    if not path.exists():
        raise CheckpointError(f"{path}: no such checkpoint file or run directory")
    if TrainDir(path).checkpoint.is_file():
        return [TrainDir(path).checkpoint]
    run = RunDir(path)
    finals = [f for m in run.member_ids() if (f := run.final_checkpoint(m)).is_file()]
    if finals:
        return finals
    # An unfinished search: each member's newest segment checkpoint.
    newest = [segs[-1] for m in run.member_ids() if (segs := run.segment_checkpoints(m))]
    if newest:
        return newest
    raise CheckpointError(f"{path}: holds no checkpoint.pt and no members/*/final.pt or seg_*.pt")
