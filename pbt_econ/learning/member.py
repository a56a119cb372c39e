"""One population member: a thin owner of learning state.

A :class:`Member` owns an economy (:class:`~pbt_econ.economies.Economy`, built from
``config.economy``), one
:class:`~pbt_econ.learning.policies.ActorCritic` and one optimiser per agent type,
the no-Ponzi multipliers, an episode counter and its ``torch.Generator``.
It does no learning of its own: each episode it takes an
:class:`~pbt_econ.config.episode.EpisodeSpec` (from its curriculum, or from the
caller), runs :func:`pbt_econ.learning.rollout.rollout` and
:func:`pbt_econ.learning.ppo.update_policy`, and keeps the results. The population
drives it through a small surface (called from a Ray actor):

* :meth:`Member.train` - train the next ``N`` episodes, return their metrics;
* :meth:`Member.get_state` / :meth:`Member.set_state` - the whole learning state
  in memory (PBT exploit copies it between members);
* :meth:`Member.set_hyperparameters` - change ``training.*`` values between
  segments (PBT explore);
* :meth:`Member.save` / :func:`load_member` - checkpoints (:mod:`pbt_econ.core.checkpoints`);
* :meth:`Member.evaluate` - evaluation rollouts without learning.
"""

from __future__ import annotations

import copy
import dataclasses
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from pbt_econ.config.compare import ECONOMY_SECTIONS, config_differences
from pbt_econ.config.curriculum import Curriculum
from pbt_econ.config.episode import EpisodeSpec, evaluation_spec, with_fixed
from pbt_econ.config.load import (
    RunConfig,
    TrainingConfig,
    config_from_dict,
    config_to_dict,
    get_path,
    replace_path,
)
from pbt_econ.core.checkpoints import CheckpointError, read_checkpoint, write_checkpoint
from pbt_econ.core.seeds import stream_seed
from pbt_econ.economies.protocol import Economy
from pbt_econ.economies.registry import build_economy
from pbt_econ.learning import policies
from pbt_econ.learning.normalize import RunningMoments, discounted_returns
from pbt_econ.learning.ppo import make_optimizer, update_policy
from pbt_econ.learning.records import EpisodeStats, EvalResult, LossStats, MetricsRow, metrics_row
from pbt_econ.learning.rollout import Deviant, NonFiniteError, PoolPlay, Rollout, no_ponzi_violation, rollout

__all__ = ["Member", "Schedule", "load_member"]

Schedule = Callable[[int], EpisodeSpec]
"""Episode counter -> the spec of that episode (a curriculum's :meth:`~Curriculum.at`, or a derived one)."""


def build_policies(config: RunConfig, economy: Economy, seed: int) -> dict[str, policies.ActorCritic]:
    """Fresh policies of every agent type of ``economy``, initialised from ``seed`` (the ``weights`` stream),
    laid out as the type declares (observation size, heads, width)."""
    device, dtype = torch.device(config.device), config.torch_dtype
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(stream_seed(seed, "weights"))
        return {a.name: policies.ActorCritic(a.obs_size, a.heads, a.width, config.training.hidden_size).to(device, dtype)
                for a in economy.agent_types}


