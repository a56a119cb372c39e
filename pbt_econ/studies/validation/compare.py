"""What ``python -m pbt_econ.validate`` measures: one search's outcomes next to its economy's known answer.

Generic over economies: each economy that declares a :class:`~pbt_econ.economies.protocol.KnownAnswer`
(``EconomyEntry.known_answer``) computes its own metrics from a :class:`RunDirView` of a finished search
directory (:func:`compare`); the known answer is recomputed from the search's own resolved ``config.yaml``
(never from defaults), so every ``--set economy.*`` is honoured. Known profiles the answer declares are
certified by the framework's own best response (:func:`check_profiles`).

Rows: ``{economy, seed, metric, value, known, error}`` with ``error = value - known`` (NaN when nothing is
known); profile rows have seed ``-1``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

__all__ = ["RunDirView", "check_profiles", "compare", "policy_probs", "read_run", "row", "set_profile"]

POINT_MASS_LOGIT = 30.0
"""Logit of the chosen action of a point-mass profile (the others are 0): probability ~ 1 - K e^-30."""


def row(economy: str, seed: int, metric: str, value: float, known: float = math.nan) -> dict:
    """One ``validation.parquet`` row; ``error = value - known`` (NaN when nothing is known)."""
    value, known = float(value), float(known)
    return {"economy": economy, "seed": int(seed), "metric": metric, "value": value, "known": known,
            "error": value - known if math.isfinite(known) else math.nan}


def read_run(run_dir: Path):
    """``(resolved RunConfig, outcomes DataFrame, equilibria DataFrame or None)`` of a search directory."""
    import pandas as pd

    from pbt_econ.config.load import load_config

    config = load_config(run_dir / "config.yaml")
    outcomes = pd.read_parquet(run_dir / "outcomes.parquet")
    eq_path = run_dir / "equilibria.parquet"
    equilibria = pd.read_parquet(eq_path) if eq_path.exists() else None
    return config, outcomes, equilibria


def _full_grid_probs(member, agent_type: str, obs):
    """Probabilities ``[..., H, K]`` (float64, CPU) of ``member``'s policy at ``obs [..., D]``, full grid."""
    import torch

    from pbt_econ.learning import policies

    economy, policy = member.economy, member.policies[agent_type]
    param = next(policy.parameters())
    with torch.no_grad():
        logits, _ = policy(torch.as_tensor(obs).to(device=param.device, dtype=param.dtype))
        logits = policies.masked_logits(logits, economy.mask(agent_type, 1.0, {}))
        return torch.softmax(logits.double(), -1).cpu()


def policy_probs(member, agent_type: str) -> list[float]:
    """The learned action distribution of ``agent_type`` (first agent, first head, reset observation, full grid)."""
    economy = member.economy
    obs = economy.observe(economy.reset())[agent_type][0]  # [N, D]
    return _full_grid_probs(member, agent_type, obs)[0, 0].tolist()


class RunDirView:
    """A finished search directory as a :class:`~pbt_econ.economies.protocol.RunView` (members loaded lazily)."""

    def __init__(self, run_dir: Path, seed: int) -> None:
        self.run_dir, self.seed = Path(run_dir), int(seed)
        self.config, self.outcomes, self.equilibria = read_run(self.run_dir)
        self.economy_config = self.config.economy
        self._members: dict[str, object] = {}

    def member_ids(self) -> list[str]:
        """The outcomes' members whose final policies are on disk."""
        ids = [str(m) for m in self.outcomes["member_id"]]
        return [m for m in ids if (self.run_dir / "members" / m / "final.pt").exists()]

    def member(self, member_id: str):
        """The member's final checkpoint, loaded once."""
        if member_id not in self._members:
            from pbt_econ.learning.member import load_member

            self._members[member_id] = load_member(self.run_dir / "members" / member_id / "final.pt")
        return self._members[member_id]

    def policy(self, member_id: str, agent_type: str):
        """Observations ``[B, n, D]`` -> probabilities ``[B, n, H, K]`` (float64, CPU, full grid)."""
        member = self.member(member_id)
        return lambda obs: _full_grid_probs(member, agent_type, obs)

    def policy_probs(self, member_id: str, agent_type: str) -> list[float]:
        """The first head's probabilities of the first agent at the reset observation."""
        return policy_probs(self.member(member_id), agent_type)


def compare(entry, view) -> list[dict]:
    """The rows of one run: ``entry.known_answer.compare(view)`` with the economy's name and the run's seed."""
    return [row(entry.kind, view.seed, m.name, m.value, m.known) for m in entry.known_answer.compare(view)]


def set_profile(member, agent_type: str, probs: Sequence[float]) -> None:
    """Make ``member``'s ``agent_type`` policy play ``probs`` (over the ``K`` choices, every head) everywhere.

    The head's weights are zeroed, so the observation no longer matters; its biases are the log
    probabilities, or :data:`POINT_MASS_LOGIT` at a point mass (the last output is the value).
    """
    import torch

    policy = member.policies[agent_type]
    heads, width = policy.heads, policy.width
    probs = [float(p) for p in probs]
    if len(probs) != width:
        raise ValueError(f"profile of {agent_type!r}: {len(probs)} probabilities, the grid has {width}")
    if max(probs) == 1.0:
        logits = [POINT_MASS_LOGIT if p == 1.0 else 0.0 for p in probs]
    else:
        logits = [math.log(p) if p > 0 else -POINT_MASS_LOGIT - 30.0 for p in probs]
    with torch.no_grad():
        policy.head.weight.zero_()
        policy.head.bias.zero_()
        policy.head.bias[:heads * width] = torch.tensor(logits * heads, dtype=policy.head.bias.dtype)


def check_profiles(entry, run_dir: Path) -> list[dict]:
    """Each declared profile of ``entry.known_answer``, checked by the framework's own best response.

    A member is built from the run's config, the profile's types are set to their profiles
    (:func:`set_profile`) and :func:`pbt_econ.equilibrium.best_response.check.best_response` checks them:
    its trained deviations retrain a *shared* policy (type-level), its certificates also try constant
    unilateral deviations. Rows (seed ``-1``): ``profile_<name>_framework_type_epsilon``,
    ``..._unilateral_epsilon`` and ``..._trained_epsilon`` (max over the checked types), and
    ``..._before`` (the profile's mean return per episode, per type with a ``_<type>`` suffix when
    the profile sets several).
    """
    from pbt_econ.equilibrium.best_response.check import best_response
    from pbt_econ.learning.member import Member

    known = entry.known_answer
    if known is None or known.profiles is None:
        return []
    config, _, _ = read_run(Path(run_dir))
    rows = []
    for name, profile in known.profiles(config.economy).items():
        member = Member(config, seed=config.seed)
        for agent_type, probs in profile.items():
            set_profile(member, agent_type, probs)
        types = tuple(profile)
        report = best_response(member, types=types)
        prefix = f"profile_{name}_framework"
        for kind in ("type", "unilateral"):
            eps = [r.epsilon_abs for r in report.rows if r.deviation == kind]
            rows.append(row(entry.kind, -1, f"{prefix}_{kind}_epsilon", max(eps) if eps else math.nan))
        trained = [r.epsilon_abs for r in report.rows if r.deviation == "type" and r.start == "learned"]
        rows.append(row(entry.kind, -1, f"{prefix}_trained_epsilon", max(trained) if trained else math.nan))
        for t in types:
            suffix = "" if len(types) == 1 else f"_{t}"
            rows.append(row(entry.kind, -1, f"{prefix}_before{suffix}", report.before.mean(t)))
    return rows
