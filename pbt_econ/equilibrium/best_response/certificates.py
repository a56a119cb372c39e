"""Exact certificates: every constant action of a small grid, tried as a deviation without training.

For each agent type whose policy has a single head of at most ``best_response.certificate_max_actions``
choices (in the RBC, two of its three types; a Cournot market's quantities), every allowed constant action ``a`` is evaluated

* **type-level**: every agent of the type plays ``a``, the other types keep their policies;
* **unilateral**: one agent ``j`` plays ``a``, every other agent (its own type included) keeps the
  shared policy; for ``best_response.unilateral_agents`` agents spread evenly over the type (a type
  with one agent has only the type-level deviation).

**One mechanism for every constant deviation.** A constant deviation (here, the end game's in
:mod:`.endgame`, and the solver's pool) is a :class:`~pbt_econ.learning.rollout.PoolPlay`: the deviating
type's policy samples as in "before" and the constant replaces the deviating agents' sampled actions
*after* sampling, so every other agent, of every type, sees the random numbers of "before" (common random
numbers). (Until 2026-12-04 a type-level constant skipped the type's sampling, which shifted every later
type's draws; decision 51.)

**Choose on one stream, decide on another.** The best action is chosen on the evaluation seed (the
sweep's stream); the chosen action's interval is then read on a fresh stream
(``stream_seed(eval_seed, "decide")``, before and after on it), so the maximum over tens of candidates
does not inflate ``violated``. ``verified`` claims that *no* candidate gains the tolerance: it also needs
every other candidate's upper bound below it on the sweep's stream, simultaneously (a Bonferroni share of
the error, :func:`pbt_econ.equilibrium.sequential.certificate_z`), so a sweep that chose a lesser candidate
by chance cannot verify. The best constant action's gain is an exact lower bound on the
type's ε for that deviation kind, found by enumeration, not learning; the outcome's ε is the maximum
of the trained and the certified gains (:func:`pbt_econ.equilibrium.outcomes.outcome_row` takes the maximum over
rows). Gains are the deviating agents' own mean episode returns, after minus before.
"""

from __future__ import annotations

import dataclasses
import math

import torch

from pbt_econ.config.episode import evaluation_spec, with_fixed
from pbt_econ.core.seeds import stream_seed
from pbt_econ.core.stats import skewed_interval
from pbt_econ.equilibrium.best_response.rows import BestResponseRow, make_row
from pbt_econ.equilibrium.best_response.unilateral import spread_agents
from pbt_econ.equilibrium.sequential import certificate_z, decide
from pbt_econ.equilibrium.verdicts import verdict
from pbt_econ.learning.rollout import PoolPlay

__all__ = ["Befores", "certificate_rows", "certifiable", "certify", "constant_play", "decision_seed", "own_returns",
           "per_agent_returns"]


def certifiable(member, max_actions: int, check_fixed: bool = False) -> dict[str, list[int]]:
    """``{type: allowed constant actions}`` of the types whose single head has at most ``max_actions``
    (types with a fixed policy only when ``check_fixed``)."""
    out = {}
    for a in member.economy.agent_types:
        if a.heads != 1 or a.width > max_actions or (a.name in member.fixed and not check_fixed):
            continue
        allowed = member.economy.mask(a.name, 1.0, {}).reshape(-1)
        out[a.name] = [i for i in range(a.width) if bool(allowed[i])]
    return out


def per_agent_returns(member, spec, episodes: int, seed: int, deviant=None, pool_play=()) -> dict[str, torch.Tensor]:
    """``{type: [episodes * B, n]}`` per-agent episode returns on evaluation seed ``seed`` (``deviant``:
    a unilateral deviation's policy, :class:`~pbt_econ.learning.rollout.Deviant`; ``pool_play``: constant
    deviations at some steps, :class:`~pbt_econ.learning.rollout.PoolPlay`)."""
    generator = torch.Generator(device=member.device)
    generator.manual_seed(stream_seed(seed, "eval"))
    out: dict[str, list[torch.Tensor]] = {t: [] for t in member.types}
    for _ in range(episodes):
        result = member.run_episode(spec, generator, deviant, pool_play)
        for t in member.types:
            out[t].append(result.trajectories[t].reward.sum(0))
    return {t: torch.cat(v) for t, v in out.items()}


def decision_seed(seed: int) -> int:
    """The fresh stream a chosen certificate's verdict is decided on (never the one it was chosen on)."""
    return stream_seed(seed, "decide")


class Befores:
    """Per-agent returns of the undeviated evaluation (``{type: [episodes * B, n]}``), by ``(seed, episodes)``:
    one evaluation per stream and length for every check of one member."""

    def __init__(self, member, spec):
        self.member, self.spec, self.cache = member, spec, {}

    def __call__(self, seed: int, episodes: int) -> dict[str, torch.Tensor]:
        if (seed, episodes) not in self.cache:
            self.cache[seed, episodes] = per_agent_returns(self.member, self.spec, episodes, seed)
        return self.cache[seed, episodes]


