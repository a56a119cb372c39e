"""The growth economy's known answer (``python -m pbt_econ.validate``; docs/ground-truth.md, "Growth").

A run's learned savings rates (the outcomes' mean ``savings_t<t>`` per period) are compared with the
closed-form ``s*_t`` recomputed from the run's own config, next to the grid's own floor (the best the grid
allows): mean and max absolute error, consumption-equivalent loss and log10 Euler errors (fractions of
output / consumption; :mod:`.solution`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pbt_econ.economies.growth import solution as sol
from pbt_econ.economies.protocol import KnownAnswer, Metric, RunView, Target

__all__ = ["KNOWN", "compare", "errors", "plot", "targets"]


def errors(learned: Sequence[float], economy) -> dict:
    """Learned per-period savings ``s_0..s_T`` next to the closed form and the grid floor."""
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


def compare(view: RunView) -> list[Metric]:
    """Per-period savings (learned, best grid, closed form), their errors, CE loss, Euler errors, framework ε."""
    e, outcomes = view.economy_config, view.outcomes
    r = errors([outcomes[f"savings_t{t}"].mean() for t in range(e.horizon + 1)], e)
    out = [Metric(f"savings_t{t}", s, k) for t, (s, k) in enumerate(zip(r["learned"], r["star"]))]
    out += [Metric(f"grid_best_t{t}", g, k) for t, (g, k) in enumerate(zip(r["floor_policy"], r["star"]))]
    out += [Metric(f"closed_form_t{t}", k, k) for t, k in enumerate(r["star"])]
    out += [Metric("mean_abs_error", r["mean_abs_error"], 0.0),
            Metric("max_abs_error", r["max_abs_error"], 0.0),
            Metric("ce_loss", r["ce_loss"], r["floor_ce_loss"]),
            Metric("grid_floor_ce_loss", r["floor_ce_loss"]),
            Metric("euler_mean", r["euler_mean"], r["floor_euler_mean"]),
            Metric("euler_max", r["euler_max"], r["floor_euler_max"]),
            Metric("framework_epsilon_abs", float(outcomes["epsilon_abs_household"].max()), 0.0),
            Metric("framework_epsilon_rel", float(outcomes["epsilon_rel_household"].max()), 0.0)]
    return out


def targets(metrics: Mapping[str, list[float]]) -> list[Target]:
    """Mean |s_t - s*_t| <= 0.02 and CE loss <= 0.5% in every seed."""
    mae, ce = list(metrics["mean_abs_error"]), list(metrics["ce_loss"])
    floor = metrics.get("grid_floor_ce_loss", [float("nan")])[0]
    return [Target("mean |s_t - s*_t| <= 0.02 in every seed", max(mae) <= 0.02, f"worst {max(mae):.4f}"),
            Target("CE loss <= 0.5% in every seed", max(ce) <= 0.005,
                   f"worst {100 * max(ce):.3g}% (grid floor {100 * floor:.2g}%)")]


def _periods(metrics: Mapping[str, list[float]], prefix: str) -> list[int]:
    return sorted(int(k[len(prefix):]) for k in metrics if k.startswith(prefix))


def plot(metrics: Mapping[str, list[float]], ax) -> None:
    """Learned savings per period and seed next to the closed form."""
    ts = _periods(metrics, "savings_t")
    ax.plot(ts, [metrics[f"closed_form_t{t}"][0] for t in ts], "k-", lw=2, label="closed form")
    for s in range(len(metrics[f"savings_t{ts[0]}"])):
        ax.plot(ts, [metrics[f"savings_t{t}"][s] for t in ts], "o--", label=f"seed {s}")
    ax.set(xlabel="period t", ylabel="savings rate", title="Growth: learned vs closed-form savings")
    ax.legend()


KNOWN = KnownAnswer(compare=compare, targets=targets, plot=plot)
"""The growth economy's known answer (``EconomyEntry.known_answer``)."""
