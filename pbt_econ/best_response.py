"""Approximate best response: is a learned outcome an ε-meta-equilibrium? (docs/model.md §6)

For each agent type ``k``: freeze the other two types' policies bit for bit,
keep training ``k`` (from its learned policy and, optionally, from a fresh
one) with full action grids and full theta, and measure ``k``'s mean
per-agent episode reward with evaluation rollouts on a seed never used for
training, before and after:

.. math:: \\varepsilon_k = \\max(0, \\bar r_k^{after} - \\bar r_k^{before})

reported absolutely, relative to ``|before|``, and relative to the
improvement of ``k``'s reward during the member's training (the paper's
definition; ``before - untrained``). "Before", "after" and "untrained" (the
member's policies at episode 0, rebuilt from its seed) are measured with the
same :func:`~pbt_econ.episode.evaluation_spec`, the same number of episodes
and the same evaluation seed (common random numbers), so their differences
are not swamped by sampling noise. The outcome's descriptors are those of the
"before" evaluation: an outcome is described by the rollouts its epsilon was
measured on.

The deviation is trained by the member's own rollout and update code
(:meth:`pbt_econ.member.Member.train` with specs from
:func:`~pbt_econ.episode.best_response_spec`), so best response optimises
exactly the objective training did; only the deviating type's policy,
optimiser and no-Ponzi multiplier change.

CLI::

    python -m pbt_econ.best_response CHECKPOINT_OR_RUN_DIR [--types consumer,firm,government]
        [--episodes N] [--eval-episodes N] [--from-scratch] [--out FILE.parquet]
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys
from dataclasses import dataclass
from pathlib import Path

from pbt_econ.checkpoints import CheckpointError, load_member
from pbt_econ.config import BestResponseConfig
from pbt_econ.economy import ConfigError
from pbt_econ.episode import AGENT_TYPES, best_response_spec
from pbt_econ.member import Member, build_policies
from pbt_econ.ppo import make_optimizer
from pbt_econ.records import EvalResult
from pbt_econ.rundir import RunDir, TrainDir
from pbt_econ.seeds import stream_seed

__all__ = ["BestResponseReport", "BestResponseRow", "assess_outcome", "best_response", "deviate", "find_checkpoints",
           "main"]


@dataclass(frozen=True)
class BestResponseRow:
    """One row of ``best_response.parquet``: one (member, type, start) deviation.

    Rewards are mean per-agent episode returns of ``agent_type`` (welfare for
    the government); ``*_ci95`` are half-widths of normal 95% intervals.
    """

    member_id: str
    agent_type: str
    start: str
    """``learned`` (continue from the member's policy) or ``scratch`` (fresh policy)."""
    episodes: int
    reward_before: float
    reward_before_ci95: float
    reward_after: float
    reward_after_ci95: float
    reward_untrained: float
    """The type's reward under the untrained policies (start of the member's training)."""
    epsilon_abs: float
    epsilon_rel: float
    """``epsilon_abs / |reward_before|``."""
    epsilon_rel_improvement: float
    """``epsilon_abs / (reward_before - reward_untrained)``; NaN if training did not improve."""
    tolerance: float
    passes: bool
    """``epsilon_rel_improvement <= tolerance`` (``epsilon_rel`` when that is NaN)."""
    member_episode: int
    eval_seed: int


@dataclass(frozen=True)
class BestResponseReport:
    """What :func:`best_response` measured: one row per deviation, and the shared evaluations.

    ``before`` describes the member's outcome (its ``stats.descriptors`` go
    into ``outcomes.parquet``); ``untrained`` is the same evaluation of the
    member's policies at episode 0.
    """

    rows: list[BestResponseRow]
    before: EvalResult
    untrained: EvalResult


def deviate(member: Member, agent_type: str, episodes: int, start: str = "learned", progress=None) -> Member:
    """A copy of ``member`` in which only ``agent_type`` trained ``episodes`` more episodes.

    ``member`` itself is not changed. ``start="scratch"`` re-initialises the
    deviating policy (seed stream ``scratch``) and its optimiser first.
    """
    if agent_type not in AGENT_TYPES:
        raise ConfigError(f"best-response type {agent_type!r}: must be one of {', '.join(AGENT_TYPES)}")
    if start not in ("learned", "scratch"):
        raise ConfigError(f"start = {start!r}: must be 'learned' or 'scratch'")
    clone = Member(member.config, member.curriculum, member.seed, member.member_id)
    clone.set_state(member.get_state())
    if start == "scratch":
        fresh = build_policies(member.config, clone.spaces, stream_seed(member.seed, "scratch"))[agent_type]
        clone.policies[agent_type].load_state_dict(fresh.state_dict())
        clone.optimizers[agent_type] = make_optimizer(clone.policies[agent_type], clone.training.agent(agent_type).lr)
    curriculum = member.curriculum
    clone.train(episodes, progress=progress, schedule=lambda e: best_response_spec(curriculum.at(e), agent_type))
    return clone


def best_response(
    member: Member,
    config: BestResponseConfig | None = None,
    types: tuple[str, ...] | None = None,
    episodes: int | None = None,
    progress=None,
) -> BestResponseReport:
    """Best-response rows for ``member`` (one per type and start); ``member`` is not changed.

    Called by the CLI below and, on a Ray actor, by the population search at
    the end of training. ``progress(n)`` is called after every training
    episode. With no types to check (``types=()``) it still evaluates
    "before" and "untrained", which describe the outcome.
    """
    cfg = config or member.config.best_response
    types = cfg.types if types is None else types
    types = tuple(t for t in types if t not in member.fixed)  # a fixed type is reported as fixed, not checked
    episodes = episodes or cfg.episodes

    def evaluate(m: Member) -> EvalResult:
        return m.evaluate(cfg.eval_episodes, seed=cfg.eval_seed)

    before = evaluate(member)
    untrained = evaluate(member.untrained())
    starts = ("learned", "scratch") if cfg.from_scratch else ("learned",)
    rows = []
    for agent_type in types:
        for start in starts:
            step = (lambda _i, _s: progress(1)) if progress is not None else None
            after = evaluate(deviate(member, agent_type, episodes, start, progress=step))
            r_before, r_after = before.mean(agent_type), after.mean(agent_type)
            r_untrained = untrained.mean(agent_type)
            eps = max(0.0, r_after - r_before)
            improvement = r_before - r_untrained
            rel = eps / abs(r_before) if r_before != 0 else (0.0 if eps == 0 else math.inf)
            rel_imp = eps / improvement if improvement > 0 else math.nan
            tol = cfg.tolerance.get(agent_type, math.inf)
            rows.append(BestResponseRow(
                member_id=member.member_id, agent_type=agent_type, start=start, episodes=episodes,
                reward_before=r_before, reward_before_ci95=before.ci95(agent_type),
                reward_after=r_after, reward_after_ci95=after.ci95(agent_type),
                reward_untrained=r_untrained, epsilon_abs=eps, epsilon_rel=rel,
                epsilon_rel_improvement=rel_imp, tolerance=tol,
                passes=bool((rel if math.isnan(rel_imp) else rel_imp) <= tol),
                member_episode=member.episode, eval_seed=cfg.eval_seed,
            ))
    return BestResponseReport(rows=rows, before=before, untrained=untrained)


def assess_outcome(member: Member, config: BestResponseConfig, eval_seeds: int):
    """A final outcome as the search records it: ``(descriptors, descriptor_se, best-response rows)``.

    The descriptors are the mean over ``eval_seeds`` evaluations (seed stream ``eval``), the first of
    which is the best response's "before" evaluation; their spread gives the standard errors.
    """
    from pbt_econ.outcomes import summarise_evaluations

    report = best_response(member, config)
    evaluations = [report.before.stats.descriptors]
    for k in range(1, eval_seeds):
        seed = stream_seed(config.eval_seed, "eval", k)
        evaluations.append(member.evaluate(config.eval_episodes, seed=seed).stats.descriptors)
    mean, se = summarise_evaluations(evaluations)
    return mean, se, report.rows


def find_checkpoints(path: Path) -> list[Path]:
    """A checkpoint file, a ``pbt_econ.train`` folder, or a search run directory -> checkpoint files.

    For a search: every member's ``final.pt``, or, if the search has not finished,
    every member's newest ``seg_NNNN.pt``.
    """
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pbt_econ.best_response",
                                     description="Measure best-response epsilon of trained members.")
    parser.add_argument("target", type=Path, help="checkpoint file, train output folder or search run directory")
    parser.add_argument("--types", default=None, help="comma-separated agent types (default: all)")
    parser.add_argument("--episodes", type=int, default=None, help="training episodes per deviation")
    parser.add_argument("--eval-episodes", type=int, default=None, help="evaluation episodes before and after")
    parser.add_argument("--from-scratch", action="store_true", help="also deviate from a fresh policy")
    parser.add_argument("--device", default=None, help="cpu, cuda or cuda:N (default: the checkpoint's)")
    parser.add_argument("--out", type=Path, default=None, help="Parquet file (default: next to the target)")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    from pbt_econ.tables import write_table

    try:
        types = tuple(t.strip() for t in args.types.split(",")) if args.types else None
        for t in types or ():
            if t not in AGENT_TYPES:
                raise ConfigError(f"--types: {t!r} is not one of {', '.join(AGENT_TYPES)}")
        if args.episodes is not None and args.episodes < 1:
            raise ConfigError(f"--episodes = {args.episodes}: must be >= 1")
        checkpoints = find_checkpoints(args.target)
        from pbt_econ.preflight import check_device, check_output_file

        out = args.out or TrainDir(args.target.parent if args.target.is_file() else args.target).best_response
        check_output_file(out, suffix=".parquet")
        if args.device:
            from pbt_econ.config_schema import RunConfig

            RunConfig(device=args.device)  # the device's format
            check_device(args.device)
        rows: list[BestResponseRow] = []
        bar = None
        for path in checkpoints:
            member = load_member(path, device=args.device)
            cfg = member.config.best_response
            changes = {}
            if args.eval_episodes is not None:
                changes["eval_episodes"] = args.eval_episodes
            if args.from_scratch:
                changes["from_scratch"] = True
            if changes:
                cfg = dataclasses.replace(cfg, **changes)
            n_types = len(types or cfg.types) * (2 if cfg.from_scratch else 1)
            total = n_types * (args.episodes or cfg.episodes)
            if not args.no_progress:
                from tqdm import tqdm

                bar = tqdm(total=total, unit="ep", desc=f"best response {member.member_id}", dynamic_ncols=True)
            rows += best_response(member, cfg, types, args.episodes, progress=bar.update if bar else None).rows
            if bar is not None:
                bar.close()
    except (ConfigError, CheckpointError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    write_table(rows, out, "best_response")
    print(f"{'member':<14}{'type':<12}{'start':<9}{'before':>12}{'after':>12}{'eps_abs':>11}{'eps/impr':>10}  pass")
    for r in rows:
        print(f"{r.member_id:<14}{r.agent_type:<12}{r.start:<9}{r.reward_before:>12.4g}{r.reward_after:>12.4g}"
              f"{r.epsilon_abs:>11.4g}{r.epsilon_rel_improvement:>10.3g}  {'yes' if r.passes else 'NO'}")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    from pbt_econ.cli import run

    run(main)