def constant_play(member, agent_type: str, scope: str, agent: int, action: int, steps: tuple[int, ...] = ()) -> PoolPlay:
    """Every copy: the whole type (``scope = "type"``) or agent ``agent`` plays ``action`` at ``steps``
    (empty: every step), replacing what the type's policy sampled."""
    counts = {a.name: a.count for a in member.economy.agent_types}
    agents = torch.zeros(counts[agent_type], dtype=torch.bool, device=member.device)
    if scope == "type":
        agents[:] = True
    else:
        agents[agent] = True
    return PoolPlay(agent_type=agent_type, copies=torch.ones(member.economy.batch_size, dtype=torch.bool,
                                                             device=member.device),
                    agents=agents, action=(action,), steps=tuple(steps))


def own_returns(returns: torch.Tensor, scope: str, agent: int) -> list[float]:
    """The deviating agents' own per-copy returns: the type's mean, or agent ``agent``'s (``[episodes * B]``)."""
    return (returns.mean(-1) if scope == "type" else returns[:, agent]).tolist()


def certify(member, config, befores: Befores, agent_type: str, scope: str, agent: int,
            candidates: list[tuple[str, PoolPlay]], reference: float, start: str) -> BestResponseRow:
    """The best of ``candidates`` (``(label, play)``) chosen on the evaluation seed, its row decided on a
    fresh stream with sequential evaluation (:func:`pbt_econ.equilibrium.sequential.decide`).

    ``violated`` rests on the chosen candidate's fresh interval alone. ``verified`` also needs every other
    candidate's upper bound below the tolerance on the sweep's stream, simultaneously
    (:func:`~pbt_econ.equilibrium.sequential.certificate_z`); a candidate not yet excluded is evaluated again
    on the sweep's stream at each later look, and the row counts those left (``candidates_open``).
    """
    episodes, seed, base = config.eval_episodes, config.eval_seed, befores.spec
    tolerance = config.tolerance.get(agent_type, math.inf)

    def sweep(n: int, label: str, play: PoolPlay) -> tuple[float, list[float], float]:
        """``(gain, paired differences, reference)`` of one candidate on the sweep's stream at ``n`` episodes."""
        before = own_returns(befores(seed, n)[agent_type], scope, agent)
        after = own_returns(per_agent_returns(member, base, n, seed, pool_play=(play,))[agent_type], scope, agent)
        ref = reference if math.isfinite(reference) and reference > 0 else abs(sum(before) / len(before))
        d = [a - b for a, b in zip(after, before)]
        return sum(d) / len(d), d, ref

    swept = [(sweep(episodes, label, play), label, play) for label, play in candidates]
    chosen = max(range(len(swept)), key=lambda i: (swept[i][0][0], -i))
    _, label, play = swept[chosen]
    z_chosen, z_others = certificate_z(config.sequential_cap, len(candidates))
    others = {i: s[0] for i, s in enumerate(swept) if i != chosen}
    fresh = decision_seed(seed)

    def row_at(n: int, z: float) -> BestResponseRow:
        own_before = own_returns(befores(fresh, n)[agent_type], scope, agent)
        own_after = own_returns(per_agent_returns(member, base, n, fresh, pool_play=(play,))[agent_type], scope, agent)
        r_before = sum(own_before) / len(own_before)
        row = make_row(member_id=member.member_id, agent_type=agent_type, start=start, episodes=0,
                       before=own_before, after=own_after,
                       untrained=r_before - reference if math.isfinite(reference) else math.nan,
                       tolerance=tolerance, member_episode=member.episode,
                       eval_seed=fresh, deviation=scope, agent=agent, action=label, eval_episodes=n, z=z,
                       selection_seed=seed)
        for i in list(others):  # exclude every other candidate simultaneously, or keep it open
            if n != episodes:
                others[i] = sweep(n, swept[i][1], swept[i][2])
            gain, d, ref = others[i]
            _, below, above = skewed_interval(d, z_others)
            if verdict(gain, below, ref, tolerance, upper=above) == "verified":
                del others[i]
        if others and row.interval_verdict == "verified":
            row = dataclasses.replace(row, verdict="inconclusive", interval_verdict="inconclusive")
        return dataclasses.replace(row, candidates_open=len(others))

    return decide(row_at, episodes, config.sequential_cap, z=z_chosen)


def certificate_rows(member, config, reference: dict[str, float], befores: Befores | None = None) -> list[BestResponseRow]:
    """The best type-level and unilateral constant deviation of every certifiable type, as rows.

    ``reference[type]`` is the denominator of the relative gain (training improvement, else ``|before|``);
    ``befores`` (optional) the shared undeviated evaluations. Types with a fixed policy are certified too
    when ``config.check_fixed`` (their fixed action is "before").
    """
    if config.certificate_max_actions <= 0:
        return []
    grids = certifiable(member, config.certificate_max_actions, config.check_fixed)
    if not grids:
        return []
    befores = befores or Befores(member, with_fixed(evaluation_spec(member.types, member.episode), member.fixed))
    rows = []
    for t, actions in grids.items():
        count = befores(config.eval_seed, config.eval_episodes)[t].shape[1]
        for scope, j in [("type", -1)] + [("unilateral", j) for j in spread_agents(count, config.unilateral_agents)]:
            candidates = [(member.economy.describe_action(t, a), constant_play(member, t, scope, j, a)) for a in actions]
            rows.append(certify(member, config, befores, t, scope, j, candidates, reference.get(t, math.nan),
                                "constant"))
    return rows
