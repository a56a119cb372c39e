"""A batched Aiyagari (1994) economy: households save a share of cash on hand (docs/ground-truth.md).

One agent type, ``household`` (``N`` per economy copy, one shared policy, one head
over the grid of savings shares :math:`g_k \\in [0, 1)`). In period :math:`t` of copy :math:`b`

.. math::  K_t = \\tfrac1N \\sum_i a_{it}, \\quad L_t = \\tfrac1N \\sum_i l_{s_{it}}, \\quad
           r_t = \\alpha K_t^{\\alpha-1} L_t^{1-\\alpha} - \\delta, \\quad w_t = (1-\\alpha)(K_t/L_t)^\\alpha,

   x_{it} = (1 + r_t) a_{it} + w_t l_{s_{it}}, \\quad a_{i,t+1} = g_{it} x_{it}, \\quad c_{it} = (1 - g_{it}) x_{it},

and the household's reward is :math:`u(c_{it})` (CRRA, :math:`\\mu` = ``risk_aversion``).
The borrowing limit is 0 (shares are nonnegative). :math:`L_t` is the copy's
realised labour (mean 1 in expectation), so that the copy's resources hold exactly:
:math:`C_t + K_{t+1} = Y_t + (1 - \\delta) K_t`. :math:`K_t` enters prices floored at
``capital_floor`` (only random actions ever get near it).

**Discounting.** Rewards are *undiscounted* utilities; the household type's training
default is ``gamma = beta`` (the framework discounts returns-to-go by ``gamma``),
so every period's decision is trained on the same (truncated) infinite-horizon
objective :math:`\\sum_{j \\ge 0} \\beta^j u(c_{t+j})`. The ``welfare`` descriptor is the
discounted :math:`\\sum_t \\beta^t u(c_t)` from period 0.

**Horizon.** An episode has ``horizon`` periods and no terminal value; households
see the periods remaining. The truncation distorts decisions near the end (the
last period eats everything), so descriptors are measured only over the window
``burn_in <= t < horizon - tail``: a decision at distance ``h >= tail`` from the end
weighs the world after the episode by at most :math:`\\beta^h` (``tail = 60``:
:math:`0.96^{60} = 0.086`); docs/ground-truth.md measures how far the
finite-horizon optimal policy differs from the stationary one at that distance.

**Initial distribution.** ``initial = "point"`` (default): assets ``start_assets``
for everyone (``initial_assets``, else the complete-markets capital), labour
states from the chain's stationary distribution: nothing from the solution. The
learned r that validation reports is the policy's own long run
(:mod:`.longrun`), not the episode's window. ``initial = "spread"``: the same, but each
copy's households start at ``start_assets`` times its own factor, log-uniform in
``[1 / initial_spread, initial_spread]`` (drawn from the generator), so that the copies of one
update see different capital and prices and the policy can learn how saving responds to r.
``initial = "stationary"``: every
household's (assets, labour state) is drawn from the same-grid solution's
stationary distribution (:func:`.solution.solve`), so the window starts at the
answer (for debugging); the descriptor ``K_drift`` (relative change of :math:`K`
over the window) shows whether the learned policy keeps it there.

Randomness: :meth:`AiyagariEconomy.reset` draws the initial distribution and the
uniforms of every transition of the episode (``[B, T, N]``, float32) from the
``generator`` passed in (or the economy's own, seeded by ``seed``), in float64
on the generator's device; :meth:`AiyagariEconomy.step` is a pure function of its inputs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import torch

from pbt_econ.core.errors import ConfigError, check_number
from pbt_econ.economies.aiyagari import markov, solution
from pbt_econ.economies.aiyagari.config import DEFAULT_SHARES, AiyagariConfig
from pbt_econ.economies.protocol import AgentType, DescriptorSpec, Economy, Regime
from pbt_econ.economies.single import SingleType

__all__ = ["AiyagariActions", "AiyagariConfig", "AiyagariEconomy", "AiyagariState", "DEFAULT_SHARES", "build", "observation"]

@dataclass(frozen=True)
class AiyagariState:
    """The state of ``B`` economy copies with ``N`` households each."""

    time: torch.Tensor
    """``[B]`` period ``t``, 0 at reset."""
    assets: torch.Tensor
    """``[B, N]`` assets :math:`a_{it} \\ge 0`."""
    labour_state: torch.Tensor
    """``[B, N]`` int64 index of the labour state :math:`s_{it}`."""
    uniforms: torch.Tensor
    """``[B, T, N]`` float32 uniforms of the episode's transitions (entry ``t`` moves period ``t`` to ``t + 1``)."""


