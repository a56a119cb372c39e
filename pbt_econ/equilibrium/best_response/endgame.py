"""End-game certificates: one constant action at one of the last steps of a finite episode.

A finite-horizon economy has an end game. In the RBC a firm's action at step ``t`` sets the price and
wage of step ``t + 1``, and consumers' income of the last step can no longer be spent, so what a firm
sets at step ``T - 2`` (the last step's price and wage) is the one end-game move that cannot be punished
(docs/model.md §11). A policy that plays the same rule at every step can leave such a move unexploited,
and a shared consumer policy that never saw it on the training path has learned no response to it.

For each certifiable type (a single head of at most ``certificate_max_actions`` choices), each of the
last ``best_response.endgame_steps`` steps ``s`` and each allowed action ``a``: the deviating agents
(the whole type, and each of ``unilateral_agents`` single agents) play ``a`` at step ``s`` only and
their policy everywhere else (:class:`~pbt_econ.learning.rollout.PoolPlay` with ``steps=(s,)``), on the
same evaluation seed and episodes as "before" (common random numbers). The best ``(s, a)`` per scope
becomes a row with ``start = "endgame"`` and ``action = "step=<s>:<action>"``: an exact lower bound on
that deviation kind's ε, like the constant certificates (:mod:`.certificates`).
"""

from __future__ import annotations

import math

import torch

from pbt_econ.config.episode import evaluation_spec, with_fixed
from pbt_econ.equilibrium.best_response.certificates import certifiable, per_agent_returns
from pbt_econ.equilibrium.best_response.rows import BestResponseRow, decide, make_row
from pbt_econ.equilibrium.best_response.unilateral import spread_agents
from pbt_econ.learning.rollout import PoolPlay

__all__ = ["endgame_play", "endgame_rows", "parse_endgame_label"]


def endgame_play(member, agent_type: str, scope: str, agent: int, action: int, step: int) -> PoolPlay:
    """Every copy: the whole type (``scope = "type"``) or agent ``agent`` plays ``action`` at ``step`` only."""
    counts = {a.name: a.count for a in member.economy.agent_types}
    batch = member.economy.batch_size
    agents = torch.zeros(counts[agent_type], dtype=torch.bool, device=member.device)
    if scope == "type":
        agents[:] = True
    else:
        agents[agent] = True
    return PoolPlay(agent_type=agent_type, copies=torch.ones(batch, dtype=torch.bool, device=member.device),
                    agents=agents, action=(action,), steps=(step,))


def parse_endgame_label(label: str) -> tuple[int, str]:
    """``"step=8:price=2500,..."`` -> ``(8, "price=2500,...")``."""
    head, _, rest = label.partition(":")
    return int(head.removeprefix("step=")), rest


def endgame_rows(member, config, reference: dict[str, float], before_rewards=None) -> list[BestResponseRow]:
    """The best end-game deviation of every certifiable type, type-level and unilateral, as rows."""
    steps_back = min(config.endgame_steps, member.economy.episode_length)
    if steps_back <= 0 or config.certificate_max_actions <= 0:
        return []
    grids = certifiable(member, config.certificate_max_actions, check_fixed=False)
    if not grids:
        return []
    T = member.economy.episode_length
    episodes, seed = config.eval_episodes, config.eval_seed
    base = with_fixed(evaluation_spec(member.types, member.episode), member.fixed)
    befores = {episodes: before_rewards or per_agent_returns(member, base, episodes, seed)}

    def own(returns: torch.Tensor, scope: str, j: int) -> list[float]:
        return (returns.mean(-1) if scope == "type" else returns[:, j]).tolist()

    rows = []
    for t, actions in grids.items():
        agents = spread_agents(befores[episodes][t].shape[1], config.unilateral_agents)
        for scope, j in [("type", -1)] + [("unilateral", j) for j in agents]:
            best = None
            for step in range(T - steps_back, T):
                for a in actions:
                    play = endgame_play(member, t, scope, j, a, step)
                    after = own(per_agent_returns(member, base, episodes, seed, pool_play=(play,))[t], scope, j)
                    before = own(befores[episodes][t], scope, j)
                    gain = sum(after) / len(after) - sum(before) / len(before)
                    if best is None or gain > best[0]:
                        best = (gain, step, a)
            _, step, a = best
            ref = reference.get(t, math.nan)

            def endgame_row(n, t=t, scope=scope, j=j, step=step, a=a, ref=ref):
                if n not in befores:
                    befores[n] = per_agent_returns(member, base, n, seed)
                play = endgame_play(member, t, scope, j, a, step)
                before = own(befores[n][t], scope, j)
                after = own(per_agent_returns(member, base, n, seed, pool_play=(play,))[t], scope, j)
                r_before = sum(before) / len(before)
                return make_row(member_id=member.member_id, agent_type=t, start="endgame", episodes=0,
                                before=before, after=after,
                                untrained=r_before - ref if math.isfinite(ref) else math.nan,
                                tolerance=config.tolerance.get(t, math.inf), member_episode=member.episode,
                                eval_seed=seed, deviation=scope, agent=j,
                                action=f"step={step}:{member.economy.describe_action(t, a)}", eval_episodes=n)

            rows.append(decide(endgame_row, episodes, config.sequential_cap))
    return rows
