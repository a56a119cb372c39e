"""The Cournot market's known answer (``python -m pbt_econ.validate``; docs/ground-truth.md, "Cournot").

A run is compared with the symmetric Nash equilibrium recomputed from the run's own config: the outcomes'
mean quantity next to ``q*``, and the exact type-level and unilateral gains of each member's learned policy
(:mod:`.solution`; money per firm per **episode**, the framework's ε unit: the closed forms give per step,
multiplied here by ``episode_length``). The collusive profile (every firm at the grid value nearest ``q_c``)
is declared as a profile, which validation certifies with the framework's own best response; its exact
gains are metrics of every run.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from pbt_econ.economies.cournot import solution as sol
from pbt_econ.economies.protocol import KnownAnswer, Metric, RunView, Target

__all__ = ["KNOWN", "collusive_probs", "compare", "gains", "grid_step_at", "plot", "profiles", "targets"]


def gains(probs: Sequence[float], economy) -> dict[str, float]:
    """Exact gains of the symmetric profile ``probs`` (money per firm per episode) and its mean quantity."""
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


def collusive_probs(economy) -> list[float]:
    """A point mass at the grid value nearest the collusive quantity ``q_c``."""
    e = economy
    q_c = sol.collusive_quantity(e.a, e.b, e.c, e.num_firms)
    k = min(range(len(e.quantities)), key=lambda i: abs(e.quantities[i] - q_c))
    return [1.0 if i == k else 0.0 for i in range(len(e.quantities))]


def compare(view: RunView) -> list[Metric]:
    """One run's metrics: outcomes' and policies' quantities, exact gains of the learned policies, framework ε."""
    e, outcomes = view.economy_config, view.outcomes
    q_star = sol.nash_quantity(e.a, e.b, e.c, e.num_firms)
    out = [Metric("mean_quantity", float(outcomes["quantity"].mean()), q_star),
           Metric("nash_quantity", q_star, q_star),
           Metric("grid_step", grid_step_at(e.quantities, q_star))]
    learned = [gains(view.policy_probs(m, "firm"), e) for m in view.member_ids()]
    nash = learned[0]["nash_profit"]
    worst = {k: max(g[k] for g in learned) for k in ("unilateral_gain", "type_level_gain")}
    out += [Metric("policy_mean_quantity", sum(g["mean_quantity"] for g in learned) / len(learned), q_star),
            Metric("exact_unilateral_gain", worst["unilateral_gain"], 0.0),
            Metric("exact_unilateral_gain_rel", worst["unilateral_gain"] / nash, 0.0),
            Metric("exact_type_level_gain", worst["type_level_gain"], 0.0),
            Metric("framework_epsilon_abs", float(outcomes["epsilon_abs_firm"].max()), 0.0),
            Metric("nash_profit", nash, nash)]
    if "epsilon_unilateral_firm" in outcomes:
        out.append(Metric("framework_epsilon_unilateral", float(outcomes["epsilon_unilateral_firm"].max()), 0.0))
    out.append(Metric("passes_firm_fraction", float(outcomes["passes_firm"].mean()), 1.0))
    if "verdict" in outcomes:  # the Nash verdict (unilateral deviations where measured)
        out.append(Metric("verified_fraction", float((outcomes["verdict"] == "verified").mean()), 1.0))
    out += [Metric(f"collusive_exact_{k}", v) for k, v in gains(collusive_probs(e), e).items()]
    return out


def _pct(values: Sequence[float]) -> str:
    return ", ".join(f"{100 * v:.3g}%" for v in values)


def targets(metrics: Mapping[str, list[float]]) -> list[Target]:
    """Mean quantity within one grid step of q* in >= 90% of seeds; exact unilateral gain <= 1% of Nash profit."""
    q_star, step = metrics["nash_quantity"][0], metrics["grid_step"][0]
    errors = [q - q_star for q in metrics["mean_quantity"]]
    within = [abs(x) <= step + 1e-9 for x in errors]
    rel = list(metrics["exact_unilateral_gain_rel"])
    return [Target("mean quantity within one grid step of q* in at least 90% of seeds",
                   sum(within) >= 0.9 * len(within),
                   f"{sum(within)}/{len(within)} seeds (errors {', '.join(f'{x:+.3g}' for x in errors)})"),
            Target("exact unilateral exploitability <= 1% of Nash profit in every seed", max(rel) <= 0.01,
                   f"{sum(v <= 0.01 for v in rel)}/{len(rel)} seeds, worst {100 * max(rel):.3g}% "
                   f"(per seed {_pct(rel)})")]


def profiles(economy_config) -> dict[str, dict[str, list[float]]]:
    """The collusive profile: every firm at the grid value nearest ``q_c`` (not a Nash equilibrium)."""
    return {"collusive": {"firm": collusive_probs(economy_config)}}


def plot(metrics: Mapping[str, list[float]], ax) -> None:
    """Outcomes' and policies' mean quantity per seed, around q* ± one grid step."""
    q_star, step = metrics["nash_quantity"][0], metrics["grid_step"][0]
    seeds = list(range(len(metrics["mean_quantity"])))
    ax.axhspan(q_star - step, q_star + step, color="g", alpha=0.15, label="q* ± one grid step")
    ax.axhline(q_star, color="k", label="q*")
    ax.plot(seeds, metrics["mean_quantity"], "o", label="outcomes' mean quantity")
    ax.plot(seeds, metrics["policy_mean_quantity"], "x", label="policy mean quantity")
    ax.set(xlabel="seed", ylabel="quantity per firm", title="Cournot: learned quantities around q*")
    ax.legend()


KNOWN = KnownAnswer(compare=compare, targets=targets, profiles=profiles, plot=plot)
"""The Cournot market's known answer (``EconomyEntry.known_answer``)."""
