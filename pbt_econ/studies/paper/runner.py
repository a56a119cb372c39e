"""Running the reproduction: one Ray task per run, results kept as they finish, resume.

Each run (:class:`~pbt_econ.studies.paper.plan.RunSpec`) is an independent Ray task
(:func:`execute_run`): it trains one member (:func:`pbt_econ.learning.training.run_training`,
into ``OUT/runs/<run_id>/`` on the machine that runs it), then measures the
final outcome exactly as the population search does
(:func:`pbt_econ.equilibrium.best_response.assess_outcome`: descriptors over
``analysis.eval_seeds`` seeds, best response of every learning type). The
driver writes ``OUT/runs/<run_id>/result.json`` as each task returns, so an
interrupted reproduction loses only the runs in flight; ``--resume`` skips
every run with a result (and a local run in flight resumes from its checkpoint).
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pbt_econ.config.load import RunConfig
from pbt_econ.core.files import atomic_write_text
from pbt_econ.core.rundir import ReproduceDir
from pbt_econ.core.tables import flatten
from pbt_econ.equilibrium.outcomes import OutcomeRow, outcome_row
from pbt_econ.studies.paper.plan import ReproducePreset, RunSpec

__all__ = ["ReproductionRow", "ReproduceError", "execute_run", "run_all"]


class ReproduceError(RuntimeError):
    """A run failed in a way that is not a result (a bug or a lost cluster)."""


@dataclass(frozen=True)
class ReproductionRow:
    """One row of ``reproduction.parquet``: one run and its final outcome."""

    run_id: str
    experiment: str
    """``curricula`` or ``fixed_tax``."""
    economy: str
    """``open`` or ``closed``."""
    fixed_income_tax: float
    """The government's fixed income tax in ``fixed_tax`` runs (NaN: the government learned)."""
    fixed_corporate_tax: float
    status: str
    """``ok``, or ``diverged`` (training stopped on a non-finite value; counted as collapsed)."""
    regime: str
    """The outcome's regime (docs/outputs.md): trivial, export-led, low-activity or domestic."""
    collapsed: bool
    """Trivial outcome (no work or no production) or diverged training."""
    wall_s: float
    """Seconds the run took (training and measurement) where it ran."""
    outcome: OutcomeRow
    """The outcome columns of ``outcomes.parquet`` (descriptors, standard errors, epsilons)."""


def execute_run(config: RunConfig, spec: RunSpec, run_dir: str, threads: int) -> dict[str, Any]:
    """Train and measure one run (a Ray task, also callable directly); returns its flat row."""
    import torch

    from analysis.schema import regime_of
    from pbt_econ.core.rundir import TrainDir
    from pbt_econ.equilibrium.best_response import assess_outcome
    from pbt_econ.learning.records import Descriptors
    from pbt_econ.learning.rollout import NonFiniteError
    from pbt_econ.learning.training import run_training

    torch.set_num_threads(max(1, threads))
    started = time.perf_counter()
    out = Path(run_dir)
    resume = TrainDir(out).checkpoint.exists()
    status = "ok"
    try:
        member = run_training(config, out, config.training.episodes, resume=resume, show_progress=False)
        descriptors, se, rows = assess_outcome(member, config.best_response, config.analysis.eval_seeds)
        refined = None
        if config.population.refine.rounds > 0:  # the optional refinement stage (pbt_econ.equilibrium.refine)
            from pbt_econ.equilibrium.refine import refine

            before = outcome_row(member_id=spec.run_id, niche=spec.experiment, curriculum=spec.curriculum,
                                 seed=spec.seed, episode=config.training.episodes, hyperparameters={},
                                 descriptors=descriptors, best_response_rows=rows, economy=config.economy_model)
            episodes = config.population.refine.episodes or config.best_response.episodes
            refined = refine(member, config.best_response, config.population.refine.rounds, episodes,
                             config.analysis.eval_seeds, start=(descriptors, se, rows))
            descriptors, se, rows = refined.final
        solved = None
        if config.population.solve.enabled:  # the solver (pbt_econ.equilibrium.solver), after refinement
            from pbt_econ.equilibrium.solver import solve

            settings = config.population.solve
            before = outcome_row(member_id=spec.run_id, niche=spec.experiment, curriculum=spec.curriculum,
                                 seed=spec.seed, episode=config.training.episodes, hyperparameters={},
                                 descriptors=descriptors, best_response_rows=rows, economy=config.economy_model)
            solved = solve(member, config.best_response, settings.rounds,
                           settings.episodes or config.best_response.episodes, settings.share,
                           settings.meta_solver, config.analysis.eval_seeds, seed=spec.seed,
                           start=(descriptors, se, rows), entropy_factor=settings.entropy_factor)
            descriptors, se, rows = solved.final
    except NonFiniteError:
        status = "diverged"
        descriptors = Descriptors({d.name: math.nan for d in config.economy_model.descriptors})
        se, rows, refined, solved = None, [], None, None
    outcome = outcome_row(member_id=spec.run_id, niche=spec.experiment, curriculum=spec.curriculum, seed=spec.seed,
                          episode=config.training.episodes, hyperparameters={}, descriptors=descriptors,
                          best_response_rows=rows, economy=config.economy_model,
                          fixed_types=tuple(config.fixed), descriptor_se=se,
                          eval_seeds=config.analysis.eval_seeds)
    if refined is not None and refined.rounds:
        outcome = dataclasses.replace(outcome, refined_from=spec.run_id, refine_rounds=len(refined.rounds),
                                      refine_ending=refined.ending, epsilon_max_rel_before=before.epsilon_max_rel)
    if solved is not None and solved.chosen > 0:
        outcome = dataclasses.replace(outcome, refined_from=spec.run_id, refine_rounds=solved.chosen,
                                      refine_ending=f"solve: {solved.ending}",
                                      epsilon_max_rel_before=before.epsilon_max_rel)
    the_regime = regime_of(descriptors, config.economy_model.regimes) if status == "ok" else "diverged"
    row = ReproductionRow(
        run_id=spec.run_id, experiment=spec.experiment, economy=spec.economy,
        fixed_income_tax=math.nan if spec.income_tax is None else spec.income_tax,
        fixed_corporate_tax=math.nan if spec.corporate_tax is None else spec.corporate_tax,
        status=status, regime=the_regime, collapsed=status != "ok" or outcome.is_trivial,
        wall_s=time.perf_counter() - started, outcome=outcome)
    return flatten(row)


