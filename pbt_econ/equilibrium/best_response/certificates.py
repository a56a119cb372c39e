"""Exact certificates: every constant action of a small grid, tried as a deviation without training.

For each agent type whose policy has a single head of at most ``best_response.certificate_max_actions``
choices (in the RBC, two of its three types; a Cournot market's quantities), every allowed constant action ``a`` is evaluated

* **type-level**: every agent of the type plays ``a``, the other types keep their policies;
* **unilateral**: one agent ``j`` plays ``a``, every other agent (its own type included) keeps the
  shared policy; for ``best_response.unilateral_agents`` agents spread evenly over the type (a type
  with one agent has only the type-level deviation).

on the same evaluation seed and episodes as "before" (common random numbers: the other agents'
sampling draws are the same uniforms). The best constant action's gain is an exact lower bound on the
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
from pbt_econ.equilibrium.best_response.rows import BestResponseRow, decide, make_row
from pbt_econ.equilibrium.best_response.unilateral import spread_agents

__all__ = ["certificate_rows", "certifiable", "per_agent_returns"]


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


def _label(member, agent_type: str, action: int) -> str:
    return member.economy.describe_action(agent_type, action)


def certificate_rows(member, config, reference: dict[str, float], before_rewards=None) -> list[BestResponseRow]:
    """The best type-level and unilateral constant deviation of every certifiable type, as rows.

    ``reference[type]`` is the denominator of the relative gain (training improvement, else ``|before|``);
    ``before_rewards`` (optional) the per-agent returns of the undeviated evaluation. Types with a fixed
    policy are certified too when ``config.check_fixed`` (their fixed action is "before").
    """
    if config.certificate_max_actions <= 0:
        return []
    grids = certifiable(member, config.certificate_max_actions, config.check_fixed)
    if not grids:
        return []
    episodes, seed = config.eval_episodes, config.eval_seed
    base = with_fixed(evaluation_spec(member.types, member.episode), member.fixed)
    before = before_rewards or per_agent_returns(member, base, episodes, seed)
    befores = {episodes: before}
    rows = []
    for t, actions in grids.items():
        agents = spread_agents(before[t].shape[1], config.unilateral_agents)
        scopes = [("type", -1)] + [("unilateral", j) for j in agents]
        for scope, j in scopes:
            best = None
            for a in actions:
                after = per_agent_returns(member, _deviation_spec(base, t, a, scope, j), episodes, seed)[t]
                own_after = after.mean(-1) if scope == "type" else after[:, j]
                own_before = before[t].mean(-1) if scope == "type" else before[t][:, j]
                gain = float(own_after.mean() - own_before.mean())
                if best is None or gain > best[0]:
                    best = (gain, a, own_before.tolist(), own_after.tolist())
            _, a, own_before, own_after = best
            ref = reference.get(t, math.nan)
            r_before = sum(own_before) / len(own_before)
            untrained = r_before - ref if math.isfinite(ref) else math.nan

            def certificate_row(n, t=t, a=a, scope=scope, j=j, own_before=own_before, own_after=own_after,
                                untrained=untrained):
                if n != episodes:  # sequential evaluation: the same action on more episodes, same seed
                    spec = _deviation_spec(base, t, a, scope, j)
                    if n not in befores:
                        befores[n] = per_agent_returns(member, base, n, seed)
                    before_n = befores[n][t]
                    after_n = per_agent_returns(member, spec, n, seed)[t]
                    own_before = (before_n.mean(-1) if scope == "type" else before_n[:, j]).tolist()
                    own_after = (after_n.mean(-1) if scope == "type" else after_n[:, j]).tolist()
                return make_row(member_id=member.member_id, agent_type=t, start="constant", episodes=0,
                                before=own_before, after=own_after, untrained=untrained,
                                tolerance=config.tolerance.get(t, math.inf), member_episode=member.episode,
                                eval_seed=seed, deviation=scope, agent=j, action=_label(member, t, a),
                                eval_episodes=n)

            rows.append(decide(certificate_row, episodes, config.sequential_cap))
    return rows


def _deviation_spec(base, agent_type: str, action: int, scope: str, agent: int):
    """``base`` with ``agent_type`` playing the constant ``action``: the whole type, or agent ``agent`` alone."""
    changed = base.agent(agent_type)
    if scope == "type":
        changed = dataclasses.replace(changed, fixed_action=(action,))
    else:
        changed = dataclasses.replace(changed, override=((agent, (action,)),))
    return dataclasses.replace(base, agents={**base.agents, agent_type: changed})
