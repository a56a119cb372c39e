"""A MAP-Elites archive over two outcome descriptors, and the unseen-equilibria estimate.

Pure data and functions (no Ray, no files), for a quality-diversity
population: the descriptor plane (e.g. export share x income tax) is cut
into a grid of cells; each cell keeps its best member by a stated quality
(:func:`quality`): ε-verified first, then the lowest best-response gain,
then welfare. :meth:`Archive.insert` keeps the better of the incumbent and
the candidate and records every event; :meth:`Archive.sparse_cells` lists
the filled cells visited least, whose elites stalled members restart from.

How many equilibria a search has not seen is estimated in the analysis
(:func:`analysis.stats.chao1`).
"""

from __future__ import annotations

import dataclasses
import math
import random
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Archive", "ArchiveEvent", "Elite", "Restart", "plan_restarts", "quality", "stalled"]


@dataclass(frozen=True)
class Elite:
    """A member's outcome as the archive sees it."""

    member_id: str
    episode: int
    x: float
    """First archive descriptor (``population.archive.x``; default: the economy's first archive axis)."""
    y: float
    """Second archive descriptor (``population.archive.y``; default: the economy's second archive axis)."""
    verified: bool
    """Passed the (cheap or full) best-response check."""
    br_gain: float
    """Largest relative best-response gain over types (NaN: not probed)."""
    welfare: float
    hyperparameters: dict[str, float] = field(default_factory=dict, compare=False)
    """The member's searched values when it was archived (a restart explores from them)."""
    checkpoint: str = ""
    """The elite's saved state, relative to the run directory (written by the driver)."""


def quality(e: Elite) -> tuple[int, float, float]:
    """Sort key, larger is better: ε-verified, then lower best-response gain, then higher welfare."""
    gain = e.br_gain if math.isfinite(e.br_gain) else math.inf
    return (int(e.verified), -gain, e.welfare if math.isfinite(e.welfare) else -math.inf)


@dataclass(frozen=True)
class ArchiveEvent:
    """One insertion attempt: ``added`` (empty cell), ``replaced`` or ``rejected``."""

    cell: tuple[int, int]
    member_id: str
    episode: int
    outcome: str
    previous: str
    """The incumbent's member id (``""`` for an empty cell)."""


