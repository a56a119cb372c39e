"""The long run of a learned savings policy, from a start that uses nothing of the solution.

A training episode is ``horizon`` periods (160 by default) and the descriptors of a run are read over a
window of it, so they describe where the episode's start put the economy, not where the policy takes it.
Validation reads the policy's own long run instead: :func:`simulate` puts ``households`` households at one
asset level (``config.start_assets``, labour states from the chain's stationary distribution: nothing from the
equilibrium), lets the policy choose every period at the prices their own capital makes (general
equilibrium, as in training: :math:`r = \\alpha (K/L)^{\\alpha - 1} - \\delta`,
:math:`w = (1 - \\alpha)(K/L)^\\alpha`), for ``periods`` periods (1,200 by default), and reads the last
half:

* ``r``, ``w``, ``K``, ``saving_rate`` (:math:`1 - C/Y`): means over the last half;
* ``gini``: mean wealth Gini over the last half (every 10th period);
* ``K_drift``: mean K over the last quarter over the mean over the third quarter, minus 1 (0 once the
  economy has settled; a target, since a window that still drifts is no stationary equilibrium);
* ``assets``, ``states``: the households of the last period, a sample of the policy's own stationary
  distribution (:func:`node_weights` puts it on an asset grid for the Bellman certificate).

The policy observes the period as the first of an episode (the whole horizon ahead), the closest a
finite-horizon learner comes to the infinite-horizon household. Randomness (actions sampled from the
policy's probabilities, labour transitions) comes from one ``torch.Generator`` seeded with ``seed``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from pbt_econ.economies.aiyagari import markov
from pbt_econ.economies.aiyagari.config import AiyagariConfig
from pbt_econ.economies.aiyagari.model import observation
from pbt_econ.economies.aiyagari.solution import _interp_weights, gini

__all__ = ["HOUSEHOLDS", "LongRun", "PERIODS", "node_weights", "policy_probs_fn", "simulate"]

PERIODS = 1200
"""Periods of the long run (the last half is measured)."""
HOUSEHOLDS = 2000
"""Households simulated (the standard error of K is about 1% at the default calibration)."""


@dataclass(frozen=True)
class LongRun:
    """A policy's long run (module docstring); paths are per period, ``[periods]``."""

    r_path: np.ndarray
    K_path: np.ndarray
    r: float
    w: float
    K: float
    K_drift: float
    gini: float
    saving_rate: float
    assets: np.ndarray
    """``[households]`` assets in the last period."""
    states: np.ndarray
    """``[households]`` labour states in the last period."""

    @property
    def periods(self) -> int:
        return int(self.r_path.size)


def _probs(policy, obs: torch.Tensor) -> torch.Tensor:
    """``[N, K]`` float64 probabilities of the first copy's households, first head (a float32 or float64 policy)."""
    with torch.no_grad():
        try:
            out = policy(obs)
        except RuntimeError:  # a float64 policy
            out = policy(obs.double())
    return out[0, :, 0, :].double()


