"""The RBC model as an :class:`~pbt_econ.economies.Economy` plug-in (docs/model.md).

Wraps the batched model (:mod:`.model`), its action grids (:mod:`.spaces`)
and observation encoders (:mod:`.observe`) behind the protocol the generic
core speaks: three agent types (``consumer``, ``firm``, ``government``), the
14 outcome descriptors, the trivial-outcome rule, the regime rules, budgets
(which enable the no-Ponzi penalty) and money conservation as an invariant.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch

from pbt_econ.economies import protocol
from pbt_econ.economies.protocol import AgentType, DescriptorSpec, Regime
from pbt_econ.economies.rbc.config import EconomyConfig
from pbt_econ.economies.rbc.fixed import fixed_indices
from pbt_econ.economies.rbc.model import Actions, Economy, EconomyState
from pbt_econ.economies.rbc.observe import observation_sizes, observe_consumer, observe_firm, observe_government
from pbt_econ.economies.rbc.spaces import ActionSpaces, SpacesConfig, firm_parts, government_parts

__all__ = ["DESCRIPTORS", "REGIMES", "TRIVIAL_HOURS", "TRIVIAL_PRODUCTION", "RBCEconomy", "gini", "is_trivial"]

TRIVIAL_HOURS = 1.0
"""Mean hours per consumer per step below which an economy counts as trivial."""
TRIVIAL_PRODUCTION = 1e-3
"""Mean units produced per firm per step below which an economy counts as trivial."""

DESCRIPTORS = (
    DescriptorSpec("price", "money per unit", "mean price over firms"),
    DescriptorSpec("wage", "money per hour", "mean wage over firms"),
    DescriptorSpec("hours", "hours per consumer per step", "hours worked"),
    DescriptorSpec("consumption", "units per consumer per step", "goods consumed (all goods)"),
    DescriptorSpec("production", "units per firm per step", "goods produced"),
    DescriptorSpec("exports", "units per firm per step", "goods sold to the importer"),
    DescriptorSpec("stock", "units per firm", "inventory"),
    DescriptorSpec("income_tax", "rate in [0, 1]", "income tax rate"),
    DescriptorSpec("corporate_tax", "rate in [0, 1]", "corporate tax rate"),
    DescriptorSpec("welfare", "utility per episode", "government reward: social welfare"),
    DescriptorSpec("reward_consumer", "utility per episode", "mean consumer episode return"),
    DescriptorSpec("reward_firm", "money per episode", "mean firm episode return (after-tax profit)"),
    DescriptorSpec("gini", "coefficient in [0, 1]", "Gini coefficient of consumer budgets at episode end"),
    DescriptorSpec("export_share", "fraction of firms", "firms selling more to the importer than at home"),
)
"""The RBC outcome descriptors (means over economies, agents and steps of an evaluation)."""

_STEP_MEANS = ("price", "wage", "hours", "consumption", "production", "exports", "stock", "income_tax",
               "corporate_tax")


def is_trivial(d: Mapping[str, float]) -> bool:
    """No work or no production: the collapsed outcome the paper warns of."""
    return d["hours"] < TRIVIAL_HOURS or d["production"] < TRIVIAL_PRODUCTION


REGIMES = (
    Regime("trivial", f"hours < {TRIVIAL_HOURS:g} or production < {TRIVIAL_PRODUCTION:g} (no work or no production)",
           is_trivial),
    Regime("export-led", "export_share > 0.5 (most firms sell more abroad than at home)",
           lambda d: d["export_share"] > 0.5),
    Regime("low-activity", "hours < 50 per consumer per step (the closed economy's low-wage outcome)",
           lambda d: d["hours"] < 50.0),
    Regime("domestic", "otherwise: an active economy selling mostly at home", lambda d: True),
)
"""Regime rules; the first that holds names the regime."""


RELATIONS = (
    ("price", "consumption", "higher prices, lower consumption (paper r² = 0.73)"),
    ("wage", "hours", "lower wages, fewer hours (paper r² = 0.19)"),
    ("reward_consumer", "reward_firm", "consumer vs firm reward (paper r² = 0.25)"),
    ("income_tax", "welfare", "taxes barely explain welfare (paper r² = 0.06)"),
)
"""The paper's relations across outcomes: ``(x, y, caption)``; the report gives each one's r²."""


def gini(x: torch.Tensor) -> torch.Tensor:
    """Gini coefficient along the last dimension of non-negative ``x``: ``[..., n] -> [...]``."""
    x = x.clamp(min=0).sort(dim=-1).values
    n = x.shape[-1]
    ranks = torch.arange(1, n + 1, device=x.device, dtype=x.dtype)
    total = x.sum(-1)
    g = (2.0 * (ranks * x).sum(-1) / (n * total.clamp(min=1e-12))) - (n + 1.0) / n
    return torch.where(total > 0, g, torch.zeros_like(g))


class _Summary:
    """Step-by-step totals of one RBC rollout (means over batch and agents, averaged over steps)."""

    def __init__(self, episode_length: int, device: torch.device, dtype: torch.dtype) -> None:
        self.T = episode_length
        zero = torch.zeros((), device=device, dtype=dtype)
        self.zero = zero
        self.totals = {k: zero.clone() for k in _STEP_MEANS + ("export_share",)}

    def add(self, state: EconomyState, actions: Actions, info: Mapping[str, torch.Tensor]) -> None:
        totals = self.totals
        totals["price"] += state.price.mean()
        totals["wage"] += state.wage.mean()
        totals["stock"] += state.stock.mean()
        totals["income_tax"] += state.income_tax.mean()
        totals["corporate_tax"] += state.corporate_tax.mean()
        totals["hours"] += actions.hours.mean()
        consumed = info["consumed"]
        totals["consumption"] += consumed.sum(-1).mean()
        totals["production"] += info["production"].mean()
        totals["exports"] += info["exported"].mean()
        totals["export_share"] += (info["exported"] > consumed.sum(1)).to(self.zero.dtype).mean()

    def finish(self, final: EconomyState, returns: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        out = {k: self.totals[k] / self.T for k in _STEP_MEANS}
        out.update(welfare=returns["government"].mean(), reward_consumer=returns["consumer"].mean(),
                   reward_firm=returns["firm"].mean(), gini=gini(final.consumer_budget).mean(),
                   export_share=self.totals["export_share"] / self.T)
        return out


class RBCEconomy(protocol.Economy):
    """``B`` copies of the RBC economy behind the generic protocol (built by :data:`ENTRY`)."""

    kind = "rbc"
    descriptors = DESCRIPTORS
    regimes = REGIMES
    fitness_descriptor = "welfare"

    def archive_axes(self) -> tuple[str, str]:
        return "export_share", "income_tax"

    def relations(self) -> tuple[tuple[str, str, str], ...]:
        return RELATIONS

    def spectrum_axes(self) -> tuple[tuple[str, str], ...]:
        return ("price", "hours"), ("income_tax", "welfare")

    def console_columns(self) -> tuple[tuple[str, str, int, str], ...]:
        return (("welfare", "welfare", 10, ".4g"), ("hours", "hours", 8, ".0f"), ("price", "price", 8, ".0f"),
                ("wage", "wage", 7, ".1f"), ("production", "prod", 8, ".3g"), ("income_tax", "tax_i", 7, ".2f"),
                ("corporate_tax", "tax_c", 7, ".2f"))

    def report_columns(self) -> tuple[str, ...]:
        return ("welfare", "price", "wage", "hours", "consumption", "production", "exports", "income_tax",
                "corporate_tax")

    def __init__(self, config: EconomyConfig, spaces: SpacesConfig, batch_size: int,
                 device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32) -> None:
        self.config = config
        self.spaces_config = spaces
        self.model = Economy(config, batch_size, device, dtype)
        self.spaces = ActionSpaces(spaces, config, self.model.device, dtype)
        self.batch_size = batch_size
        self.episode_length = config.episode_length
        self.device, self.dtype = self.model.device, dtype
        sizes = observation_sizes(config.num_firms)
        sp = self.spaces
        self.agent_types = (
            AgentType("consumer", config.num_consumers, sizes["consumer"], sp.consumer_heads, sp.consumer_width,
                      actions=("consumption", "hours", "employer"),
                      training_defaults={"lr": 1e-3, "reward_scale": 5.0}, tolerance=0.03),
            AgentType("firm", config.num_firms, sizes["firm"], 1, sp.firm_width, actions=("price", "wage", "invest"),
                      mask_actions=("price", "wage"), training_defaults={"lr": 1e-3, "reward_scale": 30000.0},
                      tolerance=0.10),
            AgentType("government", 1, sizes["government"], 1, sp.government_width,
                      actions=("income_tax", "corporate_tax"), mask_actions=("income_tax", "corporate_tax"),
                      training_defaults={"lr": 5e-4, "reward_scale": 1000.0}, tolerance=0.01),
        )

    # ------------------------------------------------------------------ protocol
    def reset(self, theta_scale: float = 1.0, generator: torch.Generator | None = None) -> EconomyState:
        """The model's initial state (deterministic: the RBC draws no shocks, so ``generator`` is unused)."""
        return self.model.reset(theta_scale=theta_scale)

    def observe(self, state: EconomyState) -> dict[str, torch.Tensor]:
        econ = self.config
        return {"consumer": observe_consumer(state, econ), "firm": observe_firm(state, econ),
                "government": observe_government(state, econ).unsqueeze(1)}

    def mask(self, agent_type: str, progress: float, start: Mapping[str, float]) -> torch.Tensor:
        sp = self.spaces
        if agent_type == "consumer":
            return sp.consumer_valid
        if agent_type == "firm":
            return sp.firm_mask(progress, start.get("price", self.config.initial_price),
                                start.get("wage", self.spaces_config.wage[0]))
        return sp.government_mask(progress, start.get("income_tax", 0.0), start.get("corporate_tax", 0.0))

    def decode(self, indices: Mapping[str, torch.Tensor]) -> Actions:
        return self.spaces.decode(indices["consumer"], indices["firm"].squeeze(-1),
                                  indices["government"].reshape(-1))

    def step(self, state: EconomyState, actions: Actions):
        state, rewards, info = self.model.step(state, actions)
        return state, {"consumer": rewards.consumer, "firm": rewards.firm,
                       "government": rewards.government.unsqueeze(-1)}, info

    def summary(self) -> _Summary:
        return _Summary(self.episode_length, self.device, self.dtype)

    def reward_descriptor(self, agent_type: str) -> str:
        return "welfare" if agent_type == "government" else f"reward_{agent_type}"

    def trivial(self, descriptors: Mapping[str, float]) -> bool:
        return is_trivial(descriptors)

    def budgets(self, state: EconomyState) -> dict[str, torch.Tensor]:
        return {"consumer": state.consumer_budget, "firm": state.firm_budget}

    def budget_scales(self) -> Mapping[str, float]:
        return {"consumer": 1000.0, "firm": 100000.0}

    def fixed_indices(self, agent_type: str, values: Mapping[str, float]) -> tuple[int, ...]:
        return fixed_indices({agent_type: dict(values)}, self.spaces_config, self.config.num_firms)[agent_type]

    def describe_action(self, agent_type: str, index: int) -> str:
        """The decoded values of joint action ``index`` of a single-head type (firm, government)."""
        sp = self.spaces_config
        if agent_type == "firm":
            p, w, i = firm_parts(index, len(sp.wage), len(sp.invest))
            return f"price={sp.price[p]:g},wage={sp.wage[w]:g},invest={sp.invest[i]:g}"
        if agent_type == "government":
            inc, corp = government_parts(index, len(sp.tax))
            return f"income_tax={sp.tax[inc]:g},corporate_tax={sp.tax[corp]:g}"
        return f"index={index}"

    def invariants(self, state: EconomyState, actions: Actions, next_state: EconomyState,
                   info: Mapping[str, torch.Tensor]) -> list[str]:
        """Money conservation (docs/model.md §3) when ``interest_rate = 0``; stocks never negative."""
        problems = []
        if float(next_state.stock.min()) < -1e-4 * max(1.0, float(next_state.stock.abs().max())):
            problems.append("negative stock")
        if self.config.interest_rate == 0:
            def total(s: EconomyState) -> torch.Tensor:
                return s.consumer_budget.sum(-1) + s.firm_budget.sum(-1) + s.capital.sum(-1)

            exports = (info["exported"] * state.price).sum(-1)
            expected = total(state) + self.config.num_consumers * self.config.consumer_budget_epsilon + exports
            scale = total(state).abs() + exports.abs() + 1.0
            if bool(((total(next_state) - expected).abs() > 1e-4 * scale).any()):
                problems.append("money not conserved")
        return problems


def build(run_config, batch_size: int, device: torch.device, dtype: torch.dtype) -> RBCEconomy:
    """The RBC economy of ``run_config.economy`` and ``run_config.spaces`` (grids; default if absent)."""
    spaces = run_config.spaces or SpacesConfig()
    return RBCEconomy(run_config.economy, spaces, batch_size, device, dtype)