@dataclass(frozen=True)
class AiyagariActions:
    """Decoded actions of one period."""

    share: torch.Tensor
    """``[B, N]`` savings share of cash on hand."""


def observation(cfg: AiyagariConfig, assets, labour_state, r, w, K, time) -> torch.Tensor:
    """``[..., N, D]`` household observations (:meth:`AiyagariEconomy.observe`) from per-household ``assets``
    and ``labour_state`` ``[..., N]`` and per-copy prices and period ``[...]``."""
    scale = cfg.asset_scale
    onehot = torch.nn.functional.one_hot(labour_state, cfg.n_states).to(assets.dtype)
    per_copy = torch.stack([25.0 * r, w, K / scale, (cfg.horizon - time) / cfg.horizon], dim=-1)
    per_copy = per_copy.unsqueeze(-2).expand(*assets.shape, 4)
    return torch.cat([(assets / scale).unsqueeze(-1), torch.log1p(assets).unsqueeze(-1), onehot, per_copy], -1)


def _gini_rows(x: torch.Tensor) -> torch.Tensor:
    """``[B]`` Gini of each row of nonnegative ``x [B, N]`` (0 for an all-zero row)."""
    n = x.shape[-1]
    sorted_x, _ = torch.sort(x, dim=-1)
    ranks = torch.arange(1, n + 1, device=x.device, dtype=x.dtype)
    total = sorted_x.sum(-1)
    g = (2.0 * (sorted_x * ranks).sum(-1)) / (n * total.clamp(min=1e-300)) - (n + 1.0) / n
    return torch.where(total > 0, g, torch.zeros_like(g))


