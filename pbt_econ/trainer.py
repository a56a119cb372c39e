"""One population member: rollouts of the batched economy and PPO / PG updates.

A :class:`Member` owns an :class:`~pbt_econ.economy.Economy`, one
:class:`~pbt_econ.policies.ActorCritic` and one Adam optimiser per agent type,
the no-Ponzi multipliers, an episode counter and a ``torch.Generator``. The
population drives it through a small surface (called from a Ray actor):

* :meth:`Member.train` - train the next ``N`` episodes, return their metrics;
* :meth:`Member.get_state` / :meth:`Member.set_state` - the whole learning state
  in memory (PBT exploit copies it between members);
* :meth:`Member.set_hyperparameters` - change ``training.*`` values between
  segments (PBT explore);
* :meth:`Member.save` / :func:`load_member` - atomic checkpoints read back
  with ``torch.load(weights_only=True)``;
* :meth:`Member.evaluate` - evaluation rollouts without learning.

Training, best response and evaluation share :meth:`Member._rollout` and
:meth:`Member._update`; they differ only in the :class:`CurriculumPoint` that
says which types learn, with which masks, theta and entropy factors.

Each episode is one batch of ``B`` economies run for ``T`` steps; returns and
advantages use GAE with each type's own discount (spec section 5 - the
reference did not discount; we do), advantages are standardised per type, and
each learning type takes ``update_epochs`` x ``minibatches`` PPO steps (or one
policy-gradient step).
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from pbt_econ import policies
from pbt_econ.config import (
    AgentTrainingConfig,
    RunConfig,
    TrainingConfig,
    config_from_dict,
    config_to_dict,
    get_path,
    replace_path,
)
from pbt_econ.curriculum import AGENT_TYPES, Curriculum, CurriculumPoint
from pbt_econ.economy import Economy, EconomyState
from pbt_econ.files import atomic_write
from pbt_econ.spaces import (
    ActionSpaces,
    observation_sizes,
    observe_consumer,
    observe_firm,
    observe_government,
)

__all__ = [
    "CHECKPOINT_FORMAT",
    "CheckpointError",
    "EpisodeStats",
    "EvalResult",
    "Member",
    "MetricsRow",
    "NonFiniteError",
    "gae",
    "load_member",
    "update_policy",
]

CHECKPOINT_FORMAT = "pbt-econ-member/1"
TRIVIAL_HOURS = 1.0
"""Mean hours per consumer per step below which an economy counts as trivial."""
TRIVIAL_PRODUCTION = 1e-3
"""Mean units produced per firm per step below which an economy counts as trivial."""


class NonFiniteError(FloatingPointError):
    """A reward, state value or loss became NaN or infinite; the member's state is the last good one."""


class CheckpointError(ValueError):
    """A checkpoint file is missing, corrupted, foreign, or from another economy."""


@dataclass(frozen=True)
class EpisodeStats:
    """Economic summary of rollouts (means over batch, agents and steps).

    Rewards are mean *per-agent episode returns* (unscaled); ``reward_government``
    is social welfare per episode. Prices and wages are money per unit/hour,
    hours per consumer per step, consumption units per consumer per step,
    production/exports/stock units per firm per step, budgets money at episode end.
    """

    reward_consumer: float
    reward_firm: float
    reward_government: float
    price: float
    wage: float
    hours: float
    consumption: float
    production: float
    exports: float
    stock: float
    income_tax: float
    corporate_tax: float
    consumer_budget: float
    firm_budget: float
    gini: float
    """Gini coefficient of final consumer budgets (clamped at 0), averaged over economies."""
    export_share: float
    """Fraction of firms whose exports exceed their domestic sales."""

    @property
    def trivial(self) -> bool:
        """No work or no production: the collapsed outcome of spec section 9."""
        return self.hours < TRIVIAL_HOURS or self.production < TRIVIAL_PRODUCTION

    @staticmethod
    def mean(items: list[EpisodeStats]) -> EpisodeStats:
        fields = [f.name for f in dataclasses.fields(EpisodeStats)]
        return EpisodeStats(**{k: sum(getattr(s, k) for s in items) / len(items) for k in fields})