@dataclass
class Archive:
    """A grid of ``bins`` x ``bins`` cells over ``[x_low, x_high] x [y_low, y_high]`` (values clipped)."""

    x_range: tuple[float, float]
    y_range: tuple[float, float]
    bins: int = 5
    elites: dict[tuple[int, int], Elite] = field(default_factory=dict)
    visits: dict[tuple[int, int], int] = field(default_factory=dict)
    history: list[ArchiveEvent] = field(default_factory=list)

    def __post_init__(self) -> None:
        for name, (lo, hi) in (("x_range", self.x_range), ("y_range", self.y_range)):
            if not hi > lo:
                raise ValueError(f"{name} = {(lo, hi)}: high must exceed low")
        if self.bins < 1:
            raise ValueError(f"bins = {self.bins}: must be >= 1")

    def cell(self, x: float, y: float) -> tuple[int, int]:
        """The cell of a point (outside the ranges: the nearest edge cell)."""

        def index(v: float, lo: float, hi: float) -> int:
            if not math.isfinite(v):
                return 0
            return min(self.bins - 1, max(0, int((v - lo) / (hi - lo) * self.bins)))

        return index(x, *self.x_range), index(y, *self.y_range)

    def insert(self, elite: Elite) -> ArchiveEvent:
        """Place ``elite``: it takes an empty cell or replaces a worse incumbent; every attempt is recorded."""
        c = self.cell(elite.x, elite.y)
        self.visits[c] = self.visits.get(c, 0) + 1
        incumbent = self.elites.get(c)
        if incumbent is None:
            outcome = "added"
        elif quality(elite) > quality(incumbent):
            outcome = "replaced"
        else:
            outcome = "rejected"
        if outcome != "rejected":
            self.elites[c] = elite
        event = ArchiveEvent(c, elite.member_id, elite.episode, outcome, incumbent.member_id if incumbent else "")
        self.history.append(event)
        return event

    def sparse_cells(self, k: int, rng: random.Random) -> list[tuple[int, int]]:
        """``k`` filled cells, least visited first (ties broken by ``rng``), repeating if fewer are filled."""
        filled = list(self.elites)
        if not filled or k <= 0:
            return []
        rng.shuffle(filled)
        filled.sort(key=lambda c: self.visits.get(c, 0))
        return [filled[i % len(filled)] for i in range(k)]

    @property
    def coverage(self) -> float:
        """Fraction of cells filled."""
        return len(self.elites) / (self.bins * self.bins)

    def bounds(self, cell: tuple[int, int]) -> tuple[float, float, float, float]:
        """``(x_low, x_high, y_low, y_high)`` of a cell."""
        (x0, x1), (y0, y1) = self.x_range, self.y_range
        wx, wy = (x1 - x0) / self.bins, (y1 - y0) / self.bins
        return x0 + cell[0] * wx, x0 + (cell[0] + 1) * wx, y0 + cell[1] * wy, y0 + (cell[1] + 1) * wy

    def with_checkpoint(self, cell: tuple[int, int], checkpoint: str) -> None:
        """Record where the elite of ``cell`` was saved."""
        self.elites[cell] = dataclasses.replace(self.elites[cell], checkpoint=checkpoint)

    # ------------------------------------------------------------ persistence (driver.json)
    def to_dict(self) -> dict[str, Any]:
        return {"x_range": list(self.x_range), "y_range": list(self.y_range), "bins": self.bins,
                "elites": [{"cell": list(c), **dataclasses.asdict(e)} for c, e in sorted(self.elites.items())],
                "visits": [[c[0], c[1], n] for c, n in sorted(self.visits.items())],
                "history": [{**dataclasses.asdict(h), "cell": list(h.cell)} for h in self.history]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Archive:
        archive = cls(tuple(data["x_range"]), tuple(data["y_range"]), int(data["bins"]))
        for e in data["elites"]:
            e = dict(e)
            cell = tuple(e.pop("cell"))
            archive.elites[cell] = Elite(**e)
        archive.visits = {(int(i), int(j)): int(n) for i, j, n in data["visits"]}
        archive.history = [ArchiveEvent(**{**h, "cell": tuple(h["cell"])}) for h in data["history"]]
        return archive


def stalled(history: list[float], min_improvement: float) -> bool:
    """Has a member stopped improving? ``history`` is its fitness per segment, latest last.

    True when the latest fitness is NaN, or beats the best earlier one by less than
    ``min_improvement * |best|``; False with fewer than two segments of history.
    """
    if len(history) < 2:
        return False
    latest = history[-1]
    earlier = [f for f in history[:-1] if math.isfinite(f)]
    if not math.isfinite(latest):
        return True
    if not earlier:
        return False
    best = max(earlier)
    return latest - best < min_improvement * abs(best)


@dataclass(frozen=True)
class Restart:
    """``child`` restarts from the elite of ``cell`` (weights, optimiser state, hyperparameters), then explores."""

    child: str
    cell: tuple[int, int]
    elite: Elite
    child_fitness: float

    @property
    def parent(self) -> str:
        return self.elite.member_id


def plan_restarts(histories: dict[str, list[float]], archive: Archive, min_improvement: float,
                  rng: random.Random) -> list[Restart]:
    """Stalled members (:func:`stalled`, in id order) each restart from a sparse cell's elite.

    Cells are drawn least visited first (:meth:`Archive.sparse_cells`), one per stalled member, so
    stalled members spread over the archive instead of piling onto the best-known outcome.
    """
    children = [m for m in sorted(histories) if stalled(histories[m], min_improvement)]
    cells = archive.sparse_cells(len(children), rng)
    return [Restart(child, cell, archive.elites[cell], histories[child][-1]) for child, cell in zip(children, cells)]
