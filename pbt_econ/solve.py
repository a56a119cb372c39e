"""``python -m pbt_econ.solve``: the deviation-aware solver on trained members (docs/model.md §10).

::

    python -m pbt_econ.solve TARGET [--rounds N] [--episodes N] [--share F] [--meta-solver regret|uniform]
                                    [--entropy-factor F] [--eval-seeds N] [--members m000,m001] [--out DIR]

``TARGET`` is a checkpoint, a ``train`` output folder or a search run directory (every member's
``final.pt``). Each member is solved in turn (:func:`pbt_econ.equilibrium.solver.solve`): check, pool
the violated constant deviations, train against the pool, check again. Writes, into ``--out``
(default: ``TARGET``'s folder): ``solve.parquet`` (one row per member x round x type: the convergence
curve), ``plots/solve_convergence.png``, and each solved member as ``solved/<member>.pt``. Prints each
member's ending: ``verified``, ``budget``, ``cycling`` or ``nothing to pool``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from analysis.convergence import solver_convergence
from pbt_econ.core.errors import ConfigError
from pbt_econ.core.files import atomic_write_text
from pbt_econ.core.tables import write_table
from pbt_econ.equilibrium.solver import solve, solve_rows
from pbt_econ.learning.member import load_member

__all__ = ["main"]


def _checkpoints(target: Path) -> dict[str, Path]:
    if target.is_file():
        return {target.stem: target}
    if (target / "checkpoint.pt").exists():
        return {target.name: target / "checkpoint.pt"}
    found = {p.parent.name: p for p in sorted((target / "members").glob("*/final.pt"))}
    if not found:
        raise ConfigError(f"{target}: no checkpoint.pt, and no members/*/final.pt (is it a train or search folder?)")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pbt_econ.solve",
                                     description="Solve trained members: train against their profitable deviations.")
    parser.add_argument("target", type=Path, help="checkpoint, train output folder or search run directory")
    parser.add_argument("--rounds", type=int, default=None, help="solver rounds (default: population.solve.rounds)")
    parser.add_argument("--episodes", type=int, default=None,
                        help="training episodes per round (default: population.solve.episodes or best_response.episodes)")
    parser.add_argument("--share", type=float, default=None, help="share of copies playing a pooled deviation")
    parser.add_argument("--meta-solver", choices=("regret", "uniform"), default=None)
    parser.add_argument("--entropy-factor", type=float, default=None,
                        help="multiplier on each type's entropy bonus while training against the pool "
                             "(default: population.solve.entropy_factor; 0: no bonus)")
    parser.add_argument("--eval-seeds", type=int, default=None, help="evaluation seeds per check (analysis.eval_seeds)")
    parser.add_argument("--members", default=None, help="comma-separated member ids (default: all)")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: the target's folder)")
    parser.add_argument("--no-progress", action="store_true", help="no per-round lines")
    args = parser.parse_args(argv)
    try:
        checkpoints = _checkpoints(args.target)
        if args.members:
            wanted = [m.strip() for m in args.members.split(",") if m.strip()]
            unknown = [m for m in wanted if m not in checkpoints]
            if unknown:
                raise ConfigError(f"--members: {', '.join(unknown)} not in {args.target} "
                                  f"(members: {', '.join(checkpoints)})")
            checkpoints = {m: checkpoints[m] for m in wanted}
        for flag in ("rounds", "episodes", "eval_seeds"):
            value = getattr(args, flag)
            if value is not None and value < (0 if flag == "rounds" else 1):
                raise ConfigError(f"--{flag.replace('_', '-')} = {value}: too small")
        if args.share is not None and not 0 < args.share <= 1:
            raise ConfigError(f"--share = {args.share}: must be in (0, 1]")
        if args.entropy_factor is not None and not args.entropy_factor >= 0:
            raise ConfigError(f"--entropy-factor = {args.entropy_factor}: must be >= 0")
        out = args.out or (args.target.parent if args.target.is_file() else args.target)
        rows: list[dict] = []
        for member_id, path in checkpoints.items():
            member = load_member(path)
            if member.config.threads:  # as train does
                import torch

                torch.set_num_threads(member.config.threads)
            settings = member.config.population.solve
            episodes = args.episodes or settings.episodes or member.config.best_response.episodes
            say = (lambda msg, m=member_id: print(f"[solve] {m} {msg}", flush=True)) if not args.no_progress else None
            result = solve(member, member.config.best_response,
                           rounds=settings.rounds if args.rounds is None else args.rounds, episodes=episodes,
                           share=args.share or settings.share, meta_solver=args.meta_solver or settings.meta_solver,
                           eval_seeds=args.eval_seeds or member.config.analysis.eval_seeds,
                           seed=member.seed, log=say,
                           entropy_factor=settings.entropy_factor if args.entropy_factor is None
                           else args.entropy_factor)
            nash, type_level = result.final_verdicts
            print(f"[solve] {member_id}: {result.ending} after {len(result.rounds) - 1} round(s), round "
                  f"{result.chosen} kept; Nash verdict {nash}, type-level {type_level}", flush=True)
            rows += solve_rows(member_id, result)
            (out / "solved").mkdir(parents=True, exist_ok=True)
            member.save(out / "solved" / f"{member_id}.pt")
        write_table(rows, out / "solve.parquet", "solve")
        plot = solver_convergence(rows, out / "plots" / "solve_convergence.png").path
        atomic_write_text(out / "solve.md", _summary(rows))
        print(f"[solve] wrote {out / 'solve.parquet'}, {plot}")
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def _summary(rows: list[dict]) -> str:
    lines = ["# Solver", "", "The last rows of each member (stage `recheck`) are its returned round, checked again on fresh "
             "evaluation and best-response streams: the final verdict.", "",
             "| member | stage | round | type | unilateral max | type-level max | gain / tolerance | verdict | pool "
             "(policies) |", "|---|---|---|---|---|---|---|---|---|"]
    lines += [f"| {r['member_id']} | {r['stage']} | {r['round']} | {r['agent_type']} | {r['unilateral_max']:.4g} | "
              f"{r['type_max']:.4g} | {r['rank']:.3g} | {r['verdict']} | {r['pool_size']} ({r['pool_policies']}) |"
              for r in rows]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    from pbt_econ.core.cli import run

    run(main)
