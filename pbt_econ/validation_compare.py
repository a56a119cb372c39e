"""What ``python -m pbt_econ.validate`` measures: one search's outcomes next to its economy's closed form.

Each ``<economy>_rows`` function takes a finished search directory and returns metric rows
``{economy, seed, metric, value, known, error}``; the known answer is recomputed from the
search's own resolved ``config.yaml`` (never from defaults), so every ``--set economy.*`` is honoured.
The helpers (``cournot_gains``, ``growth_errors``, ``coordination_found``) are pure functions of
hand-made inputs so that they can be unit-tested.

Units: Cournot gains are money per firm per **episode** (the framework's ε unit; the closed forms
give per step, multiplied here by ``episode_length``); growth rates are fractions of output.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

__all__ = ["collusive_framework_check", "coordination_found", "coordination_rows", "cournot_gains", "cournot_rows",
           "growth_errors", "growth_rows", "policy_probs", "read_run"]


def row(economy: str, seed: int, metric: str, value: float, known: float = math.nan) -> dict:
    """One ``validation.parquet`` row; ``error = value - known`` (NaN when nothing is known)."""
    value, known = float(value), float(known)
    return {"economy": economy, "seed": int(seed), "metric": metric, "value": value, "known": known,
            "error": value - known if math.isfinite(known) else math.nan}


def read_run(run_dir: Path):
    """``(resolved RunConfig, outcomes DataFrame, equilibria DataFrame or None)`` of a search directory."""
    import pandas as pd

    from pbt_econ.config import load_config

    config = load_config(run_dir / "config.yaml")
    outcomes = pd.read_parquet(run_dir / "outcomes.parquet")
    eq_path = run_dir / "equilibria.parquet"
    equilibria = pd.read_parquet(eq_path) if eq_path.exists() else None
    return config, outcomes, equilibria


def policy_probs(member, agent_type: str) -> list[float]:
    """The learned action distribution of ``agent_type`` (first agent, first head, reset observation, full grid)."""
    import torch

    from pbt_econ import policies

    economy = member.economy
    obs = economy.observe(economy.reset())[agent_type][0]  # [N, D]
    with torch.no_grad():
        logits, _ = member.policies[agent_type](obs)  # [N, H, K]
        logits = policies.masked_logits(logits, economy.mask(agent_type, 1.0, {}))
        return torch.softmax(logits[0, 0].double(), -1).tolist()


# ------------------------------------------------------------------ cournot
def cournot_gains(probs: Sequence[float], economy) -> dict[str, float]:
    """Exact gains of the symmetric profile ``probs`` (money per firm per episode) and its mean quantity."""
    from pbt_econ.economies.cournot import solution as sol

    e, grid, T = economy, list(economy.quantities), economy.episode_length
    args = (e.a, e.b, e.c, e.num_firms)
    uni, typ = sol.unilateral_gain(probs, grid, *args), sol.type_level_gain(probs, grid, *args)
    return {"mean_quantity": sum(p * g for p, g in zip(probs, grid)), "unilateral_gain": T * uni.gain,
            "type_level_gain": T * typ.gain, "best_deviation": uni.quantity,
            "nash_profit": T * sol.nash_profit(*args)}


def grid_step_at(grid: Sequence[float], q: float) -> float:
    """Spacing of the grid around ``q`` (the larger of the two neighbouring gaps)."""
    k = min(range(len(grid)), key=lambda i: abs(grid[i] - q))
    gaps = [grid[j + 1] - grid[j] for j in (k - 1, k) if 0 <= j < len(grid) - 1]
    return max(gaps) if gaps else math.inf


def cournot_rows(run_dir: Path, seed: int) -> list[dict]:
    from pbt_econ.economies.cournot import solution as sol
    from pbt_econ.member import load_member

    config, outcomes, _ = read_run(run_dir)
    e = config.economy
    q_star = sol.nash_quantity(e.a, e.b, e.c, e.num_firms)
    rows = [row("cournot", seed, "mean_quantity", outcomes["quantity"].mean(), q_star),
            row("cournot", seed, "grid_step", grid_step_at(e.quantities, q_star))]
    gains = []
    for member_id in outcomes["member_id"]:
        member = load_member(run_dir / "members" / str(member_id) / "final.pt")
        gains.append(cournot_gains(policy_probs(member, "firm"), e))
    nash = gains[0]["nash_profit"]
    worst = {k: max(g[k] for g in gains) for k in ("unilateral_gain", "type_level_gain")}
    rows += [row("cournot", seed, "policy_mean_quantity", sum(g["mean_quantity"] for g in gains) / len(gains), q_star),
             row("cournot", seed, "exact_unilateral_gain", worst["unilateral_gain"], 0.0),
             row("cournot", seed, "exact_unilateral_gain_rel", worst["unilateral_gain"] / nash, 0.0),
             row("cournot", seed, "exact_type_level_gain", worst["type_level_gain"], 0.0),
             row("cournot", seed, "framework_epsilon_abs", outcomes["epsilon_abs_firm"].max(), 0.0),
             row("cournot", seed, "nash_profit", nash, nash)]
    if "epsilon_unilateral_firm" in outcomes:
        rows.append(row("cournot", seed, "framework_epsilon_unilateral", outcomes["epsilon_unilateral_firm"].max(),
                        0.0))
    rows.append(row("cournot", seed, "passes_firm_fraction", outcomes["passes_firm"].mean(), 1.0))
    if "verdict" in outcomes:  # the Nash verdict (unilateral deviations where measured)
        rows.append(row("cournot", seed, "verified_fraction", float((outcomes["verdict"] == "verified").mean()), 1.0))
    return rows


def collusive_framework_check(run_dir: Path) -> dict[str, float]:
    """The collusive profile (every firm at ``q_c``) checked exactly and by the framework's own best response.

    The framework check builds a member from the run's config whose firm policy is a point mass at the
    grid value nearest ``q_c`` (head weights zero, one large bias) and runs
    :func:`pbt_econ.best_response.best_response` on it: its trained deviations retrain the *shared* firm
    policy (type-level); its certificates also try constant unilateral deviations.
    """
    import torch

    from pbt_econ.best_response.check import best_response
    from pbt_econ.economies.cournot import solution as sol
    from pbt_econ.member import Member

    config, _, _ = read_run(run_dir)
    e = config.economy
    q_c = sol.collusive_quantity(e.a, e.b, e.c, e.num_firms)
    k = min(range(len(e.quantities)), key=lambda i: abs(e.quantities[i] - q_c))
    probs = [1.0 if i == k else 0.0 for i in range(len(e.quantities))]
    out = {f"collusive_exact_{n}": v for n, v in cournot_gains(probs, e).items()}
    member = Member(config, seed=config.seed)
    head = member.policies["firm"].head
    with torch.no_grad():
        head.weight.zero_()
        head.bias.zero_()
        head.bias[k] = 30.0  # logits [..., :-1] are the K quantity choices; the last output is the value
    report = best_response(member, types=("firm",))
    for kind in ("type", "unilateral"):
        eps = [r.epsilon_abs for r in report.rows if r.deviation == kind]
        out[f"collusive_framework_{kind}_epsilon"] = max(eps) if eps else math.nan
    trained = [r.epsilon_abs for r in report.rows if r.deviation == "type" and r.start == "learned"]
    out["collusive_framework_trained_epsilon"] = max(trained) if trained else math.nan
    out["collusive_framework_before"] = report.before.mean("firm")
    return out


# ------------------------------------------------------------------ growth
def growth_errors(learned: Sequence[float], economy) -> dict[str, float]:
    """Learned per-period savings ``s_0..s_T`` next to the closed form and the grid floor."""
    from pbt_econ.economies.growth import solution as sol

    e = economy
    star = sol.savings_rates(e.alpha, e.beta, e.horizon)
    learned = [min(max(float(s), 0.0), 1.0 - 1e-12) for s in learned]
    floor = sol.grid_floor(list(e.savings_rates), e.alpha, e.beta, e.horizon, e.initial_capital, e.sigma)
    euler = sol.euler_errors(learned, e.alpha, e.beta)
    return {"star": list(star), "learned": learned, "floor_policy": list(floor.policy),
            "mean_abs_error": sum(abs(a - b) for a, b in zip(learned, star)) / len(star),
            "max_abs_error": max(abs(a - b) for a, b in zip(learned, star)),
            "ce_loss": sol.ce_loss(learned, e.alpha, e.beta, e.initial_capital, e.sigma),
            "euler_mean": sum(euler) / len(euler), "euler_max": max(euler),
            "floor_ce_loss": floor.ce_loss, "floor_euler_mean": sum(floor.euler_errors) / len(floor.euler_errors),
            "floor_euler_max": max(floor.euler_errors)}


def growth_rows(run_dir: Path, seed: int) -> list[dict]:
    config, outcomes, _ = read_run(run_dir)
    e = config.economy
    learned = [outcomes[f"savings_t{t}"].mean() for t in range(e.horizon + 1)]
    r = growth_errors(learned, e)
    rows = [row("growth", seed, f"savings_t{t}", s, k) for t, (s, k) in enumerate(zip(r["learned"], r["star"]))]
    rows += [row("growth", seed, f"grid_best_t{t}", g, k) for t, (g, k) in enumerate(zip(r["floor_policy"], r["star"]))]
    rows += [row("growth", seed, "mean_abs_error", r["mean_abs_error"], 0.0),
             row("growth", seed, "max_abs_error", r["max_abs_error"], 0.0),
             row("growth", seed, "ce_loss", r["ce_loss"], r["floor_ce_loss"]),
             row("growth", seed, "euler_mean", r["euler_mean"], r["floor_euler_mean"]),
             row("growth", seed, "euler_max", r["euler_max"], r["floor_euler_max"]),
             row("growth", seed, "framework_epsilon_abs", outcomes["epsilon_abs_household"].max(), 0.0),
             row("growth", seed, "framework_epsilon_rel", outcomes["epsilon_rel_household"].max(), 0.0)]
    return rows


# ------------------------------------------------------------------ coordination
def coordination_found(adoptions: Sequence[float], equilibria: Sequence[float], tol: float = 0.1) -> list[bool]:
    """For each known equilibrium adoption, whether some outcome lies within ``tol`` of it."""
    return [any(abs(a - e) <= tol for a in adoptions) for e in equilibria]


def coordination_rows(run_dir: Path, seed: int) -> list[dict]:
    from pbt_econ.economies.coordination import solution as sol
    from pbt_econ.economies.coordination.model import REGIMES

    config, outcomes, equilibria = read_run(run_dir)
    e = config.economy
    known = sol.pure_equilibria(e.num_agents, e.theta, e.kappa)
    found = coordination_found(list(outcomes["adoption"]), [q.adoption for q in known])
    known_regimes = {next(r.name for r in REGIMES if r.test({"adoption": q.adoption})) for q in known}
    rows = [row("coordination", seed, f"found_m{int(q.adopters)}", float(f), 1.0) for q, f in zip(known, found)]
    rows.append(row("coordination", seed, "found_all", float(all(found)), 1.0))
    n_eq = 0 if equilibria is None else len(equilibria)
    n_reg = 0 if equilibria is None else equilibria["regime"].nunique()
    rows += [row("coordination", seed, "analysis_equilibria", n_eq, len(known)),
             row("coordination", seed, "analysis_regimes", n_reg, len(known_regimes)),
             row("coordination", seed, "framework_epsilon_abs", outcomes["epsilon_abs_agent"].max(), 0.0)]
    rows += [row("coordination", seed, f"member_adoption_{m}", a) for m, a in zip(outcomes["member_id"],
                                                                                   outcomes["adoption"])]
    return rows
