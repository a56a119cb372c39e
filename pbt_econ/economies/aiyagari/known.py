"""The Aiyagari economy's known answer (``EconomyEntry.known_answer``): learned outcome vs stationary equilibria.

:func:`compare` recomputes both equilibria from the run's own ``economy_config``
(:func:`.solution.solve`: the learners' share grid and Aiyagari's continuous choice) and
measures each member's policy in its own long run (:func:`.longrun.simulate`: 1,200 periods from a
point start, the last half measured; nothing from the solution). Per run (seed), means over its
members:

* ``r_percent`` (known: same-grid r), ``r_fine_percent`` (the same learned r; known: fine-grid r),
  ``r_gap_pp`` = |learned - same-grid| in percentage points; ``K``, ``saving_rate``;
* ``r_window_percent``: r over the training episodes' measured window (``outcomes.parquet``), for
  comparison: it depends on where the episodes start;
* ``r_same_grid_percent``: the same-grid r itself (its value is the known value; the figure's centre);
* ``gini`` (known: same-grid wealth Gini) and ``gini_gap``;
* ``K_drift``: the long run's drift (last quarter over third quarter; 0 once settled), and
  ``K_drift_abs``, its absolute value (the target's measure);
* ``euler_log10``: mean log10 Euler error of the learned policy from its own long-run households
  at its own long-run prices (known: the same-grid optimal policy's, the floor a grid policy can
  reach, from the same households);
* ``bellman_gain_ce_pct``: the one-step deviation gain of a household (try every share for one
  period, then follow the learned policy), as a permanent consumption equivalent in %, at the
  member's own long-run prices and weighted by its own long-run distribution (known: 0).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from pbt_econ.economies.aiyagari import certify, longrun, solution
from pbt_econ.economies.aiyagari.longrun import policy_probs_fn
from pbt_econ.economies.protocol import KnownAnswer, Metric, RunView, Target

__all__ = ["BELLMAN_CE_TOLERANCE_PCT", "GINI_TOLERANCE", "KNOWN", "K_DRIFT_TOLERANCE", "R_TOLERANCE_PP", "compare",
           "policy_probs_fn", "targets"]

R_TOLERANCE_PP = 0.25
"""Target: learned r within this many percentage points of the same-grid equilibrium r."""
GINI_TOLERANCE = 0.03
"""Target: learned wealth Gini within this of the same-grid equilibrium's."""
K_DRIFT_TOLERANCE = 0.02
"""Target: |K drift| of every member's long run at most this (the long run has settled)."""
BELLMAN_CE_TOLERANCE_PCT = 0.2
"""Target: the one-step Bellman gain at most this % of consumption (a household barely gains by deviating)."""


def _member(view: RunView, member_id: str, grid) -> dict[str, float]:
    """One member's long run and its certificates at its own prices and distribution."""
    cfg = view.economy_config
    policy = view.policy(member_id, "household")
    run = longrun.simulate(policy, cfg, households=longrun.HOUSEHOLDS, periods=longrun.PERIODS, seed=view.seed)
    chain = solution.chain_of(cfg)
    mu, shares = cfg.risk_aversion, cfg.savings_shares
    learned = policy_probs_fn(policy, cfg, run.r, run.w, run.K)
    rng = np.random.default_rng(view.seed)
    pick = rng.choice(run.assets.size, size=min(2000, run.assets.size), replace=False)
    a0, s0 = run.assets[pick], run.states[pick]
    ee = certify.euler_errors(learned, run.r, run.w, chain, cfg.beta, mu, shares, a0, s0, periods=20, seed=view.seed)
    optimal = certify.optimal_policy(grid.value, grid.r, grid.w, chain, cfg.beta, mu, shares, grid.a_grid)
    ee_opt = certify.euler_errors(optimal, grid.r, grid.w, chain, cfg.beta, mu, shares, a0, s0, periods=20,
                                  seed=view.seed)
    weights = longrun.node_weights(grid.a_grid, chain.labour.size, run.assets, run.states)
    gain = certify.bellman_gain(learned, run.r, run.w, chain, cfg.beta, mu, shares, grid.a_grid, weights)
    return {"r": run.r, "K": run.K, "gini": run.gini, "saving_rate": run.saving_rate, "K_drift": run.K_drift,
            "euler": ee["mean_log10"], "euler_opt": ee_opt["mean_log10"], "ce": gain.consumption_equivalent,
            "improvable": gain.improvable}


