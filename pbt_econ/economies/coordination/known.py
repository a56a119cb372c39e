"""The coordination game's known answer (``python -m pbt_econ.validate``; docs/ground-truth.md, "Coordination").

The pure equilibria are enumerated exactly from the run's own config (:mod:`.solution`); a run finds one
when some member's outcome adoption lies within ``0.1`` of it. The analysis should report as many
equilibria and regimes as are known.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pbt_econ.economies.coordination import solution as sol
from pbt_econ.economies.coordination.model import REGIMES
from pbt_econ.economies.protocol import KnownAnswer, Metric, RunView, Target

__all__ = ["KNOWN", "compare", "found", "plot", "targets"]


def found(adoptions: Sequence[float], equilibria: Sequence[float], tol: float = 0.1) -> list[bool]:
    """For each known equilibrium adoption, whether some outcome lies within ``tol`` of it."""
    return [any(abs(a - e) <= tol for a in adoptions) for e in equilibria]


def compare(view: RunView) -> list[Metric]:
    """Which known pure equilibria the run found, what the analysis reported, framework ε, member adoptions."""
    e, outcomes, equilibria = view.economy_config, view.outcomes, view.equilibria
    known = sol.pure_equilibria(e.num_agents, e.theta, e.kappa)
    hits = found([float(a) for a in outcomes["adoption"]], [q.adoption for q in known])
    known_regimes = {next(r.name for r in REGIMES if r.test({"adoption": q.adoption})) for q in known}
    out = [Metric(f"found_m{int(q.adopters)}", float(f), 1.0) for q, f in zip(known, hits)]
    out.append(Metric("found_all", float(all(hits)), 1.0))
    n_eq = 0 if equilibria is None else len(equilibria)
    n_reg = 0 if equilibria is None else int(equilibria["regime"].nunique())
    out += [Metric("analysis_equilibria", n_eq, len(known)),
            Metric("analysis_regimes", n_reg, len(known_regimes)),
            Metric("known_equilibria", len(known), len(known)),
            Metric("known_regimes", len(known_regimes), len(known_regimes)),
            Metric("framework_epsilon_abs", float(outcomes["epsilon_abs_agent"].max()), 0.0)]
    out += [Metric(f"member_adoption_{m}", float(a)) for m, a in zip(outcomes["member_id"], outcomes["adoption"])]
    return out


def targets(metrics: Mapping[str, list[float]]) -> list[Target]:
    """Every known pure equilibrium found in >= 80% of seeds; the analysis reports the known counts in every seed."""
    all_found = [v == 1.0 for v in metrics["found_all"]]
    n_eq, n_reg = list(metrics["analysis_equilibria"]), list(metrics["analysis_regimes"])
    k_eq, k_reg = metrics["known_equilibria"][0], metrics["known_regimes"][0]
    return [Target("every known pure equilibrium found in at least 80% of seeds",
                   sum(all_found) >= 0.8 * len(all_found), f"{sum(all_found)}/{len(all_found)} seeds"),
            Target(f"analysis reports exactly {k_eq:g} equilibria and {k_reg:g} regimes",
                   all(v == k_eq for v in n_eq) and all(v == k_reg for v in n_reg),
                   f"equilibria {', '.join(f'{v:g}' for v in n_eq)}; regimes {', '.join(f'{v:g}' for v in n_reg)}")]


def plot(metrics: Mapping[str, list[float]], ax) -> None:
    """Which known pure equilibria each seed found (green: found)."""
    names = sorted((k for k in metrics if k.startswith("found_m")), key=lambda k: int(k[7:]))
    seeds = list(range(len(metrics["found_all"])))
    ax.imshow([metrics[k] for k in names], cmap="Greens", vmin=0, vmax=1, aspect="auto")
    ax.set_yticks(range(len(names)), [f"m={k[7:]}" for k in names])
    ax.set_xticks(range(len(seeds)), [f"seed {s}" for s in seeds])
    ax.set_title("Coordination: known pure equilibria found (green)")


KNOWN = KnownAnswer(compare=compare, targets=targets, plot=plot)
"""The coordination game's known answer (``EconomyEntry.known_answer``)."""
