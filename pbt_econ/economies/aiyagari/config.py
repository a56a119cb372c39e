"""The Aiyagari economy's config: calibration, action grid, horizon and initial distribution (model.py)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from pbt_econ.core.errors import ConfigError, check_number

__all__ = ["AiyagariConfig", "DEFAULT_SHARES"]

DEFAULT_SHARES: tuple[float, ...] = (0.0,) + tuple(
    float(x) for x in np.round(1.0 - np.geomspace(0.9, 0.02, 39), 4))
"""0 and 39 shares :math:`1 - c` with consumption shares :math:`c` geometric from 0.9 to 0.02 (0.1 ... 0.98):
fine where the stationary policy lives (0.85-0.97); the same-grid equilibrium r is within 0.001 pp of the
continuous one on the default calibration."""


@dataclass(frozen=True)
class AiyagariConfig:
    """Constants of the Aiyagari economy (YAML section ``economy:`` with ``kind: aiyagari``)."""

    kind: str = "aiyagari"
    num_households: int = 100
    """``N``: households per economy copy (they interact through prices)."""
    alpha: float = 0.36
    """Capital share of :math:`Y = K^\\alpha L^{1-\\alpha}`."""
    beta: float = 0.96
    """Discount factor (also the household type's default ``training.household.gamma``)."""
    delta: float = 0.08
    """Depreciation rate."""
    risk_aversion: float = 3.0
    """:math:`\\mu` of CRRA utility :math:`c^{1-\\mu}/(1-\\mu)` (log at 1)."""
    rho: float = 0.9
    """Persistence of log labour."""
    sigma: float = 0.4
    """*Unconditional* standard deviation of log labour (Aiyagari's Table II)."""
    n_states: int = 7
    """Labour states of the chain."""
    discretisation: str = "tauchen"
    """``tauchen`` (Aiyagari's, m = 3) or ``rouwenhorst``."""
    savings_shares: tuple[float, ...] = field(default=DEFAULT_SHARES)
    """The action grid: savings shares of cash on hand, strictly increasing, each in [0, 1)."""
    horizon: int = 160
    """``T``: periods per episode."""
    tail: int = 60
    """Last periods left out of the descriptors (the truncation distorts them)."""
    burn_in: int = 0
    """First periods left out of the descriptors."""
    initial: str = "point"
    """``point`` (default: everyone at :attr:`start_assets`, labour states from the chain's stationary
    distribution; nothing from the solution), ``spread`` (each copy at its own multiple of
    :attr:`start_assets`, ``initial_spread``) or ``stationary`` (the same-grid solution's distribution: a
    debugging aid, since the measured window then starts at the answer)."""
    initial_assets: float | None = None
    """Assets of every household at reset when ``initial = point``; ``None`` (default): the complete-markets
    capital :math:`(\\alpha / (1/\\beta - 1 + \\delta))^{1/(1-\\alpha)}`, from the primitives alone."""
    initial_spread: float = 2.0
    """``initial = spread``: each copy starts at ``start_assets`` times a factor log-uniform in
    ``[1 / initial_spread, initial_spread]``."""
    asset_scale: float = 10.0
    """Assets and capital are observed divided by this."""
    capital_floor: float = 1e-3
    """Smallest capital that enters factor prices."""
    seed: int = 0
    """Seed of the economy's own generator (used when ``reset`` gets none)."""

    def __post_init__(self) -> None:
        if self.kind != "aiyagari":
            raise ConfigError(f"kind = {self.kind!r}: this config is the 'aiyagari' economy's")
        check_number("num_households", self.num_households, low=1, integer=True)
        check_number("alpha", self.alpha, low=0, high=1, low_open=True, high_open=True)
        check_number("beta", self.beta, low=0, high=1, low_open=True, high_open=True)
        check_number("delta", self.delta, low=0, high=1)
        check_number("risk_aversion", self.risk_aversion, low=0, low_open=True)
        check_number("rho", self.rho, low=0, high=1, high_open=True)
        check_number("sigma", self.sigma, low=0)
        check_number("n_states", self.n_states, low=1, high=101, integer=True)
        if self.discretisation not in ("tauchen", "rouwenhorst"):
            raise ConfigError(f"discretisation = {self.discretisation!r}: must be 'tauchen' or 'rouwenhorst'")
        check_number("horizon", self.horizon, low=1, integer=True)
        check_number("tail", self.tail, low=0, integer=True)
        check_number("burn_in", self.burn_in, low=0, integer=True)
        if self.burn_in + self.tail >= self.horizon:
            raise ConfigError(f"burn_in + tail = {self.burn_in + self.tail}: must be below horizon = {self.horizon} "
                              "(the descriptors need at least one measured period)")
        if self.initial not in ("stationary", "point", "spread"):
            raise ConfigError(f"initial = {self.initial!r}: must be 'point', 'spread' or 'stationary'")
        check_number("initial_spread", self.initial_spread, low=1)
        if self.initial_assets is not None:
            check_number("initial_assets", self.initial_assets, low=0)
        check_number("asset_scale", self.asset_scale, low=0, low_open=True)
        check_number("capital_floor", self.capital_floor, low=0, low_open=True)
        check_number("seed", self.seed, low=0, integer=True)
        grid = self.savings_shares
        if isinstance(grid, list):
            grid = tuple(grid)
            object.__setattr__(self, "savings_shares", grid)
        if not isinstance(grid, tuple) or len(grid) < 2:
            raise ConfigError(f"savings_shares = {grid!r}: must be a list of at least two numbers")
        for i, s in enumerate(grid):
            check_number(f"savings_shares[{i}]", s, low=0, high=1, high_open=True)
        if any(h <= g for g, h in zip(grid, grid[1:])):
            raise ConfigError(f"savings_shares = {list(grid)}: values must be strictly increasing")

    @property
    def episode_length(self) -> int:
        return self.horizon

    @property
    def start_assets(self) -> float:
        """Every household's assets at a point start: ``initial_assets``, else the complete-markets capital per
        unit of labour (the capital at :math:`r = 1/\\beta - 1`; precautionary saving takes the economy above it)."""
        if self.initial_assets is not None:
            return float(self.initial_assets)
        return float((self.alpha / (1.0 / self.beta - 1.0 + self.delta)) ** (1.0 / (1.0 - self.alpha)))