class _Summary:
    """Window means over copies of r, K, Gini, saving rate, consumption; discounted welfare; K drift."""

    _WINDOW = ("r", "K", "gini", "saving_rate", "consumption", "w")

    def __init__(self, econ: AiyagariEconomy) -> None:
        self.econ = econ
        kw = {"device": econ.device, "dtype": econ.dtype}
        self.totals = {k: torch.zeros((), **kw) for k in self._WINDOW}
        self.weight = torch.zeros((), **kw)
        self.welfare = torch.zeros((), **kw)
        self.k_first = torch.zeros((), **kw)
        self.k_last = torch.zeros((), **kw)
        self.steps = 0

    def add(self, state: AiyagariState, actions: AiyagariActions, info: Mapping[str, torch.Tensor]) -> None:
        cfg = self.econ.config
        t = state.time
        inside = ((t >= cfg.burn_in) & (t < cfg.horizon - cfg.tail)).to(self.weight.dtype)  # [B]
        values = {"r": info["r"], "K": info["capital"], "gini": _gini_rows(state.assets),
                  "saving_rate": 1.0 - info["consumption"].mean(-1) / info["output"],
                  "consumption": info["consumption"].mean(-1), "w": info["w"]}
        for k, v in values.items():
            self.totals[k] += (inside * v).sum()
        self.weight += inside.sum()
        self.k_first += ((t == cfg.burn_in).to(self.weight.dtype) * info["capital"]).sum()
        self.k_last += ((t == cfg.horizon - cfg.tail - 1).to(self.weight.dtype) * info["capital"]).sum()
        discount = torch.pow(torch.full_like(t, cfg.beta), t)
        self.welfare += (discount * info["utility"].mean(-1)).mean()
        self.steps += 1

    def finish(self, final: AiyagariState, returns: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Descriptor values; window means are NaN if no measured period ran."""
        weight = torch.where(self.weight > 0, self.weight, torch.full_like(self.weight, float("nan")))
        out = {k: v / weight for k, v in self.totals.items()}
        out["K_drift"] = (self.k_last - self.k_first) / torch.where(self.k_first > 0, self.k_first,
                                                                     torch.full_like(self.k_first, float("nan")))
        out["welfare"] = self.welfare * (1.0 if self.steps else float("nan"))
        out["reward_household"] = returns["household"].mean().to(self.weight.dtype)
        return out


class AiyagariEconomy(SingleType, Economy):
    """``B`` copies of the Aiyagari economy (built by :func:`build`)."""

    AGENT = "household"
    ACTION = "savings"

    kind = "aiyagari"
    fitness_descriptor = "welfare"
    anneals_disutility = False
    trivial_capital = 0.1
    """Mean assets below which the outcome counts as trivial (households hold no wealth)."""

    def __init__(self, config: AiyagariConfig, batch_size: int, device: torch.device | str = "cpu",
                 dtype: torch.dtype = torch.float32) -> None:
        check_number("batch_size", batch_size, low=1, integer=True)
        if dtype not in (torch.float32, torch.float64):
            raise ConfigError(f"dtype = {dtype}: must be torch.float32 or torch.float64")
        self.config, self.batch_size = config, batch_size
        self.device, self.dtype = torch.device(device), dtype
        self.episode_length = config.horizon
        self.chain = markov.labour_chain(config.n_states, config.rho, config.sigma, config.discretisation)
        kw = {"device": self.device, "dtype": dtype}
        self.grid = torch.tensor(config.savings_shares, **kw)
        self.labour = torch.tensor(self.chain.labour, **kw)
        self.cum_P = torch.tensor(np.cumsum(self.chain.P, axis=1), device=self.device, dtype=torch.float64)
        self.cum_P[:, -1] = 2.0  # a uniform never passes the last state
        self.generator = torch.Generator(device="cpu").manual_seed(config.seed)
        S = config.n_states
        self.obs_size = 2 + S + 4
        self.agent_types = (
            AgentType("household", config.num_households, self.obs_size, 1, len(config.savings_shares),
                      actions=("savings",), training_defaults={"reward_scale": 1.0, "gamma": float(config.beta)},
                      tolerance=0.02),
        )
        self.descriptors = (
            DescriptorSpec("r", "per period", "mean interest rate r = alpha K^(alpha-1) L^(1-alpha) - delta"),
            DescriptorSpec("K", "units per household", "mean capital = households' mean assets"),
            DescriptorSpec("gini", "fraction", "mean wealth Gini across households of a copy"),
            DescriptorSpec("saving_rate", "fraction of output", "gross saving rate 1 - C / Y"),
            DescriptorSpec("consumption", "units per household per period", "mean consumption"),
            DescriptorSpec("w", "per unit of labour", "mean wage"),
            DescriptorSpec("K_drift", "fraction", "relative change of K from the first to the last measured period"),
            DescriptorSpec("welfare", "utility per household", "mean discounted utility sum_t beta^t u(c_t)"),
            DescriptorSpec("reward_household", "utility per episode", "mean household episode return (undiscounted)"),
        )
        self._reference: solution.Stationary | None | bool = False  # False: not solved yet
        self._regimes: tuple[Regime, ...] | None = None
        if config.initial != "stationary":
            return
        reference = self.reference  # the stationary start needs the solution now
        dist = reference.dist.ravel()
        self._initial_probs = torch.tensor(dist / dist.sum(), dtype=torch.float64)
        self._initial_assets = torch.tensor(np.repeat(reference.a_grid, S), dtype=torch.float64)
        self._initial_states = torch.tensor(np.tile(np.arange(S), reference.a_grid.size), dtype=torch.int64)

    @property
    def reference(self) -> solution.Stationary | None:
        """The same-grid stationary equilibrium (the stationary start, the regimes); None if the grid has none.
        Solved on first use (seconds per process): training from a point start never needs it."""
        if self._reference is False:
            try:
                self._reference = solution.solve(self.config, "grid")
            except ValueError as exc:
                if self.config.initial == "stationary":
                    raise ConfigError(f"savings_shares: {exc}; initial = 'stationary' needs it (use initial: point)") \
                        from None
                self._reference = None
        return self._reference

    @property
    def regimes(self) -> tuple[Regime, ...]:
        """Rules, first match wins: trivial, no precautionary saving, over- and undersaving against the same-grid
        equilibrium (when it exists), near equilibrium."""
        if self._regimes is not None:
            return self._regimes
        r_cm = solution.complete_markets_r(self.config.beta)
        band = 0.0025
        regimes = (
            Regime("trivial", f"K < {self.trivial_capital:g} (households hold no wealth)", self.trivial),
            Regime("no-precaution", f"r >= {r_cm - band:.4f} (1/beta - 1 - 0.25 pp: no precautionary saving)",
                   lambda d: d["r"] >= r_cm - band),
        )
        if self.reference is not None:
            r_star = self.reference.r
            regimes += (
                Regime("oversaving", f"r < {r_star - band:.4f} (same-grid equilibrium {r_star:.4f} - 0.25 pp)",
                       lambda d: d["r"] < r_star - band),
                Regime("undersaving", f"r > {r_star + band:.4f} (same-grid equilibrium {r_star:.4f} + 0.25 pp)",
                       lambda d: d["r"] > r_star + band),
            )
        self._regimes = regimes + (Regime("near-equilibrium", "otherwise", lambda d: True),)
        return self._regimes

    # ------------------------------------------------------------------ prices
    def prices(self, assets: torch.Tensor, labour_state: torch.Tensor):
        """``(K [B], L [B], r [B], w [B], output [B])`` of each copy (``K`` floored for prices)."""
        cfg = self.config
        K = assets.mean(-1)
        L = self.labour[labour_state].mean(-1)
        Kp = K.clamp(min=cfg.capital_floor)
        ratio = Kp / L
        r = cfg.alpha * ratio.pow(cfg.alpha - 1.0) - cfg.delta
        w = (1.0 - cfg.alpha) * ratio.pow(cfg.alpha)
        return K, L, r, w, Kp.pow(cfg.alpha) * L.pow(1.0 - cfg.alpha)

    def utility(self, c: torch.Tensor) -> torch.Tensor:
        mu = self.config.risk_aversion
        return c.log() if mu == 1 else c.pow(1.0 - mu) / (1.0 - mu)

    # ------------------------------------------------------------------ protocol
    def reset(self, theta_scale: float = 1.0, generator: torch.Generator | None = None) -> AiyagariState:
        """The initial distribution and the episode's transition uniforms, all from ``generator``."""
        cfg, B, N = self.config, self.batch_size, self.config.num_households
        gen = generator if generator is not None else self.generator
        where = gen.device
        if cfg.initial == "stationary":
            draws = torch.multinomial(self._initial_probs.to(where), B * N, replacement=True, generator=gen).cpu()
            assets = self._initial_assets[draws].reshape(B, N)
            states = self._initial_states[draws].reshape(B, N)
        else:
            pi = torch.tensor(self.chain.pi, dtype=torch.float64, device=where)
            states = torch.multinomial(pi, B * N, replacement=True, generator=gen).cpu().reshape(B, N)
            assets = torch.full((B, N), cfg.start_assets, dtype=torch.float64)
            if cfg.initial == "spread":  # each copy at its own level: the copies see different prices
                log_s = math.log(cfg.initial_spread)
                u = torch.rand((B, 1), generator=gen, dtype=torch.float64, device=where).cpu()
                assets = assets * torch.exp((2.0 * u - 1.0) * log_s)
        uniforms = torch.rand((B, cfg.horizon, N), generator=gen, dtype=torch.float64, device=where)
        return AiyagariState(time=torch.zeros(B, device=self.device, dtype=self.dtype),
                             assets=assets.to(self.device, self.dtype), labour_state=states.to(self.device),
                             uniforms=uniforms.to(self.device, torch.float32))

    def observe_parts(self, assets, labour_state, r, w, K, time) -> torch.Tensor:
        """``[..., N, D]`` observations from per-household ``assets``/``labour_state`` and per-copy prices/time."""
        return observation(self.config, assets, labour_state, r, w, K, time)

    def grid_values(self):
        return self.config.savings_shares

    def observe(self, state: AiyagariState) -> dict[str, torch.Tensor]:
        """``{"household": [B, N, D]}``: ``[a / scale, ln(1 + a), one-hot labour state, 25 r, w, K / scale,
        periods remaining / T]`` (``D = n_states + 6``)."""
        K, _, r, w, _ = self.prices(state.assets, state.labour_state)
        return {"household": self.observe_parts(state.assets, state.labour_state, r, w, K, state.time)}


    def mask(self, agent_type: str, progress: float, start: Mapping[str, float]) -> torch.Tensor:
        """``[1, K]`` all True: households have no curriculum mask (``start`` must be empty)."""
        return self.full_mask(agent_type, start, self.grid.shape[0], self.device)

    def decode(self, indices: Mapping[str, torch.Tensor]) -> AiyagariActions:
        """``{"household": [B, N, 1]}`` grid indices -> savings shares ``[B, N]``."""
        return AiyagariActions(share=self.grid[indices["household"][..., 0]])

    def step(self, state: AiyagariState, actions: AiyagariActions):
        """One period: ``(next_state, {"household": u(c) [B, N]}, info)``; ``state`` is not modified.

        ``info``: per copy ``[B]`` ``capital`` (K, unfloored), ``labour``, ``r``, ``w``, ``output``; per household
        ``[B, N]`` ``cash``, ``consumption``, ``next_assets``, ``utility``.
        """
        g = actions.share.to(self.dtype)
        K, L, r, w, Y = self.prices(state.assets, state.labour_state)
        cash = (1.0 + r).unsqueeze(-1) * state.assets + w.unsqueeze(-1) * self.labour[state.labour_state]
        next_assets = g * cash
        consumption = (1.0 - g) * cash
        utility = self.utility(consumption)
        t = state.time.long().clamp(0, state.uniforms.shape[1] - 1)  # [B]
        u = state.uniforms[torch.arange(state.uniforms.shape[0], device=t.device), t].to(torch.float64)  # [B, N]
        next_s = (u.unsqueeze(-1) > self.cum_P[state.labour_state]).sum(-1)
        next_state = AiyagariState(time=state.time + 1.0, assets=next_assets, labour_state=next_s,
                                   uniforms=state.uniforms)
        info = {"capital": K, "labour": L, "r": r, "w": w, "output": Y, "cash": cash, "consumption": consumption,
                "next_assets": next_assets, "utility": utility}
        return next_state, {"household": utility}, info

    def summary(self) -> _Summary:
        return _Summary(self)

    def archive_axes(self) -> tuple[str, str]:
        return "r", "gini"

    def spectrum_axes(self) -> tuple[tuple[str, str], ...]:
        return (("K", "r"), ("gini", "welfare"))

    def reward_descriptor(self, agent_type: str) -> str:
        self._check_type(agent_type)
        return "reward_household"

    def trivial(self, descriptors: Mapping[str, float]) -> bool:
        return bool(descriptors["K"] < self.trivial_capital)

    def budgets(self, state: AiyagariState) -> None:
        return None

    def invariants(self, state: AiyagariState, actions: AiyagariActions, next_state: AiyagariState,
                   info: Mapping[str, torch.Tensor]) -> list[str]:
        """Budgets, positive consumption, the borrowing limit, aggregate resources, states in range, the clock."""
        cfg, problems = self.config, []
        cash, c, a_next = info["cash"], info["consumption"], info["next_assets"]
        tol = 1e-5 if self.dtype == torch.float32 else 1e-10
        if not torch.allclose(c + a_next, cash, rtol=tol, atol=1e-12):
            problems.append("budget: consumption + next assets != cash on hand")
        if not bool((c > 0).all()) or not bool(torch.isfinite(info["utility"]).all()):
            problems.append("consumption not positive (utility not finite)")
        if not bool((a_next >= 0).all()):
            problems.append("borrowing limit: next assets below 0")
        K, Y = info["capital"], info["output"]
        ok = K >= cfg.capital_floor
        lhs = c.mean(-1) + a_next.mean(-1)
        rhs = Y + (1.0 - cfg.delta) * K
        if not torch.allclose(lhs[ok], rhs[ok], rtol=10 * tol, atol=1e-9):
            problems.append("resources: C + K' != Y + (1 - delta) K")
        s = next_state.labour_state
        if not bool(((s >= 0) & (s < cfg.n_states)).all()):
            problems.append("labour state out of range")
        if not torch.equal(next_state.time, state.time + 1.0):
            problems.append("clock did not advance by one period")
        return problems


def build(run_config, batch_size: int, device: torch.device, dtype: torch.dtype) -> AiyagariEconomy:
    """The Aiyagari economy of ``run_config.economy`` (an :class:`AiyagariConfig`) with ``batch_size`` copies."""
    config = run_config.economy
    if not isinstance(config, AiyagariConfig):
        raise ConfigError(f"economy = {type(config).__name__}: the aiyagari economy needs an AiyagariConfig")
    return AiyagariEconomy(config, batch_size, device, dtype)