class Member:
    """One learning run of the economy (a population member).

    ``config`` gives economy, grids and training settings; ``curriculum``
    (default: ``config.curriculum``) the schedule of training specs; ``seed``
    (default ``config.seed``) initial weights and all training sampling.
    """

    def __init__(self, config: RunConfig, curriculum: Curriculum | None = None, seed: int | None = None,
                 member_id: str = "member") -> None:
        self.config = config
        self.curriculum = curriculum if curriculum is not None else config.curriculum
        self.seed = config.seed if seed is None else seed
        self.member_id = member_id
        self.training: TrainingConfig = config.training
        self.device = torch.device(config.device)
        if self.device.type == "cuda" and not torch.cuda.is_available():
            raise RuntimeError("device = 'cuda' but torch.cuda.is_available() is False; set device: cpu")
        self.economy = build_economy(config, self.training.batch_size, self.device, config.torch_dtype)
        self.types = tuple(a.name for a in self.economy.agent_types)
        """The economy's agent types, in order."""
        self.masked = tuple(a.name for a in self.economy.agent_types if a.mask_actions)
        self.policies = build_policies(config, self.economy, self.seed)
        self.fixed = config.fixed_actions
        """Head indices of the types with a fixed policy (``config.fixed``); they never learn."""
        self.optimizers = {t: make_optimizer(self.policies[t], self.training.agent(t).lr) for t in self.types}
        budget_types = tuple(self.economy.budgets(self.economy.reset()) or {})
        self.multipliers = {t: self.training.no_ponzi.initial_multiplier for t in budget_types}
        self.return_moments = {t: RunningMoments() for t in self.types}
        self.episode = 0
        self.generator = torch.Generator(device=self.device)
        self.generator.manual_seed(stream_seed(self.seed, "train"))

    def spec_at(self, episode: int) -> EpisodeSpec:
        """The curriculum's spec of training episode ``episode`` for this member's economy."""
        return self.curriculum.at(episode, self.types)

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
        self._set_training(training)

    def _set_training(self, training: TrainingConfig) -> None:
        self.training = training
        for t in self.types:
            for group in self.optimizers[t].param_groups:
                group["lr"] = training.agent(t).lr

    # ------------------------------------------------------------- one episode
    def run_episode(self, spec: EpisodeSpec, generator: torch.Generator, deviant: Deviant | None = None,
                    pool_play: tuple[PoolPlay, ...] = ()) -> Rollout:
        """One rollout of this member's policies under ``spec`` (nothing learns); ``deviant``: a unilateral
        deviation's policy acting for some agents (:class:`~pbt_econ.learning.rollout.Deviant`); ``pool_play``:
        pooled deviations played in some copies (the solver)."""
        try:
            return rollout(self.policies, self.economy, self.config, spec, generator, self.multipliers, deviant,
                           pool_play)
        except NonFiniteError as exc:
            raise NonFiniteError(f"member {self.member_id}: {exc}; the member keeps its last good state "
                                 "(no update was applied)") from None

    def learn(self, spec: EpisodeSpec, result: Rollout) -> dict[str, LossStats]:
        """Update every type that learns under ``spec`` from ``result``; entropy only for the others.

        If any update meets a non-finite loss, *every* policy and optimiser
        is restored to its state before this call and :class:`NonFiniteError`
        is raised, so the member keeps its last good state.
        """
        learners = spec.learners
        saved = {t: (copy.deepcopy(self.policies[t].state_dict()), copy.deepcopy(self.optimizers[t].state_dict()),
                     copy.copy(self.return_moments[t])) for t in learners}
        losses: dict[str, LossStats] = {}
        t = self.types[0]
        try:
            for t in self.types:
                traj = result.trajectories[t]
                if spec.agent(t).fixed_action is not None:
                    losses[t] = LossStats(entropy=0.0)  # a fixed action: deterministic
                elif t in learners:
                    agent = self.training.agent(t)
                    scale = 1.0
                    if self.training.normalize_returns:
                        moments = self.return_moments[t]
                        moments.update(discounted_returns(traj.reward / agent.reward_scale, agent.gamma))
                        scale = moments.scale()
                    losses[t] = update_policy(self.policies[t], self.optimizers[t], traj, self.training, agent,
                                              spec.agent(t).entropy_factor, self.generator, return_scale=scale)
                else:
                    with torch.no_grad():
                        logits, _ = self.policies[t](traj.obs[0])
                        entropy = policies.entropy(policies.masked_logits(logits, traj.allowed)).mean()
                    losses[t] = LossStats(entropy=float(entropy))
        except NonFiniteError as exc:
            for learner, (weights, optimizer, moments) in saved.items():
                self.policies[learner].load_state_dict(weights)
                self.optimizers[learner].load_state_dict(optimizer)
                self.return_moments[learner] = moments
            raise NonFiniteError(f"member {self.member_id}, episode {self.episode}, {t}: {exc}; "
                                 "no update of this episode was kept") from None
        return losses

    def update_multipliers(self, spec: EpisodeSpec, final: Any) -> None:
        """Gradient ascent on the mean no-Ponzi violation of each type whose multiplier moves under ``spec``."""
        np_cfg = self.training.no_ponzi
        if not np_cfg.enabled:
            return
        for t, violation in no_ponzi_violation(self.economy, final, np_cfg).items():
            if spec.multiplier_moves(t):
                self.multipliers[t] = max(0.0, self.multipliers[t] + np_cfg.multiplier_lr * float(violation.mean()))

    def train_episode(self, spec: EpisodeSpec | None = None,
                      pool_play: tuple[PoolPlay, ...] = ()) -> tuple[EpisodeStats, dict[str, LossStats]]:
        """Roll out one episode on the training stream, update its learners, advance the counter.

        ``pool_play``: pooled deviations some agents play in some copies; they do not learn from them."""
        spec = with_fixed(spec or self.spec_at(self.episode), self.fixed)
        result = self.run_episode(spec, self.generator, pool_play=pool_play)
        losses = self.learn(spec, result)
        self.update_multipliers(spec, result.final)
        self.episode += 1
        return result.stats, losses

    # ------------------------------------------------------------------ public
    def train(self, episodes: int, progress: Callable[[int, EpisodeStats], None] | None = None,
              schedule: Schedule | None = None) -> list[MetricsRow]:
        """Train the next ``episodes`` episodes; a :class:`MetricsRow` at every multiple of
        ``log_every`` episodes and at the end.

        ``progress`` (optional) is called after every episode with
        ``(episodes_done, stats)``. ``schedule`` replaces the curriculum's
        specs for these episodes (best response derives its own from it).
        """
        schedule = schedule or self.spec_at
        rows: list[MetricsRow] = []
        window: list[tuple[EpisodeStats, dict[str, LossStats], EpisodeSpec]] = []
        started = time.perf_counter()
        for i in range(episodes):
            spec = with_fixed(schedule(self.episode), self.fixed)
            stats, losses = self.train_episode(spec)
            window.append((stats, losses, spec))
            if progress is not None:
                progress(i + 1, stats)
            if self.episode % self.training.log_every == 0 or i == episodes - 1:  # rows align to absolute episodes
                rate = len(window) / max(time.perf_counter() - started, 1e-9)
                rows.append(metrics_row(
                    window, member_id=self.member_id, episode=self.episode, niche=self.curriculum.niche,
                    curriculum=self.curriculum.name, seed=self.seed,
                    lrs={t: self.training.agent(t).lr for t in self.types},
                    multipliers=self.multipliers, masked=self.masked, episodes_per_s=rate,
                    trivial=self.economy.trivial))
                window = []
                started = time.perf_counter()
        return rows

    def evaluate(self, episodes: int, seed: int, spec: EpisodeSpec | None = None) -> EvalResult:
        """Evaluation rollouts on a generator seeded by ``seed``; nothing learns, nothing moves.

        Default ``spec``: :func:`~pbt_econ.config.episode.evaluation_spec` (full
        grids, full theta). The member's own generator, weights and
        multipliers are untouched; the same ``seed`` gives the same action
        noise to every member (common random numbers).
        """
        spec = with_fixed(spec or evaluation_spec(self.types, self.episode), self.fixed)
        generator = torch.Generator(device=self.device)
        generator.manual_seed(stream_seed(seed, "eval"))
        returns: dict[str, list[float]] = {t: [] for t in self.types}
        all_stats = []
        for _ in range(episodes):
            result = self.run_episode(spec, generator)
            for t in self.types:
                returns[t].extend(result.returns(t))
            all_stats.append(result.stats)
        return EvalResult(returns=returns, stats=EpisodeStats.mean(all_stats))

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
            "return_moments": {t: m.to_dict() for t, m in self.return_moments.items()},
            "episode": self.episode,
            "generator": self.generator.get_state().to("cpu"),
            "training": config_to_dict(self.training),
        }

    def set_state(self, state: dict[str, Any], *, learning_only: bool = False) -> None:
        """Load a state from :meth:`get_state`.

        ``learning_only=True`` (PBT exploit) copies weights, optimiser state,
        multipliers, return normalisers and training hyperparameters but keeps
        this member's own episode counter and random generator. (States saved
        before return normalisation existed load with fresh normalisers.)
        """
        # the economy travels with the training section: its agent types (and their defaults) are the economy's
        economy = config_to_dict(self.config)["economy"]
        training = config_from_dict({"economy": economy, "training": state["training"]}).training
        self._load(state, training, learning_only)

    def _load(self, state: dict[str, Any], training: TrainingConfig, learning_only: bool) -> None:
        for t in self.types:
            self.policies[t].load_state_dict(state["policies"][t])
            self.optimizers[t].load_state_dict(state["optimizers"][t])
        self.multipliers = dict(state["multipliers"])
        saved_moments = state.get("return_moments", {})
        self.return_moments = {t: RunningMoments.from_dict(saved_moments[t]) if t in saved_moments
                               else RunningMoments() for t in self.types}
        self._set_training(training)
        if not learning_only:
            self.episode = int(state["episode"])
            self.generator.set_state(state["generator"].to(self.generator.get_state().device))

    def copy(self) -> Member:
        """An independent member with this one's whole learning state (best response's deviations).

        Like ``Member(...)`` + :meth:`set_state`, without rebuilding the run config from dicts."""
        other = Member(self.config, self.curriculum, self.seed, self.member_id)
        other._load(self.get_state(), self.training, learning_only=False)
        return other

    def untrained(self) -> Member:
        """A fresh member with this one's config, curriculum and seed: its policies as they were at episode 0."""
        return Member(self.config, self.curriculum, self.seed, self.member_id)

    def save(self, path: str | Path) -> Path:
        """Write a checkpoint atomically (:mod:`pbt_econ.core.checkpoints`)."""
        return write_checkpoint({"member_id": self.member_id, "seed": self.seed,
                                 "config": config_to_dict(self.config), "curriculum": config_to_dict(self.curriculum),
                                 "state": self.get_state()}, path)


def load_member(path: str | Path, config: RunConfig | None = None, device: str | None = None) -> Member:
    """Rebuild a :class:`~pbt_econ.learning.member.Member` from a checkpoint.

    With ``config``, the checkpoint must come from the same economy and grids
    (otherwise :class:`CheckpointError` says which field differs); training
    settings of ``config`` are ignored in favour of the checkpoint's.
    """
    from pbt_econ.config.load import load_curriculum

    payload = read_checkpoint(path)
    saved = config_from_dict(payload["config"])
    if config is not None:
        diffs = config_differences(saved, config, sections=ECONOMY_SECTIONS, labels=("in the checkpoint", "in the config"))
        if diffs:
            raise CheckpointError(f"{path}: checkpoint is from a different economy or grids: {diffs[0]}")
        saved = dataclasses.replace(saved, best_response=config.best_response, analysis=config.analysis)
    if device is not None:
        saved = dataclasses.replace(saved, device=device)
    member = Member(saved, load_curriculum(payload["curriculum"]), payload["seed"], payload["member_id"])
    try:
        member.set_state(payload["state"])
    except (KeyError, RuntimeError) as exc:
        raise CheckpointError(f"{path}: checkpoint state does not fit this member ({exc})") from None
    return member

