"""The quality-diversity side of a search: probes, the archive's elites on disk, restarts, tables.

With ``population.archive.enabled`` the driver (:mod:`populations.driver`)
hands each segment's end to :class:`QualitySearch`:

1. every member is *probed* on its actor (:meth:`populations.actor.MemberWorker.probe`):
   descriptors from ``probe_seeds`` one-episode evaluations, and a cheap best
   response (``probe_episodes`` episodes per learning type);
2. each probe becomes an :class:`~populations.archive.Elite` and is inserted into
   the MAP-Elites :class:`~populations.archive.Archive` (quality: ε-verified by the
   probe, then lower probe gain, then welfare); a new or replaced elite's state is
   saved to ``archive/<cell>_<member>_e<episode>.pt`` (never overwritten, so a
   resumed segment finds the files its elites name);
3. members that stopped improving restart from elites of the least visited
   cells (:func:`~populations.archive.plan_restarts`) and explore from there,
   instead of copying the top of their niche.

At the end the final outcomes (with the full best response) are inserted too.
``probes.parquet`` (every probe and final outcome, with the population's
episodes spent so far) and ``archive.parquet`` (one row per cell ever filled,
with its history) are written after every segment; the archive's state lives
in ``driver.json`` so a resumed search continues with the same archive.
"""

from __future__ import annotations

import math
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pbt_econ.config.load import RunConfig
from pbt_econ.core.files import atomic_write
from pbt_econ.core.rundir import RunDir
from pbt_econ.core.tables import flatten, write_table
from pbt_econ.equilibrium.outcomes import OutcomeRow, outcome_row
from pbt_econ.equilibrium.verification import is_verified
from populations.archive import Archive, Elite, Restart, plan_restarts

__all__ = ["ArchiveRow", "ProbeRow", "QualitySearch", "archive_rows"]


@dataclass(frozen=True)
class ProbeRow:
    """One row of ``probes.parquet``: a member's outcome as probed after a segment (or its final outcome)."""

    segment: int
    """The segment after which it was probed (the number of segments for ``final``)."""
    episodes_spent: int
    """Episodes the whole population had rolled out by then: training, probes and evaluations."""
    kind: str
    """``probe`` (cheap best response) or ``final`` (the full best response at the end)."""
    cell_x: int
    cell_y: int
    archive_event: str
    """``added``, ``replaced`` or ``rejected`` (see ``archive.parquet``)."""
    outcome: OutcomeRow
    """The outcome columns of ``outcomes.parquet`` (``epsilon_*`` from the probe for ``probe`` rows)."""


@dataclass(frozen=True)
class ArchiveRow:
    """One row of ``archive.parquet``: one cell ever filled, its current elite and its history."""

    cell_x: int
    cell_y: int
    x_descriptor: str
    y_descriptor: str
    x_low: float
    x_high: float
    y_low: float
    y_high: float
    member_id: str
    """The elite: the member whose outcome holds the cell."""
    episode: int
    """The elite's training episode when it was archived."""
    x: float
    y: float
    verified: bool
    br_gain: float
    """The elite's largest relative best-response gain over the checked types (probe or full)."""
    welfare: float
    visits: int
    """Insertion attempts into this cell."""
    replacements: int
    first_episode: int
    """Episode of the first elite that filled the cell."""
    history: str
    """Every attempt, ``member@episode:added|replaced|rejected``, ``;``-separated, in order."""
    checkpoint: str
    """The elite's saved state, relative to the run directory."""


def archive_rows(archive: Archive, x_descriptor: str, y_descriptor: str) -> list[ArchiveRow]:
    rows = []
    for cell, elite in sorted(archive.elites.items()):
        events = [h for h in archive.history if h.cell == cell]
        x0, x1, y0, y1 = archive.bounds(cell)
        rows.append(ArchiveRow(
            cell_x=cell[0], cell_y=cell[1], x_descriptor=x_descriptor, y_descriptor=y_descriptor,
            x_low=x0, x_high=x1, y_low=y0, y_high=y1, member_id=elite.member_id, episode=elite.episode,
            x=elite.x, y=elite.y, verified=elite.verified, br_gain=elite.br_gain, welfare=elite.welfare,
            visits=archive.visits.get(cell, 0), replacements=sum(h.outcome == "replaced" for h in events),
            first_episode=min(h.episode for h in events if h.outcome == "added"),
            history=";".join(f"{h.member_id}@{h.episode}:{h.outcome}" for h in events),
            checkpoint=elite.checkpoint,
        ))
    return rows


def probe_cost(probe_episodes: int, seeds: int, types: int) -> int:
    """Episodes one probe rolls out: deviations, before/untrained/after evaluations, extra seeds."""
    return types * probe_episodes + 2 + types + (seeds - 1)


