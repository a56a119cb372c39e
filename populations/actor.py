"""The member worker that runs inside a Ray actor.

:class:`MemberWorker` is a plain class (testable without Ray) holding one
:class:`pbt_econ.learning.member.Member`; :func:`remote_worker_class` wraps it as a
Ray actor class. Workers only train, checkpoint, load and report; every
decision is the driver's. The actor runs with ``max_concurrency=2`` so that
:meth:`MemberWorker.progress` answers while :meth:`MemberWorker.train` runs.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import torch

from pbt_econ.config.curriculum import Curriculum
from pbt_econ.config.load import BestResponseConfig, RunConfig
from pbt_econ.core.checkpoints import read_checkpoint
from pbt_econ.core.tables import flatten
from pbt_econ.equilibrium.best_response import BestResponseRow, assess_outcome
from pbt_econ.equilibrium.outcomes import DescriptorSE
from pbt_econ.learning.member import Member
from pbt_econ.learning.records import Descriptors

__all__ = ["MemberWorker", "remote_worker_class"]


class MemberWorker:
    """One member on one device share; created by the driver, one per member."""

    def __init__(self, config: RunConfig, curriculum: Curriculum, seed: int, member_id: str, threads: int) -> None:
        if threads > 0:
            torch.set_num_threads(threads)
        self.member = Member(config, curriculum, seed, member_id)
        model = self.member.economy
        self._shown = (model.fitness_descriptor,) + tuple(
            dict.fromkeys(k for pair in model.spectrum_axes() for k in pair
                          if k != model.fitness_descriptor))[:2]
        """Descriptors shown on the progress bar: the economy's welfare and its spectrum axes' first two."""
        self._progress: dict[str, Any] = {"episode": 0, **{k: float("nan") for k in self._shown}}

    def train(self, episodes: int) -> list[dict[str, Any]]:
        """Train one segment; returns its metrics rows as plain dicts."""

        def progress(_done: int, stats) -> None:
            d = stats.descriptors
            self._progress = {"episode": self.member.episode, **{k: d[k] for k in self._shown}}

        rows = self.member.train(episodes, progress=progress)
        return [flatten(r) for r in rows]

    def progress(self) -> dict[str, Any]:
        return dict(self._progress)

    def get_state(self) -> dict[str, Any]:
        return self.member.get_state()

    def set_state(self, state: dict[str, Any], learning_only: bool = True) -> None:
        self.member.set_state(state, learning_only=learning_only)

    def set_hyperparameters(self, values: dict[str, float]) -> None:
        self.member.set_hyperparameters(values)

    def save(self, path: str) -> str:
        return str(self.member.save(Path(path)))

    def load(self, path: str) -> int:
        """Load a checkpoint written by :meth:`save`; returns the member's episode."""
        self.member.set_state(read_checkpoint(path)["state"])
        return self.member.episode

    def adopt(self, path: str) -> int:
        """Take over the learning state of a saved elite (quality-diversity restart); keeps this
        member's episode counter and random generator. Returns the elite's episode."""
        payload = read_checkpoint(path)
        self.member.set_state(payload["state"], learning_only=True)
        return int(payload["state"]["episode"])

    def finish(self) -> tuple[Descriptors, DescriptorSE, list[BestResponseRow]]:
        """Descriptors with standard errors, and best-response rows, of the final policies.

        The descriptors are the mean over ``analysis.eval_seeds`` evaluations (seed stream ``eval``),
        the first of which is the best response's "before" evaluation.
        """
        config = self.member.config
        return self._assess(config.best_response, config.analysis.eval_seeds)

    def probe(self, episodes: int, seeds: int) -> tuple[Descriptors, DescriptorSE, list[BestResponseRow]]:
        """A cheap :meth:`finish` during the search: each learning type deviates ``episodes`` episodes
        (none when 0), every evaluation is one episode, descriptors come from ``seeds`` seeds."""
        br = self.member.config.best_response
        cfg = dataclasses.replace(br, episodes=max(1, episodes), eval_episodes=1,
                                  types=br.types if episodes > 0 else ())
        return self._assess(cfg, seeds)

    def score(self, episodes: int, unilateral_agents: int, scope: str = "both") -> tuple[float, dict[str, float]]:
        """The member's cheap exploitability score (:func:`pbt_econ.equilibrium.score.exploitability_score`):
        ``(score, largest rank per type)``."""
        from pbt_econ.equilibrium.score import exploitability_score

        result = exploitability_score(self.member, self.member.config.best_response, episodes, unilateral_agents,
                                      scope)
        return result.score, result.by_type

    def _assess(self, br: BestResponseConfig, seeds: int) -> tuple[Descriptors, DescriptorSE, list[BestResponseRow]]:
        deviations: dict = {}  # the trained deviations' policies, kept here for the solver's pool
        result = assess_outcome(self.member, br, seeds, deviations=deviations)
        self._last = (self.member.episode, br, seeds, result)
        self._deviations = deviations
        return result

    def refine(self, rounds: int, episodes: int):
        """Refine the final policies in place (:func:`pbt_econ.equilibrium.refine.refine`), starting from the last
        :meth:`finish` when the member has not moved since; returns the :class:`~pbt_econ.equilibrium.refine.RefineResult`."""
        from pbt_econ.equilibrium.refine import refine

        config = self.member.config
        br, seeds = config.best_response, config.analysis.eval_seeds
        last = getattr(self, "_last", None)
        start = last[3] if last is not None and last[:3] == (self.member.episode, br, seeds) else None
        return refine(self.member, br, rounds, episodes, seeds, start=start)

    def solve(self, rounds: int, episodes: int, share: float, meta_solver: str, entropy_factor: float = 1.0):
        """Solve the final policies in place (:func:`pbt_econ.equilibrium.solver.solve`); returns its
        :class:`~pbt_econ.equilibrium.solver.SolveResult`."""
        from pbt_econ.equilibrium.solver import solve

        config = self.member.config
        br, seeds = config.best_response, config.analysis.eval_seeds
        last = getattr(self, "_last", None)
        start = last[3] if last is not None and last[:3] == (self.member.episode, br, seeds) else None
        return solve(self.member, br, rounds, episodes, share, meta_solver, seeds, seed=self.member.seed,
                     start=start, entropy_factor=entropy_factor,
                     start_deviations=getattr(self, "_deviations", None) if start is not None else None)


def remote_worker_class():
    """``MemberWorker`` as a Ray actor class (imports Ray only when called)."""
    import ray

    return ray.remote(max_concurrency=2)(MemberWorker)