def compare(view: RunView) -> list[Metric]:
    cfg = view.economy_config
    grid, fine = solution.solve(cfg, "grid"), solution.solve(cfg, "fine")
    members = view.member_ids()
    if not members:
        raise ValueError("aiyagari known answer: the run has no member policy on disk; the learned r is the long "
                         "run of a member's policy (members/<id>/)")
    runs = [_member(view, m, grid) for m in members]

    def mean(key: str) -> float:
        return float(np.mean([x[key] for x in runs]))

    r, gini = mean("r"), mean("gini")
    window = np.asarray(view.outcomes["r"], dtype=float) if "r" in getattr(view.outcomes, "columns", ()) else []
    return [
        Metric("r_percent", 100 * r, 100 * grid.r),
        Metric("r_fine_percent", 100 * r, 100 * fine.r),
        Metric("r_gap_pp", 100 * abs(r - grid.r), 0.0),
        Metric("r_window_percent", 100 * float(np.nanmean(window)) if len(window) else float("nan"), 100 * grid.r),
        Metric("r_same_grid_percent", 100 * grid.r, 100 * grid.r),
        Metric("K", mean("K"), grid.K),
        Metric("saving_rate", mean("saving_rate"), grid.saving_rate),
        Metric("gini", gini, grid.gini),
        Metric("gini_gap", abs(gini - grid.gini), 0.0),
        Metric("K_drift", mean("K_drift"), 0.0),
        Metric("K_drift_abs", float(np.max([abs(x["K_drift"]) for x in runs])), 0.0),
        Metric("euler_log10", mean("euler"), mean("euler_opt")),
        Metric("bellman_gain_ce_pct", mean("ce"), 0.0),
        Metric("bellman_improvable", mean("improvable"), 0.0),
    ]


def targets(values: Mapping[str, list[float]]) -> list[Target]:
    """Every seed's value of each metric at most its bound: r gap, Gini gap, long-run |K drift|, Bellman gain."""
    rules = (  # (metric, bound, target name, what was measured)
        ("r_gap_pp", R_TOLERANCE_PP, f"r within {R_TOLERANCE_PP} pp of the same-grid equilibrium",
         "|r - r_grid| (pp) per seed"),
        ("gini_gap", GINI_TOLERANCE, f"wealth Gini within {GINI_TOLERANCE} of the same-grid equilibrium",
         "|Gini - Gini_grid| per seed"),
        ("K_drift_abs", K_DRIFT_TOLERANCE, f"|K drift| of the long run at most {K_DRIFT_TOLERANCE:g}",
         "largest |K drift| per seed"),
        ("bellman_gain_ce_pct", BELLMAN_CE_TOLERANCE_PCT,
         f"one-step Bellman gain at most {BELLMAN_CE_TOLERANCE_PCT:g}% of consumption",
         "consumption-equivalent gain (%) per seed"),
    )
    out = []
    for metric, bound, name, measured in rules:
        seen = values.get(metric, [])
        out.append(Target(name, bool(seen) and all(v <= bound for v in seen),
                          f"{measured}: " + ", ".join(f"{v:.3f}" for v in seen)))
    return out


def plot(values: Mapping[str, list[float]], ax) -> None:
    """Learned long-run r per seed (and the training window's r) against the same-grid equilibrium r
    (line), the band the target allows around it."""
    r = values.get("r_percent", [])
    known_r = values.get("r_same_grid_percent", [])
    ax.scatter(range(len(r)), r, label="learned long-run r (%)", zorder=3)
    window = values.get("r_window_percent", [])
    if window:
        ax.scatter(range(len(window)), window, marker="x", label="training window r (%)", zorder=3)
    if known_r:
        centre = float(np.median(known_r))
        ax.axhline(centre, color="k", lw=1, label=f"same-grid equilibrium r = {centre:.3f}%")
        ax.axhspan(centre - R_TOLERANCE_PP, centre + R_TOLERANCE_PP, alpha=0.2, label=f"+/- {R_TOLERANCE_PP} pp")
    ax.set_xlabel("seed")
    ax.set_ylabel("r (%)")
    ax.legend(fontsize="small")


def _figures(view: RunView):
    from pbt_econ.economies.aiyagari.figures import figures

    return figures(view)


KNOWN = KnownAnswer(compare=compare, targets=targets, plot=plot, figures=_figures)
