"""The constants of one economy: :class:`EconomyConfig` (runtime data, not code).

Every field is a YAML key under ``economy:`` and is documented in
docs/configuration.md; the model they parameterise is described in
docs/model.md. Invalid values are rejected when the config is built, with a
message naming the field and the allowed range.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pbt_econ.core.errors import ConfigError, check_number

__all__ = ["EconomyConfig"]


@dataclass(frozen=True)
class EconomyConfig:
    """Constants of one economy (docs/model.md §8). Validated when built.

    Every field name is also the YAML key under ``economy:``.
    """

    kind: str = "rbc"
    """Which economy (:mod:`pbt_econ.economies.registry`); this class is the ``rbc`` kind's config."""
    num_consumers: int = 100
    """``C``: number of consumers (households)."""
    num_firms: int = 10
    """``F``: number of firms, each producing one good."""
    episode_length: int = 10
    """``T``: steps per episode."""
    open_economy: bool = True
    """Whether the export market of docs/model.md §3, step 6 exists."""
    importer_price: float = 500.0
    """Lowest price (money per unit) at which the outside importer buys."""
    importer_quantity: float = 100.0
    """Most units the importer buys from each firm per step."""
    interest_rate: float = 0.0
    """Per-step growth of positive budgets, in [0, 1]."""
    crra_eta: float = 0.1
    """CRRA curvature ``eta`` of consumption utility; must not be 1."""
    technology: float = 0.01
    """Total factor productivity ``A`` of the Cobb-Douglas production."""
    labor_floor: float = 0.0
    """Hours below which a firm produces nothing."""
    consumer_budget_epsilon: float = 0.01
    """Money transferred to each consumer every step (docs/model.md §3, step 5)."""
    government_firm_weight: float = 0.0
    """Weight of firm rewards in the government's social welfare."""
    theta_base: float = 0.01
    """Scale of the consumers' disutility of work."""
    theta_pareto_shape: float = 4.0
    """Pareto shape ``b`` of the theta profile across consumers."""
    initial_price: float = 1000.0
    initial_wage: float = 0.0
    initial_stock: float = 0.0
    initial_consumer_budget: float = 2000.0
    initial_firm_budget: float | None = None
    """``None`` means ``22000 * num_consumers``."""
    initial_capital: float | tuple[float, ...] | None = None
    """``None`` means 5000 for the first ``F // 2`` firms and 10000 for the rest;
    a number gives every firm that capital; a list gives one value per firm."""
    production_alpha: tuple[float, ...] = field(default=(0.2, 0.3, 0.4, 0.6, 0.8))
    """Labour share of each firm, cycled over the firms; each in (0, 1)."""

    def __post_init__(self) -> None:
        p = ""
        check_number(p + "num_consumers", self.num_consumers, low=1, integer=True)
        check_number(p + "num_firms", self.num_firms, low=1, integer=True)
        check_number(p + "episode_length", self.episode_length, low=1, integer=True)
        if not isinstance(self.open_economy, bool):
            raise ConfigError(f"{p}open_economy = {self.open_economy!r}: must be true or false")
        check_number(p + "importer_price", self.importer_price, low=0)
        check_number(p + "importer_quantity", self.importer_quantity, low=0)
        check_number(p + "interest_rate", self.interest_rate, low=0, high=1)
        check_number(p + "crra_eta", self.crra_eta, low=0)
        if self.crra_eta == 1:
            raise ConfigError(
                f"{p}crra_eta = 1: must be >= 0 and != 1 (eta = 1 is log utility, "
                "which the CRRA formula ((x+1)^(1-eta)-1)/(1-eta) does not cover)"
            )
        check_number(p + "technology", self.technology, low=0, low_open=True)
        check_number(p + "labor_floor", self.labor_floor, low=0)
        check_number(p + "consumer_budget_epsilon", self.consumer_budget_epsilon, low=0)
        check_number(p + "government_firm_weight", self.government_firm_weight, low=0)
        check_number(p + "theta_base", self.theta_base, low=0)
        check_number(p + "theta_pareto_shape", self.theta_pareto_shape, low=0, low_open=True)
        check_number(p + "initial_price", self.initial_price, low=0)
        check_number(p + "initial_wage", self.initial_wage, low=0)
        check_number(p + "initial_stock", self.initial_stock, low=0)
        check_number(p + "initial_consumer_budget", self.initial_consumer_budget, low=0)
        if self.initial_firm_budget is not None:
            check_number(p + "initial_firm_budget", self.initial_firm_budget, low=0)
        capital = self.initial_capital
        if isinstance(capital, list):
            object.__setattr__(self, "initial_capital", tuple(capital))
            capital = self.initial_capital
        if isinstance(capital, tuple):
            if len(capital) != self.num_firms:
                raise ConfigError(
                    f"{p}initial_capital has {len(capital)} values: must be one number "
                    f"or a list of num_firms = {self.num_firms} numbers"
                )
            for i, value in enumerate(capital):
                check_number(f"{p}initial_capital[{i}]", value, low=0)
        elif capital is not None:
            check_number(p + "initial_capital", capital, low=0)
        alpha = self.production_alpha
        if isinstance(alpha, list):
            object.__setattr__(self, "production_alpha", tuple(alpha))
            alpha = self.production_alpha
        if not isinstance(alpha, tuple) or len(alpha) == 0:
            raise ConfigError(f"{p}production_alpha = {alpha!r}: must be a non-empty list")
        for i, value in enumerate(alpha):
            check_number(f"{p}production_alpha[{i}]", value, low=0, high=1, low_open=True, high_open=True)

    @property
    def firm_budget_at_reset(self) -> float:
        """Each firm's budget at reset (money)."""
        if self.initial_firm_budget is None:
            return 22000.0 * self.num_consumers
        return float(self.initial_firm_budget)

    def capital_at_reset(self) -> list[float]:
        """Each firm's capital at reset, ``F`` values."""
        capital = self.initial_capital
        if capital is None:
            half = self.num_firms // 2
            return [5000.0 if f < half else 10000.0 for f in range(self.num_firms)]
        if isinstance(capital, tuple):
            return [float(c) for c in capital]
        return [float(capital)] * self.num_firms

    def alpha_per_firm(self) -> list[float]:
        """Labour share of each firm: ``production_alpha`` cycled over ``F`` firms."""
        alpha = self.production_alpha
        return [float(alpha[f % len(alpha)]) for f in range(self.num_firms)]

    def theta_profile(self) -> list[float]:
        """Disutility of work per consumer before annealing (docs/model.md §4).

        .. math:: \\theta_c = \\theta_{base} (1 - c / C)^{1/b}, \\quad c = 0 \\dots C-1
        """
        C, b = self.num_consumers, self.theta_pareto_shape
        return [self.theta_base * (1.0 - c / C) ** (1.0 / b) for c in range(C)]