def simulate(policy, config: AiyagariConfig, households: int = HOUSEHOLDS, periods: int = PERIODS,
             seed: int = 0, initial_assets: float | None = None,
             prices: tuple[float, float, float] | None = None) -> LongRun:
    """The long run of ``policy`` (observations ``[1, N, D]`` -> probabilities ``[1, N, 1, K]`` over
    ``config.savings_shares``) in the economy of ``config`` (module docstring). ``initial_assets``: every
    household's assets at the start (default ``config.start_assets``). ``prices``: ``(r, w, K)`` held fixed
    every period (partial equilibrium: the households' capital *supply* at ``r``, whose mean is ``K`` of the
    result; the policy observes the given ``K``); default: prices from the households' own capital."""
    if periods < 4:
        raise ValueError(f"periods = {periods}: the long run needs at least 4 (its last half is measured)")
    cfg = config
    chain = markov.labour_chain(cfg.n_states, cfg.rho, cfg.sigma, cfg.discretisation)
    gen = torch.Generator().manual_seed(int(seed))
    f64 = torch.float64
    shares = torch.tensor(cfg.savings_shares, dtype=f64)
    labour = torch.tensor(chain.labour, dtype=f64)
    cum_P = torch.tensor(np.cumsum(chain.P, axis=1), dtype=f64)
    cum_P[:, -1] = 2.0  # a uniform never passes the last state
    states = torch.multinomial(torch.tensor(chain.pi, dtype=f64), households, replacement=True, generator=gen)
    start = cfg.start_assets if initial_assets is None else initial_assets
    assets = torch.full((households,), float(start), dtype=f64)
    zero = torch.zeros(1, dtype=torch.float32)
    r_path, K_path, w_path, saving, ginis = (np.empty(periods) for _ in range(5))
    half = periods // 2
    for t in range(periods):
        K, L = assets.mean(), labour[states].mean()
        if prices is None:
            ratio = K.clamp(min=cfg.capital_floor) / L
            r = cfg.alpha * ratio ** (cfg.alpha - 1.0) - cfg.delta
            w = (1.0 - cfg.alpha) * ratio ** cfg.alpha
            K_seen = K
        else:
            r, w, K_seen = (torch.tensor(float(x), dtype=f64) for x in prices)
            ratio = K_seen / L
        output = ratio ** cfg.alpha * L
        obs = observation(cfg, assets[None].float(), states[None], r[None].float(), w[None].float(),
                          K_seen[None].float(), zero)
        choice = torch.multinomial(_probs(policy, obs), 1, generator=gen)[:, 0]
        cash = (1.0 + r) * assets + w * labour[states]
        g = shares[choice]
        consumption = (1.0 - g) * cash
        r_path[t], K_path[t], w_path[t] = float(r), float(K), float(w)
        saving[t] = 1.0 - float(consumption.mean() / output)
        ginis[t] = gini(assets.numpy()) if t >= half and (t - half) % 10 == 0 else np.nan
        assets = g * cash
        u = torch.rand(households, generator=gen, dtype=f64)
        states = (u[:, None] > cum_P[states]).sum(-1)
    quarter = periods // 4
    third, last = K_path[half:periods - quarter].mean(), K_path[periods - quarter:].mean()
    return LongRun(r_path=r_path, K_path=K_path, r=float(r_path[half:].mean()), w=float(w_path[half:].mean()),
                   K=float(K_path[half:].mean()), K_drift=float(last / third - 1.0) if third > 0 else float("nan"),
                   gini=float(np.nanmean(ginis[half:])), saving_rate=float(saving[half:].mean()),
                   assets=assets.numpy().copy(), states=states.numpy().copy())


def node_weights(a_grid: np.ndarray, n_states: int, assets: np.ndarray, states: np.ndarray) -> np.ndarray:
    """``[Na, S]`` weights of households ``(assets, states)`` on ``a_grid`` x labour states (each household
    split linearly between its two nearest nodes; assets beyond the grid go to its last node); sum 1."""
    a = np.clip(np.asarray(assets, dtype=float), a_grid[0], a_grid[-1])
    s = np.asarray(states, dtype=int)
    j, wt = _interp_weights(a_grid, a, extrapolate=False)
    out = np.zeros((a_grid.size, n_states))
    np.add.at(out, (j, s), 1.0 - wt)
    np.add.at(out, (j + 1, s), wt)
    return out / out.sum()


def policy_probs_fn(policy, config, r: float, w: float, K: float, time: float = 0.0):
    """Wrap a learned ``policy`` (obs ``[B, n, D]`` -> probs ``[B, n, H, K]``) as ``probs_fn(a, s) -> [M, K]``
    at fixed prices ``(r, w, K)`` and period ``time`` (0: the longest horizon) of the economy ``config``."""

    def probs_fn(a: np.ndarray, s: np.ndarray) -> np.ndarray:
        a_t = torch.as_tensor(np.asarray(a, dtype=float), dtype=torch.float32)[None]
        s_t = torch.as_tensor(np.asarray(s, dtype=np.int64))[None]
        one = torch.ones(1, dtype=torch.float32)
        obs = observation(config, a_t, s_t, one * r, one * w, one * K, one * time)
        return _probs(policy, obs).cpu().numpy()

    return probs_fn


def _member_column(outcomes, name: str) -> np.ndarray:
    return np.asarray(outcomes[name], dtype=float)
