"""The Aiyagari economy's known answer (``EconomyEntry.known_answer``): learned outcome vs stationary equilibria.

:func:`compare` recomputes both equilibria from the run's own ``economy_config``
(:func:`.solution.solve`: the learners' share grid and Aiyagari's continuous choice) and
reports, per run (seed):

* ``r_percent`` (known: same-grid r), ``r_fine_percent`` (the same learned r; known: fine-grid r),
  ``r_gap_pp`` = |learned - same-grid| in percentage points; ``K``, ``saving_rate``;
* ``gini`` (known: same-grid wealth Gini) and ``gini_gap``;
* ``K_drift``: relative change of K over the measured window (0 if the learned
  policy keeps the stationary distribution where it started);
* ``euler_log10``: mean log10 Euler error of the learned policy along a simulated
  path at the run's prices (known: the same-grid optimal policy's, the floor a grid
  policy can reach);
* ``bellman_gain_ce_pct``: the one-step deviation gain of a household (try every
  share for one period, then follow the learned policy), as a permanent consumption
  equivalent in %, weighted by the same-grid stationary distribution (known: 0).

Learned numbers are means over the run's members (``outcomes`` rows); the policy
certificates use the member with the highest welfare.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch

from pbt_econ.economies.aiyagari import certify, solution
from pbt_econ.economies.protocol import KnownAnswer, Metric, RunView, Target

__all__ = ["KNOWN", "R_TOLERANCE_PP", "GINI_TOLERANCE", "compare", "policy_probs_fn", "targets"]

R_TOLERANCE_PP = 0.25
"""Target: learned r within this many percentage points of the same-grid equilibrium r."""
GINI_TOLERANCE = 0.03
"""Target: learned wealth Gini within this of the same-grid equilibrium's."""


def policy_probs_fn(policy, economy, r: float, w: float, K: float, time: float = 0.0):
    """Wrap a learned ``policy`` (obs ``[B, n, D]`` -> probs ``[B, n, H, K]``) as ``probs_fn(a, s) -> [M, K]``
    at fixed prices ``(r, w, K)`` and period ``time`` (0: the longest horizon)."""

    def probs_fn(a: np.ndarray, s: np.ndarray) -> np.ndarray:
        a_t = torch.as_tensor(np.asarray(a, dtype=float), dtype=torch.float32)[None]
        s_t = torch.as_tensor(np.asarray(s, dtype=np.int64))[None]
        one = torch.ones(1, dtype=torch.float32)
        obs = economy.observe_parts(a_t, s_t, one * r, one * w, one * K, one * time)
        with torch.no_grad():
            try:
                probs = policy(obs)
            except RuntimeError:  # a float64 policy
                probs = policy(obs.double())
        return probs[0, :, 0, :].detach().cpu().double().numpy()

    return probs_fn


def _member_column(outcomes, name: str) -> np.ndarray:
    return np.asarray(outcomes[name], dtype=float)


def compare(view: RunView) -> list[Metric]:
    from pbt_econ.economies.aiyagari.model import AiyagariEconomy

    cfg = view.economy_config
    grid, fine = solution.solve(cfg, "grid"), solution.solve(cfg, "fine")
    out = view.outcomes
    r, K, gini = (float(np.nanmean(_member_column(out, c))) for c in ("r", "K", "gini"))
    metrics = [
        Metric("r_percent", 100 * r, 100 * grid.r),
        Metric("r_fine_percent", 100 * r, 100 * fine.r),
        Metric("r_gap_pp", 100 * abs(r - grid.r), 0.0),
        Metric("K", K, grid.K),
        Metric("saving_rate", float(np.nanmean(_member_column(out, "saving_rate"))), grid.saving_rate),
        Metric("gini", gini, grid.gini),
        Metric("gini_gap", abs(gini - grid.gini), 0.0),
        Metric("K_drift", float(np.nanmean(_member_column(out, "K_drift"))), 0.0),
    ]
    members = view.member_ids()
    if not members:
        return metrics
    best = members[0]
    if "member_id" in getattr(out, "columns", ()) and "welfare" in out.columns:
        ranked = out.sort_values("welfare", ascending=False)
        best = next((m for m in ranked["member_id"] if m in members), best)
    economy = AiyagariEconomy(cfg, 1)
    w = float(np.nanmean(_member_column(out, "w"))) if "w" in out.columns else solution.factor_prices(K, 1, cfg.alpha,
                                                                                                      cfg.delta)[1]
    learned = policy_probs_fn(view.policy(best, "household"), economy, r, w, K)
    chain = solution.chain_of(cfg)
    mu, shares = cfg.risk_aversion, cfg.savings_shares
    rng = np.random.default_rng(view.seed)
    flat = grid.dist.ravel() / grid.dist.sum()
    draw = rng.choice(flat.size, size=2000, p=flat)
    a0, s0 = grid.a_grid[draw // chain.labour.size], draw % chain.labour.size
    ee = certify.euler_errors(learned, r, w, chain, cfg.beta, mu, shares, a0, s0, periods=20, seed=view.seed)
    optimal = certify.optimal_policy(grid.value, grid.r, grid.w, chain, cfg.beta, mu, shares, grid.a_grid)
    ee_opt = certify.euler_errors(optimal, grid.r, grid.w, chain, cfg.beta, mu, shares, a0, s0, periods=20,
                                  seed=view.seed)
    gain = certify.bellman_gain(learned, r, w, chain, cfg.beta, mu, shares, grid.a_grid, grid.dist)
    metrics += [Metric("euler_log10", ee["mean_log10"], ee_opt["mean_log10"]),
                Metric("bellman_gain_ce_pct", gain.consumption_equivalent, 0.0),
                Metric("bellman_improvable", gain.improvable, 0.0)]
    return metrics


def targets(values: Mapping[str, list[float]]) -> list[Target]:
    out = []
    gaps = values.get("r_gap_pp", [])
    out.append(Target(f"r within {R_TOLERANCE_PP} pp of the same-grid equilibrium",
                      bool(gaps) and all(g <= R_TOLERANCE_PP for g in gaps),
                      "|r - r_grid| (pp) per seed: " + ", ".join(f"{g:.3f}" for g in gaps)))
    ggaps = values.get("gini_gap", [])
    out.append(Target(f"wealth Gini within {GINI_TOLERANCE} of the same-grid equilibrium",
                      bool(ggaps) and all(g <= GINI_TOLERANCE for g in ggaps),
                      "|Gini - Gini_grid| per seed: " + ", ".join(f"{g:.3f}" for g in ggaps)))
    return out


def plot(values: Mapping[str, list[float]], ax) -> None:
    """Learned r per seed against the same-grid equilibrium r (band: the target)."""
    r = values.get("r_percent", [])
    gaps = values.get("r_gap_pp", [])
    ax.scatter(range(len(r)), r, label="learned r (%)")
    if r and gaps:
        known = [x - g if x >= 0 else x + g for x, g in zip(r, gaps)]  # only for the band's centre
        centre = float(np.median(known))
        ax.axhspan(centre - R_TOLERANCE_PP, centre + R_TOLERANCE_PP, alpha=0.2, label="same-grid r +/- target")
    ax.set_xlabel("seed")
    ax.set_ylabel("r (%)")
    ax.legend()


KNOWN = KnownAnswer(compare=compare, targets=targets, plot=plot)