def result_path(out: Path, spec: RunSpec) -> Path:
    return ReproduceDir(out).result(spec.run_id)


def finished(out: Path, specs: list[RunSpec]) -> dict[str, dict[str, Any]]:
    """Rows of the runs that have a result, by run id (a result that does not parse is re-run)."""
    done = {}
    for spec in specs:
        path = result_path(out, spec)
        if path.exists():
            try:
                done[spec.run_id] = json.loads(path.read_text())
            except json.JSONDecodeError:
                path.unlink()
    return done


def run_all(preset: ReproducePreset, specs: list[RunSpec], configs: list[RunConfig], out: Path,
            address: str | None = None, show_progress: bool = True,
            num_cpus: int | None = None) -> list[dict[str, Any]]:
    """Run every spec without a result as a Ray task; returns all rows in ``specs`` order.

    ``configs[i]`` is ``specs[i]``'s config (:func:`~pbt_econ.studies.paper.plan.run_config`), built and so
    validated by the caller before any work.
    """
    from pbt_econ.config.load import replace_path
    from populations.members import start_ray

    configs = {s.run_id: c for s, c in zip(specs, configs, strict=True)}
    done = finished(out, specs)
    todo = [s for s in specs if s.run_id not in done]
    bar = None
    if show_progress:
        from tqdm import tqdm

        bar = tqdm(total=len(specs), initial=len(done), unit="run", desc="reproduce", dynamic_ncols=True)
    if todo:
        first = replace_path(configs[todo[0].run_id], "population.num_cpus", num_cpus)
        started_ray = start_ray(first, address)
        import ray

        try:
            task = ray.remote(execute_run)
            threads = max(1, int(preset.cpus_per_run))
            options: dict[str, Any] = {"num_cpus": preset.cpus_per_run, "max_retries": 1}
            if preset.gpus_per_run:
                options["num_gpus"] = preset.gpus_per_run
            layout = ReproduceDir(Path(out).resolve())
            pending = {task.options(**options).remote(configs[s.run_id], s, str(layout.run(s.run_id)), threads): s
                       for s in todo}
            while pending:
                ready, _ = ray.wait(list(pending), num_returns=1)
                for ref in ready:
                    spec = pending.pop(ref)
                    try:
                        row = ray.get(ref)
                    except ray.exceptions.RayError as exc:
                        for other in pending:
                            ray.cancel(other, force=True)
                        raise ReproduceError(f"run {spec.run_id} failed: {getattr(exc, 'cause', None) or exc}; "
                                             f"finished runs are kept, continue with --resume") from None
                    atomic_write_text(result_path(out, spec), json.dumps(row, allow_nan=True))
                    done[spec.run_id] = row
                    if bar is not None:
                        bar.update(1)
                        bar.set_postfix_str(f"{spec.run_id}: {row['regime']}, welfare {row['welfare']:.4g}")
                    else:
                        print(f"[{len(done)}/{len(specs)}] {spec.run_id}: {row['regime']}, welfare "
                              f"{row['welfare']:.4g}, {row['wall_s']:.0f} s", flush=True)
        finally:
            if bar is not None:
                bar.close()
            if started_ray:
                ray.shutdown()
    elif bar is not None:
        bar.close()
    return [done[s.run_id] for s in specs]

