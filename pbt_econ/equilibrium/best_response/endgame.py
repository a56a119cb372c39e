"""End-game certificates: one constant action at one of the last steps of a finite episode.

A finite-horizon economy has an end game. In the RBC a firm's action at step ``t`` sets the price and
wage of step ``t + 1``, and consumers' income of the last step can no longer be spent, so what a firm
sets at step ``T - 2`` (the last step's price and wage) is the one end-game move that cannot be punished
(docs/model.md §11). A policy that plays the same rule at every step can leave such a move unexploited,
and a shared consumer policy that never saw it on the training path has learned no response to it.

For each certifiable type (a single head of at most ``certificate_max_actions`` choices), each of the
last ``best_response.endgame_steps`` steps ``s`` and each allowed action ``a``: the deviating agents
(the whole type, and each of ``unilateral_agents`` single agents) play ``a`` at step ``s`` only and
their policy everywhere else (the constant certificates' one mechanism,
:func:`~.certificates.constant_play` with ``steps=(s,)``), on the same evaluation seed and episodes as
"before" (common random numbers). The best ``(s, a)`` per scope, chosen on the evaluation seed and decided
on a fresh stream like a constant certificate (:func:`~.certificates.certify`), becomes a row with
``start = "endgame"`` and ``action = "step=<s>:<action>"``: an exact lower bound on that deviation kind's ε.
"""

from __future__ import annotations

import math

from pbt_econ.config.episode import evaluation_spec, with_fixed
from pbt_econ.equilibrium.best_response.certificates import Befores, certifiable, certify, constant_play
from pbt_econ.equilibrium.best_response.rows import BestResponseRow
from pbt_econ.equilibrium.best_response.unilateral import spread_agents

__all__ = ["endgame_label", "endgame_rows", "parse_endgame_label"]


def endgame_label(step: int, action: str) -> str:
    """``(8, "price=2500,...")`` -> ``"step=8:price=2500,..."``."""
    return f"step={step}:{action}"


def parse_endgame_label(label: str) -> tuple[int, str]:
    """``"step=8:price=2500,..."`` -> ``(8, "price=2500,...")``."""
    head, _, rest = label.partition(":")
    return int(head.removeprefix("step=")), rest


def endgame_rows(member, config, reference: dict[str, float], befores: Befores | None = None) -> list[BestResponseRow]:
    """The best end-game deviation of every certifiable type, type-level and unilateral, as rows."""
    steps_back = min(config.endgame_steps, member.economy.episode_length)
    if steps_back <= 0 or config.certificate_max_actions <= 0:
        return []
    grids = certifiable(member, config.certificate_max_actions, check_fixed=False)
    if not grids:
        return []
    T = member.economy.episode_length
    befores = befores or Befores(member, with_fixed(evaluation_spec(member.types, member.episode), member.fixed))
    rows = []
    for t, actions in grids.items():
        count = befores(config.eval_seed, config.eval_episodes)[t].shape[1]
        for scope, j in [("type", -1)] + [("unilateral", j) for j in spread_agents(count, config.unilateral_agents)]:
            candidates = [(endgame_label(step, member.economy.describe_action(t, a)),
                           constant_play(member, t, scope, j, a, steps=(step,)))
                          for step in range(T - steps_back, T) for a in actions]
            rows.append(certify(member, config, befores, t, scope, j, candidates, reference.get(t, math.nan),
                                "endgame"))
    return rows
