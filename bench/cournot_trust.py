"""Does the framework's ε see what the exact answer sees? Cournot profiles with known gains (issue 19 targets).

For the collusive profile (every firm's shared policy peaked at the collusive quantity) and for a
learned profile (trained from scratch), compares the framework's best response with the closed form
of the very policy checked (its softmax probabilities over the grid, :mod:`pbt_econ.economies.cournot.solution`):

* trained unilateral ε (one firm's own copy, trained on its own profit) vs the exact unilateral gain;
* unilateral and type-level certificates vs the exact gains (best constant deviations);
* the verdicts (unilateral: the Nash verdict; type-level: the paper's).

Prints one block per profile and seed, and the ratio trained/exact. Usage:
    python bench/cournot_trust.py [--seeds 0 1 2] [--episodes 200] [--peak 6.0]
"""

from __future__ import annotations

import argparse
import dataclasses

import numpy as np
import torch

from pbt_econ.config.load import load_config
from pbt_econ.economies.cournot import solution
from pbt_econ.equilibrium.best_response import best_response
from pbt_econ.learning.member import Member


def policy_probs(member: Member) -> np.ndarray:
    from pbt_econ.learning import policies

    econ = member.economy
    obs = econ.observe(econ.reset())["firm"][:1, :1]
    with torch.no_grad():
        logits, _ = member.policies["firm"](obs)
    logits = policies.masked_logits(logits, econ.mask("firm", 1.0, {}))
    return torch.softmax(logits.reshape(-1).double(), -1).numpy()


def peaked(member: Member, quantity: float, peak: float) -> None:
    """Make the firm policy play ``quantity`` with logit advantage ``peak`` over every other choice."""
    grid = list(member.config.economy.quantities)
    head = member.policies["firm"].head
    with torch.no_grad():
        head.weight[:-1].zero_()
        head.bias[:-1].zero_()
        head.bias[grid.index(quantity)] = peak


def check(member: Member, label: str, episodes: int) -> dict:
    e = member.config.economy
    grid = list(e.quantities)
    probs = policy_probs(member)
    exact_u = solution.unilateral_gain(probs, grid, e.a, e.b, e.c, e.num_firms).gain * e.episode_length
    exact_t = solution.type_level_gain(probs, grid, e.a, e.b, e.c, e.num_firms).gain * e.episode_length
    cfg = dataclasses.replace(member.config.best_response, episodes=episodes, unilateral_agents=1)
    rows = best_response(member, cfg).rows
    pick = {(r.start, r.deviation): r for r in rows}
    tu, cu = pick[("learned", "unilateral")], pick[("constant", "unilateral")]
    tt, ct = pick[("learned", "type")], pick[("constant", "type")]
    print(f"{label}: mean quantity {float(np.dot(probs, grid)):.2f}")
    print(f"  unilateral: exact {exact_u:9.3f}  trained {tu.epsilon_abs:9.3f} (±{tu.gain_ci95:.3g}, "
          f"{tu.verdict}, converged {tu.converged})  certificate {cu.epsilon_abs:9.3f} ({cu.action}, {cu.verdict})")
    print(f"  type-level: exact {exact_t:9.3f}  trained {tt.epsilon_abs:9.3f} ({tt.verdict})  "
          f"certificate {ct.epsilon_abs:9.3f} ({ct.action}, {ct.verdict})")
    ratio = tu.epsilon_abs / exact_u if exact_u > 0 else float("nan")
    print(f"  RATIO trained unilateral / exact unilateral = {ratio:.3f}")
    return {"ratio": ratio, "verdict": tu.verdict, "cert_verdict": cu.verdict}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--episodes", type=int, default=200)
    parser.add_argument("--peak", type=float, default=6.0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    for seed in args.seeds:
        config = load_config("configs/cournot.yaml", [f"seed={seed}"])
        e = config.economy
        collusive = solution.collusive_quantity(e.a, e.b, e.c, e.num_firms)
        m = Member(config, seed=seed)
        peaked(m, collusive, args.peak)
        check(m, f"seed {seed} collusive profile (q={collusive:g}, peak {args.peak:g})", args.episodes)
        learned = Member(config, seed=seed)
        learned.train(config.training.episodes)
        check(learned, f"seed {seed} learned profile ({config.training.episodes} episodes)", args.episodes)


if __name__ == "__main__":
    main()