@dataclass(frozen=True)
class MetricsRow(EpisodeStats):
    """One row of ``metrics.parquet``: a member's means over ``log_every`` episodes."""

    member_id: str = ""
    episode: int = 0
    """Episodes completed when the row was written."""
    niche: str = ""
    curriculum: str = ""
    seed: int = 0
    theta_scale: float = 1.0
    is_trivial: bool = False
    learns_consumer: bool = False
    learns_firm: bool = False
    learns_government: bool = False
    entropy_consumer: float = math.nan
    entropy_firm: float = math.nan
    entropy_government: float = math.nan
    pg_loss_consumer: float = math.nan
    pg_loss_firm: float = math.nan
    pg_loss_government: float = math.nan
    v_loss_consumer: float = math.nan
    v_loss_firm: float = math.nan
    v_loss_government: float = math.nan
    approx_kl_consumer: float = math.nan
    approx_kl_firm: float = math.nan
    approx_kl_government: float = math.nan
    lr_consumer: float = math.nan
    lr_firm: float = math.nan
    lr_government: float = math.nan
    multiplier_consumer: float = 0.0
    multiplier_firm: float = 0.0
    episodes_per_s: float = math.nan


@dataclass(frozen=True)
class EvalResult:
    """Evaluation rollouts: per-economy episode returns and the economic summary.

    ``returns[type]`` is a list of mean per-agent episode returns, one per
    economy copy and episode (``eval_episodes * B`` samples).
    """

    returns: dict[str, list[float]]
    stats: EpisodeStats

    def mean(self, agent_type: str) -> float:
        values = self.returns[agent_type]
        return sum(values) / len(values)

    def ci95(self, agent_type: str) -> float:
        """Half-width of the normal 95% confidence interval of :meth:`mean`."""
        values = self.returns[agent_type]
        n = len(values)
        if n < 2:
            return math.nan
        m = sum(values) / n
        var = sum((v - m) ** 2 for v in values) / (n - 1)
        return 1.96 * math.sqrt(var / n)


@dataclass
class _Trajectory:
    """One agent type's rollout: ``[T, B, n]``-shaped tensors (``n`` agents; 1 for the government)."""

    obs: torch.Tensor  # [T, B, n, D]
    action: torch.Tensor  # [T, B, n, H] int64
    logp: torch.Tensor  # [T, B, n]
    value: torch.Tensor  # [T, B, n]
    reward: torch.Tensor  # [T, B, n], unscaled
    allowed: torch.Tensor  # [H, K] or [1, K] bool


