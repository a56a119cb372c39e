"""``python -m pbt_econ.best_response``: the best-response check of trained members from the command line.

::

    python -m pbt_econ.best_response CHECKPOINT_OR_RUN_DIR [--types T1,T2] [--episodes N]
        [--eval-episodes N] [--from-scratch] [--unilateral-agents K] [--certificate-max-actions N]
        [--refine ROUNDS] [--device D] [--out FILE.parquet]

Agent types are the economy's (``--types`` takes their names, comma-separated).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from pbt_econ.core.checkpoints import CheckpointError
from pbt_econ.core.errors import ConfigError
from pbt_econ.core.rundir import TrainDir, find_checkpoints
from pbt_econ.equilibrium.best_response.check import best_response
from pbt_econ.equilibrium.best_response.rows import BestResponseRow
from pbt_econ.learning.member import load_member


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m pbt_econ.best_response",
                                     description="Measure best-response epsilon of trained members.")
    parser.add_argument("target", type=Path, help="checkpoint file, train output folder or search run directory")
    parser.add_argument("--types", default=None, help="comma-separated agent types (default: all)")
    parser.add_argument("--episodes", type=int, default=None, help="training episodes per deviation")
    parser.add_argument("--eval-episodes", type=int, default=None, help="evaluation episodes before and after")
    parser.add_argument("--from-scratch", action="store_true", help="also deviate from a fresh policy")
    parser.add_argument("--unilateral-agents", type=int, default=None,
                        help="agents per type with a unilateral deviation (default: best_response.unilateral_agents)")
    parser.add_argument("--certificate-max-actions", type=int, default=None,
                        help="certify types with one head of at most this many actions; 0: no certificates")
    parser.add_argument("--refine", type=int, default=0, metavar="ROUNDS",
                        help="then refine a violated outcome by iterated best response (rows as <member>~r)")
    parser.add_argument("--device", default=None, help="cpu, cuda or cuda:N (default: the checkpoint's)")
    parser.add_argument("--out", type=Path, default=None, help="Parquet file (default: next to the target)")
    parser.add_argument("--no-progress", action="store_true")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from pbt_econ.core.tables import write_table

    try:
        types = tuple(t.strip() for t in args.types.split(",")) if args.types else None
        if args.episodes is not None and args.episodes < 1:
            raise ConfigError(f"--episodes = {args.episodes}: must be >= 1")
        checkpoints = find_checkpoints(args.target)
        from pbt_econ.learning.preflight import check_device, check_output_file

        out = args.out or TrainDir(args.target.parent if args.target.is_file() else args.target).best_response
        check_output_file(out, suffix=".parquet")
        if args.device:
            from pbt_econ.config.schema import RunConfig

            RunConfig(device=args.device)  # the device's format
            check_device(args.device)
        rows: list[BestResponseRow] = []
        for path in checkpoints:
            rows += _check_member(load_member(path, device=args.device), types, args)
    except (ConfigError, CheckpointError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    write_table(rows, out, "best_response")
    _print_rows(rows)
    print(f"wrote {out}")
    return 0


def _check_member(member, types: tuple[str, ...] | None, args: argparse.Namespace) -> list[BestResponseRow]:
    """One member's best-response rows (then its refinement's, with ``--refine``)."""
    for t in types or ():
        if t not in member.types:
            raise ConfigError(f"--types: {t!r} is not one of {', '.join(member.types)}")
    cfg = _best_response_config(member.config.best_response, args)
    counts = {a.name: a.count for a in member.economy.agent_types}
    n_runs = sum((2 if cfg.from_scratch else 1) + (min(cfg.unilateral_agents, counts[t]) if counts[t] > 1 else 0)
                 for t in (types or cfg.types) if t not in member.fixed)
    total = n_runs * (args.episodes or cfg.episodes)
    bar = None
    if not args.no_progress:
        from tqdm import tqdm

        bar = tqdm(total=total, unit="ep", desc=f"best response {member.member_id}", dynamic_ncols=True)
    report = best_response(member, cfg, types, args.episodes, progress=bar.update if bar else None)
    rows = list(report.rows)
    if bar is not None:
        bar.close()
    if args.refine < 0:
        raise ConfigError(f"--refine = {args.refine}: must be >= 0")
    if args.refine:
        from pbt_econ.equilibrium.outcomes import summarise_evaluations
        from pbt_econ.equilibrium.refine import refine

        if args.episodes:
            cfg = dataclasses.replace(cfg, episodes=args.episodes)
        mean, se = summarise_evaluations([report.before.stats.descriptors])
        result = refine(member, cfg, args.refine, cfg.episodes, 1, start=(mean, se, report.rows))
        if result.rounds:
            rows += [dataclasses.replace(r, member_id=f"{r.member_id}~r") for r in result.final[2]]
        print(f"{member.member_id}: refinement {result.ending} after {len(result.rounds)} round(s)"
              + "".join(f"; adopted {r.adopted}" for r in result.rounds), file=sys.stderr)
    return rows


def _best_response_config(cfg, args: argparse.Namespace):
    """The member's ``best_response`` settings with the command line's changes."""
    changes = {}
    if args.eval_episodes is not None:
        changes["eval_episodes"] = args.eval_episodes
    if args.from_scratch:
        changes["from_scratch"] = True
    for flag in ("unilateral_agents", "certificate_max_actions"):
        value = getattr(args, flag)
        if value is not None:
            if value < 0:
                raise ConfigError(f"--{flag.replace('_', '-')} = {value}: must be >= 0")
            changes[flag] = value
    return dataclasses.replace(cfg, **changes) if changes else cfg


def _print_rows(rows: list[BestResponseRow]) -> None:
    print(f"{'member':<14}{'type':<12}{'start':<9}{'who':<6}{'before':>12}{'after':>12}{'eps_abs':>11}{'±95%':>10}"
          f"{'eps/impr':>10}  {'verdict':<13}conv  action")
    for r in rows:
        who = "all" if r.deviation == "type" else f"#{r.agent}"
        print(f"{r.member_id:<14}{r.agent_type:<12}{r.start:<9}{who:<6}{r.reward_before:>12.4g}{r.reward_after:>12.4g}"
              f"{r.epsilon_abs:>11.4g}{r.gain_ci95:>10.3g}{r.epsilon_rel_improvement:>10.3g}  {r.verdict:<13}"
              f"{'yes' if r.converged else 'NO':<6}{r.action}")


if __name__ == "__main__":
    from pbt_econ.core.cli import run

    run(main)