class QualitySearch:
    """The archive, the probes and the restarts of one quality-diversity search."""

    def __init__(self, config: RunConfig, run_dir: Path, saved: dict[str, Any] | None):
        self.config = config
        self.settings = config.population.archive
        self.layout = RunDir(run_dir)
        a = self.settings
        if saved is not None:
            self.archive = Archive.from_dict(saved["archive"])
            self.episodes_spent = int(saved["episodes_spent"])
        else:
            self.archive = Archive(tuple(a.x_range), tuple(a.y_range), a.bins)
            self.episodes_spent = 0
        self.probes: list[dict[str, Any]] = []

    def state(self) -> dict[str, Any]:
        return {"archive": self.archive.to_dict(), "episodes_spent": self.episodes_spent}

    def load_probes(self, segment: int) -> None:
        """Probe rows of segments before ``segment`` (a resumed segment's rows are dropped)."""
        from pbt_econ.core.tables import read_table

        path = self.layout.probes
        self.probes = [r for r in read_table(path, "probes").to_pylist() if r["segment"] < segment] \
            if path.exists() else []

    @property
    def checked_types(self) -> int:
        return len([t for t in self.config.best_response.types if t not in self.config.fixed])

    # ------------------------------------------------------------ one segment's end
    def record(self, segment: int, training_episodes: int, results: dict[str, tuple], records: dict[str, Any],
               save_elite, kind: str = "probe") -> None:
        """Insert every member's probe (or final) result; save new elites through ``save_elite(member, path)``.

        ``training_episodes``: episodes the population trained in this segment; ``results[member]`` is the
        actor's ``(descriptors, descriptor_se, best_response_rows)``.
        """
        a = self.settings
        br = self.config.best_response
        if kind == "probe":
            cost = probe_cost(a.probe_episodes, a.probe_seeds, self.checked_types if a.probe_episodes else 0)
        else:
            cost = self.checked_types * br.episodes + (2 + self.checked_types) * br.eval_episodes \
                + (self.config.analysis.eval_seeds - 1) * br.eval_episodes
        self.episodes_spent += training_episodes + cost * len(results)
        changed: dict[tuple[int, int], Elite] = {}
        for m in sorted(results):
            r = records[m]
            descriptors, se, rows = results[m]
            episode = min((segment + 1) * self.config.population.ready_interval, self.config.population.episodes)
            out = outcome_row(member_id=m, niche=r.niche, curriculum=r.curriculum["name"], seed=r.seed,
                              episode=episode, hyperparameters=r.hyperparameters, descriptors=descriptors,
                              best_response_rows=rows, economy=self.config.economy_model,
                              fixed_types=tuple(self.config.fixed), descriptor_se=se,
                              eval_seeds=a.probe_seeds if kind == "probe" else self.config.analysis.eval_seeds)
            gain = out.epsilon_max_rel
            elite = Elite(member_id=m, episode=episode, x=descriptors[a.x], y=descriptors[a.y],
                          verified=is_verified(flatten(out), tuple(a.name for a in self.config.economy_model.agent_types)),
                          br_gain=gain if math.isfinite(gain) else math.nan,
                          welfare=descriptors[self.config.population.fitness], hyperparameters=dict(r.hyperparameters))
            event = self.archive.insert(elite)
            if event.outcome != "rejected":
                changed[event.cell] = elite
            self.probes.append(flatten(ProbeRow(
                segment=segment, episodes_spent=self.episodes_spent, kind=kind, cell_x=event.cell[0],
                cell_y=event.cell[1], archive_event=event.outcome, outcome=out)))
        for cell, elite in sorted(changed.items()):
            path = self.layout.archive_checkpoint(cell, elite.member_id, elite.episode)
            save_elite(elite.member_id, path)
            self.archive.with_checkpoint(cell, str(path.relative_to(self.layout.root)))

    def prune(self) -> None:
        """Delete saved states no elite names any more (call after the state naming them is saved)."""
        keep = {self.layout.root / e.checkpoint for e in self.archive.elites.values()}
        for path in self.layout.archive_checkpoints():
            if path not in keep:
                path.unlink(missing_ok=True)

    def restarts(self, records: dict[str, Any], rng) -> list[Restart]:
        histories = {m: list(r.fitness_history) for m, r in records.items()}
        return plan_restarts(histories, self.archive, self.settings.min_improvement, rng)

    def elite_path(self, restart: Restart) -> Path:
        return self.layout.root / restart.elite.checkpoint

    # ------------------------------------------------------------ tables
    def write(self) -> None:
        write_table(self.probes, self.layout.probes, "probes", ProbeRow)
        write_table(archive_rows(self.archive, self.settings.x, self.settings.y), self.layout.archive, "archive",
                    ArchiveRow)


def copy_checkpoint(source: Path, target: Path) -> None:
    """Copy a saved state atomically (final elites are copies of ``final.pt``)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(target, lambda tmp: shutil.copyfile(source, tmp))