def gae(rewards: torch.Tensor, values: torch.Tensor, gamma: float, lam: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Generalised advantage estimates over the first (time) dimension.

    ``rewards, values [T, ...]``; the episode ends after step ``T - 1`` (no
    bootstrap). Returns ``(advantages, returns)``, both ``[T, ...]``, with
    ``returns = advantages + values``; ``lam = 1`` gives discounted returns.

    .. math:: \\delta_t = r_t + \\gamma V_{t+1} - V_t, \\quad
              A_t = \\delta_t + \\gamma \\lambda A_{t+1}
    """
    T = rewards.shape[0]
    advantages = torch.zeros_like(rewards)
    next_value = torch.zeros_like(rewards[0])
    next_adv = torch.zeros_like(rewards[0])
    for t in range(T - 1, -1, -1):
        delta = rewards[t] + gamma * next_value - values[t]
        next_adv = delta + gamma * lam * next_adv
        advantages[t] = next_adv
        next_value = values[t]
    return advantages, advantages + values


def update_policy(
    policy: policies.ActorCritic,
    optimizer: torch.optim.Optimizer,
    traj: _Trajectory,
    cfg: TrainingConfig,
    agent: AgentTrainingConfig,
    entropy_factor: float,
    generator: torch.Generator,
) -> dict[str, float]:
    """One PPO (``cfg.algorithm == "ppo"``) or policy-gradient update from one rollout.

    Reads like CleanRL's PPO: returns and advantages (GAE over ``[T, ...]``),
    flatten, standardise advantages, epochs x minibatches of clipped
    surrogate + value loss - entropy bonus, gradient-norm clipping. Returns the
    mean ``pg_loss``, ``v_loss``, ``entropy`` and ``approx_kl``. A non-finite
    loss raises :class:`NonFiniteError` before any parameter changes.
    """
    device = traj.obs.device
    rewards = traj.reward / agent.reward_scale
    advantages, returns = gae(rewards, traj.value, agent.gamma, cfg.gae_lambda)
    obs = traj.obs.flatten(0, 2)
    actions = traj.action.flatten(0, 2)
    old_logp = traj.logp.flatten()
    advantages = advantages.flatten()
    returns = returns.flatten()
    advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
    entropy_coef = agent.entropy_coef * entropy_factor
    n = obs.shape[0]
    ppo = cfg.algorithm == "ppo"
    epochs, minibatches = (cfg.update_epochs, cfg.minibatches) if ppo else (1, 1)
    size = math.ceil(n / minibatches)
    sums = {"pg_loss": 0.0, "v_loss": 0.0, "entropy": 0.0, "approx_kl": 0.0}
    steps = 0
    for _ in range(epochs):
        order = torch.randperm(n, generator=generator, device=device) if minibatches > 1 else None
        for start in range(0, n, size):
            mb = slice(start, start + size) if order is None else order[start:start + size]
            logits, value = policy(obs[mb])
            logits = policies.masked_logits(logits, traj.allowed)
            new_logp, entropy = policies.log_prob_and_entropy(logits, actions[mb])
            entropy = entropy.mean()
            adv = advantages[mb]
            logratio = new_logp - old_logp[mb]
            ratio = logratio.exp()
            if ppo:
                pg_loss = torch.max(-adv * ratio, -adv * ratio.clamp(1 - cfg.ppo_clip, 1 + cfg.ppo_clip)).mean()
            else:
                pg_loss = -(adv * new_logp).mean()
            v_loss = 0.5 * (value - returns[mb]).pow(2).mean()
            loss = pg_loss - entropy_coef * entropy + cfg.value_coef * v_loss
            if not bool(torch.isfinite(loss)):
                raise NonFiniteError("non-finite loss; the update was not applied")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(policy.parameters(), cfg.max_grad_norm)
            optimizer.step()
            with torch.no_grad():
                approx_kl = ((ratio - 1) - logratio).mean()
            for k, v in (("pg_loss", pg_loss), ("v_loss", v_loss), ("entropy", entropy), ("approx_kl", approx_kl)):
                sums[k] += float(v.detach())
            steps += 1
    return {k: v / steps for k, v in sums.items()}


def _gini(x: torch.Tensor) -> torch.Tensor:
    """Gini coefficient along the last dimension of non-negative ``x``: ``[..., n] -> [...]``."""
    x = x.clamp(min=0).sort(dim=-1).values
    n = x.shape[-1]
    ranks = torch.arange(1, n + 1, device=x.device, dtype=x.dtype)
    total = x.sum(-1)
    g = (2.0 * (ranks * x).sum(-1) / (n * total.clamp(min=1e-12))) - (n + 1.0) / n
    return torch.where(total > 0, g, torch.zeros_like(g))


def evaluation_point(episode: int) -> CurriculumPoint:
    """Full action grids, full theta, nobody learns: how outcomes are measured."""
    return CurriculumPoint(
        episode=episode,
        theta_scale=1.0,
        learns={t: False for t in AGENT_TYPES},
        mask_progress={t: 1.0 for t in AGENT_TYPES},
        entropy_factor={t: 1.0 for t in AGENT_TYPES},
    )


class Member:
    """One learning run of the economy (a population member).

    ``config`` gives economy, grids and training settings; ``curriculum``
    (default: ``config.curriculum``) the schedule; ``seed`` (default
    ``config.seed``) initial weights and all sampling.
    """

    def __init__(
        self,
        config: RunConfig,
        curriculum: Curriculum | None = None,
        seed: int | None = None,
        member_id: str = "member",
    ) -> None:
        self.config = config
        self.curriculum = curriculum if curriculum is not None else config.curriculum
        self.seed = config.seed if seed is None else seed
        self.member_id = member_id
        self.training: TrainingConfig = config.training
        self.device = torch.device(config.device)
        if self.device.type == "cuda" and not torch.cuda.is_available():
            raise RuntimeError("device = 'cuda' but torch.cuda.is_available() is False; set device: cpu")
        self.dtype = config.torch_dtype
        econ = config.economy
        self.economy = Economy(econ, self.training.batch_size, self.device, self.dtype)
        self.spaces = ActionSpaces(config.spaces, econ, self.device, self.dtype)
        sizes = observation_sizes(econ.num_firms)
        layout = {
            "consumer": (self.spaces.consumer_heads, self.spaces.consumer_width),
            "firm": (1, self.spaces.firm_width),
            "government": (1, self.spaces.government_width),
        }
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            self.policies = {
                t: policies.ActorCritic(sizes[t], *layout[t], self.training.hidden_size).to(self.device, self.dtype)
                for t in AGENT_TYPES
            }
        self.optimizers = {
            t: torch.optim.Adam(self.policies[t].parameters(), lr=self.training.agent(t).lr, eps=1e-5)
            for t in AGENT_TYPES
        }
        np_cfg = self.training.no_ponzi
        self.multipliers = {"consumer": np_cfg.initial_multiplier, "firm": np_cfg.initial_multiplier}
        self.episode = 0
        self.generator = torch.Generator(device=self.device)
        self.generator.manual_seed(self.seed)
        self.initial_rewards: dict[str, float] | None = None

    # ---------------------------------------------------------- hyperparameters
    def hyperparameters(self, paths: list[str] | tuple[str, ...]) -> dict[str, float]:
        """Current values of ``training.*`` paths."""
        return {p: float(get_path(self.training, p.removeprefix("training."))) for p in paths}

    def set_hyperparameters(self, values: dict[str, float]) -> None:
        """Set ``training.*`` values (PBT explore); takes effect from the next episode."""
        training = self.training
        for path, value in values.items():
            if not path.startswith("training."):
                raise ValueError(f"{path}: only training.* hyperparameters can change during training")
            current = get_path(training, path.removeprefix("training."))
            value = int(round(value)) if isinstance(current, int) and not isinstance(current, bool) else float(value)
            training = replace_path(training, path.removeprefix("training."), value)
        self.training = training
        for t in AGENT_TYPES:
            for group in self.optimizers[t].param_groups:
                group["lr"] = training.agent(t).lr

    # ------------------------------------------------------------------ rollout
    def _masks(self, point: CurriculumPoint) -> dict[str, torch.Tensor]:
        cur = self.curriculum
        cfg = self.config.economy
        firm_start = cur.firm.mask.start if cur.firm.mask is not None else {}
        gov_start = cur.government.mask.start if cur.government.mask is not None else {}
        return {
            "consumer": self.spaces.consumer_valid,
            "firm": self.spaces.firm_mask(
                point.mask_progress["firm"],
                firm_start.get("price", cfg.initial_price),
                firm_start.get("wage", self.config.spaces.wage[0]),
            ),
            "government": self.spaces.government_mask(
                point.mask_progress["government"],
                gov_start.get("income_tax", 0.0),
                gov_start.get("corporate_tax", 0.0),
            ),
        }

    def _observe(self, state: EconomyState) -> dict[str, torch.Tensor]:
        econ = self.config.economy
        return {
            "consumer": observe_consumer(state, econ),
            "firm": observe_firm(state, econ),
            "government": observe_government(state, econ).unsqueeze(1),
        }

    @torch.no_grad()
    def _rollout(
        self, point: CurriculumPoint, generator: torch.Generator
    ) -> tuple[dict[str, _Trajectory], EpisodeStats, EconomyState]:
        """Run one episode of ``B`` economies under ``point``; nothing learns here."""
        econ_cfg = self.config.economy
        T = econ_cfg.episode_length
        masks = self._masks(point)
        state = self.economy.reset(theta_scale=point.theta_scale)
        store: dict[str, dict[str, list[torch.Tensor]]] = {
            t: {"obs": [], "action": [], "logp": [], "value": [], "reward": []} for t in AGENT_TYPES
        }
        totals = {k: torch.zeros((), device=self.device, dtype=self.dtype) for k in
                  ("price", "wage", "hours", "consumption", "production", "exports", "stock",
                   "income_tax", "corporate_tax", "sold", "export_share")}
        for _ in range(T):
            obs = self._observe(state)
            actions_idx = {}
            for t in AGENT_TYPES:
                logits, value = self.policies[t](obs[t])
                logits = policies.masked_logits(logits, masks[t])
                idx, logp = policies.sample_with_log_prob(logits, generator)
                actions_idx[t] = idx
                s = store[t]
                s["obs"].append(obs[t])
                s["action"].append(idx)
                s["logp"].append(logp)
                s["value"].append(value)
            actions = self.spaces.decode(
                actions_idx["consumer"], actions_idx["firm"].squeeze(-1), actions_idx["government"].reshape(-1)
            )
            totals["price"] += state.price.mean()
            totals["wage"] += state.wage.mean()
            totals["stock"] += state.stock.mean()
            totals["income_tax"] += state.income_tax.mean()
            totals["corporate_tax"] += state.corporate_tax.mean()
            state, rewards, info = self.economy.step(state, actions)
            store["consumer"]["reward"].append(rewards.consumer)
            store["firm"]["reward"].append(rewards.firm)
            store["government"]["reward"].append(rewards.government.unsqueeze(-1))
            totals["hours"] += actions.hours.mean()
            consumed = info["consumed"]
            totals["consumption"] += consumed.sum(-1).mean()
            totals["production"] += info["production"].mean()
            totals["exports"] += info["exported"].mean()
            domestic = consumed.sum(1)
            totals["export_share"] += (info["exported"] > domestic).to(self.dtype).mean()

        traj = {
            t: _Trajectory(
                obs=torch.stack(s["obs"]),
                action=torch.stack(s["action"]),
                logp=torch.stack(s["logp"]),
                value=torch.stack(s["value"]),
                reward=torch.stack(s["reward"]),
                allowed=masks[t],
            )
            for t, s in store.items()
        }
        # No-Ponzi: penalise the last reward of agents that end in debt (spec section 4).
        np_cfg = self.training.no_ponzi
        if np_cfg.enabled:
            traj["consumer"].reward[-1] -= self.multipliers["consumer"] * (
                (-state.consumer_budget).clamp(min=0) / np_cfg.consumer_budget_scale)
            traj["firm"].reward[-1] -= self.multipliers["firm"] * (
                (-state.firm_budget).clamp(min=0) / np_cfg.firm_budget_scale)

        returns = {t: traj[t].reward.sum(0) for t in AGENT_TYPES}  # [B, n]
        finite = torch.stack([torch.isfinite(r).all() for r in returns.values()]
                             + [torch.isfinite(state.consumer_budget).all(), torch.isfinite(state.firm_budget).all()])
        if not bool(finite.all()):
            raise NonFiniteError(
                f"member {self.member_id}: non-finite reward or budget in episode {self.episode}; "
                "the member keeps its last good state (no update was applied)"
            )
        values = torch.stack([
            returns["consumer"].mean(), returns["firm"].mean(), returns["government"].mean(),
            *(totals[k] / T for k in ("price", "wage", "hours", "consumption", "production", "exports",
                                       "stock", "income_tax", "corporate_tax")),
            state.consumer_budget.mean(), state.firm_budget.mean(),
            _gini(state.consumer_budget).mean(), totals["export_share"] / T,
        ]).tolist()
        stats = EpisodeStats(*values)
        return traj, stats, state

    # ------------------------------------------------------------------- update
    def _update(self, agent_type: str, traj: _Trajectory, entropy_factor: float) -> dict[str, float]:
        """PPO (or PG) on one type's trajectory; returns loss statistics."""
        try:
            return update_policy(
                self.policies[agent_type], self.optimizers[agent_type], traj, self.training,
                self.training.agent(agent_type), entropy_factor, self.generator,
            )
        except NonFiniteError as exc:
            raise NonFiniteError(f"member {self.member_id}, episode {self.episode}, {agent_type}: {exc}") from None

    def _update_multipliers(self, final: EconomyState) -> None:
        """Gradient ascent on the mean no-Ponzi violation (spec section 4)."""
        np_cfg = self.training.no_ponzi
        if not np_cfg.enabled:
            return
        violation_c = float((-final.consumer_budget).clamp(min=0).mean()) / np_cfg.consumer_budget_scale
        violation_f = float((-final.firm_budget).clamp(min=0).mean()) / np_cfg.firm_budget_scale
        self.multipliers["consumer"] = max(0.0, self.multipliers["consumer"] + np_cfg.multiplier_lr * violation_c)
        self.multipliers["firm"] = max(0.0, self.multipliers["firm"] + np_cfg.multiplier_lr * violation_f)

    # ------------------------------------------------------------------- public
    def train_episode(self, point: CurriculumPoint | None = None) -> tuple[EpisodeStats, dict[str, dict[str, float]]]:
        """Roll out one episode and update every type that learns at ``point``."""
        point = point or self.curriculum.at(self.episode)
        traj, stats, final = self._rollout(point, self.generator)
        losses = {}
        for t in AGENT_TYPES:
            if point.learns[t]:
                losses[t] = self._update(t, traj[t], point.entropy_factor[t])
            else:
                with torch.no_grad():
                    logits, _ = self.policies[t](traj[t].obs[0])
                    ent = policies.entropy(policies.masked_logits(logits, traj[t].allowed)).mean()
                losses[t] = {"entropy": float(ent)}
        self._update_multipliers(final)
        self.episode += 1
        return stats, losses

    def train(self, episodes: int, progress=None, curriculum: Curriculum | None = None) -> list[MetricsRow]:
        """Train the next ``episodes`` episodes; a :class:`MetricsRow` at every multiple of
        ``log_every`` episodes and at the end.

        ``progress`` (optional) is called after every episode with
        ``(episodes_done, stats)``. ``curriculum`` overrides the member's own
        for these episodes (best response uses this).
        """
        curriculum = curriculum or self.curriculum
        if self.initial_rewards is None:
            self.initial_rewards = self._quick_eval_rewards()
        rows: list[MetricsRow] = []
        window: list[tuple[EpisodeStats, dict, CurriculumPoint]] = []
        started = time.perf_counter()
        log_every = self.training.log_every
        for i in range(episodes):
            point = curriculum.at(self.episode)
            stats, losses = self.train_episode(point)
            window.append((stats, losses, point))
            if progress is not None:
                progress(i + 1, stats)
            if self.episode % log_every == 0 or i == episodes - 1:  # rows align to absolute episodes
                elapsed = time.perf_counter() - started
                rows.append(self._metrics_row(window, len(window) / max(elapsed, 1e-9), curriculum))
                window = []
                started = time.perf_counter()
        return rows

    def _metrics_row(self, window, episodes_per_s: float, curriculum: Curriculum) -> MetricsRow:
        stats = EpisodeStats.mean([w[0] for w in window])
        point: CurriculumPoint = window[-1][2]
        extra: dict[str, Any] = {}
        for t in AGENT_TYPES:
            for key in ("entropy", "pg_loss", "v_loss", "approx_kl"):
                vals = [w[1][t][key] for w in window if key in w[1].get(t, {})]
                extra[f"{key}_{t}"] = sum(vals) / len(vals) if vals else math.nan
            extra[f"learns_{t}"] = bool(point.learns[t])
            extra[f"lr_{t}"] = self.training.agent(t).lr
        return MetricsRow(
            **dataclasses.asdict(stats),
            member_id=self.member_id,
            episode=self.episode,
            niche=curriculum.niche,
            curriculum=curriculum.name,
            seed=self.seed,
            theta_scale=point.theta_scale,
            is_trivial=stats.trivial,
            multiplier_consumer=self.multipliers["consumer"],
            multiplier_firm=self.multipliers["firm"],
            episodes_per_s=episodes_per_s,
            **extra,
        )

    def evaluate(self, episodes: int, seed: int, point: CurriculumPoint | None = None) -> EvalResult:
        """Evaluation rollouts on their own generator (seeded by ``seed``); nothing learns.

        Default ``point``: full grids and full theta (:func:`evaluation_point`).
        The member's own generator and weights are untouched.
        """
        point = point or evaluation_point(self.episode)
        generator = torch.Generator(device=self.device)
        generator.manual_seed(seed)
        returns: dict[str, list[float]] = {t: [] for t in AGENT_TYPES}
        all_stats = []
        for _ in range(episodes):
            traj, stats, _ = self._rollout(point, generator)
            for t in AGENT_TYPES:
                returns[t].extend(traj[t].reward.sum(0).mean(-1).tolist())  # per economy copy
            all_stats.append(stats)
        return EvalResult(returns=returns, stats=EpisodeStats.mean(all_stats))

    def _quick_eval_rewards(self) -> dict[str, float]:
        """Rewards of the untrained policies (the baseline of the paper's relative epsilon)."""
        result = self.evaluate(2, seed=self.config.best_response.eval_seed + 7)
        return {t: result.mean(t) for t in AGENT_TYPES}

    # ------------------------------------------------------------- state, I/O
    def get_state(self) -> dict[str, Any]:
        """The whole learning state as tensors and plain data (a deep copy on CPU)."""

        def cpu(obj):
            if isinstance(obj, torch.Tensor):
                return obj.detach().to("cpu", copy=True)
            if isinstance(obj, dict):
                return {k: cpu(v) for k, v in obj.items()}
            if isinstance(obj, list):
                return [cpu(v) for v in obj]
            return obj

        return {
            "policies": {t: cpu(p.state_dict()) for t, p in self.policies.items()},
            "optimizers": {t: cpu(o.state_dict()) for t, o in self.optimizers.items()},
            "multipliers": dict(self.multipliers),
            "episode": self.episode,
            "generator": self.generator.get_state().to("cpu"),
            "training": config_to_dict(self.training),
            "initial_rewards": None if self.initial_rewards is None else dict(self.initial_rewards),
        }

    def set_state(self, state: dict[str, Any], *, learning_only: bool = False) -> None:
        """Load a state from :meth:`get_state`.

        ``learning_only=True`` (PBT exploit) copies weights, optimiser state,
        multipliers and training hyperparameters but keeps this member's own
        episode counter, random generator and baseline rewards.
        """
        for t in AGENT_TYPES:
            self.policies[t].load_state_dict(state["policies"][t])
            self.optimizers[t].load_state_dict(state["optimizers"][t])
        self.multipliers = dict(state["multipliers"])
        self.training = config_from_dict({"training": state["training"]}).training
        for t in AGENT_TYPES:
            for group in self.optimizers[t].param_groups:
                group["lr"] = self.training.agent(t).lr
        if not learning_only:
            self.episode = int(state["episode"])
            self.generator.set_state(state["generator"].to(self.generator.get_state().device))
            self.initial_rewards = state["initial_rewards"]

    def save(self, path: str | Path) -> Path:
        """Write a checkpoint atomically (temporary file, then rename)."""
        path = Path(path)
        payload = {
            "format": CHECKPOINT_FORMAT,
            "member_id": self.member_id,
            "seed": self.seed,
            "config": config_to_dict(self.config),
            "curriculum": config_to_dict(self.curriculum),
            "state": self.get_state(),
        }
        atomic_write(path, lambda tmp: torch.save(payload, tmp))
        return path


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """Load a member checkpoint's payload with ``weights_only=True``; clear errors if it is not one."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint not found")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - torch raises many types for corrupt files
        raise CheckpointError(f"{path}: not a readable pbt-econ checkpoint ({type(exc).__name__}: {exc})") from None
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path}: not a pbt-econ member checkpoint (expected format {CHECKPOINT_FORMAT!r})")
    return payload


def load_member(path: str | Path, config: RunConfig | None = None, device: str | None = None) -> Member:
    """Rebuild a :class:`Member` from a checkpoint.

    With ``config``, the checkpoint must come from the same economy and grids
    (otherwise :class:`CheckpointError` says which field differs); training
    settings of ``config`` are ignored in favour of the checkpoint's.
    """
    from pbt_econ.config import load_curriculum

    payload = read_checkpoint(path)
    saved = config_from_dict(payload["config"])
    if config is not None:
        for section in ("economy", "spaces"):
            mine, theirs = config_to_dict(getattr(config, section)), config_to_dict(getattr(saved, section))
            for key in mine:
                if mine[key] != theirs.get(key):
                    raise CheckpointError(
                        f"{path}: checkpoint is from a different {section}: {section}.{key} = "
                        f"{theirs.get(key)!r} in the checkpoint, {mine[key]!r} in the config"
                    )
        saved = dataclasses.replace(saved, best_response=config.best_response, analysis=config.analysis)
    if device is not None:
        saved = dataclasses.replace(saved, device=device)
    member = Member(saved, load_curriculum(payload["curriculum"]), payload["seed"], payload["member_id"])
    try:
        member.set_state(payload["state"])
    except (KeyError, RuntimeError) as exc:
        raise CheckpointError(f"{path}: checkpoint state does not fit this member ({exc})") from None
    return member
