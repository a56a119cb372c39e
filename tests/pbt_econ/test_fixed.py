"""Fixed policies: a fixed type always plays its action, is never updated, is reported as fixed."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch

from pbt_econ.config.load import BestResponseConfig, load_config
from pbt_econ.core.errors import ConfigError
from pbt_econ.equilibrium.best_response import best_response
from pbt_econ.equilibrium.outcomes import outcome_row
from pbt_econ.learning.member import Member

SMALL = ["economy.num_consumers=4", "economy.num_firms=2", "training.batch_size=4", "training.log_every=5",
         "training.hidden_size=32", "curriculum=none"]


def test_fixed_government_plays_its_taxes_and_never_learns():
    cfg = load_config(overrides=SMALL + ["fixed={government: {income_tax: 0.2, corporate_tax: 0.6}}"])
    member = Member(cfg, seed=1)
    before = [p.clone() for p in member.policies["government"].parameters()]
    real_step = member.economy.step
    seen = []

    def spy(state, actions):
        seen.append((actions.income_tax.clone(), actions.corporate_tax.clone()))
        return real_step(state, actions)

    member.economy.step = spy
    rows = member.train(6)
    member.evaluate(1, seed=3)
    assert len(seen) == 7 * cfg.economy.episode_length
    assert all(torch.allclose(i, torch.tensor(0.2)) and torch.allclose(c, torch.tensor(0.6)) for i, c in seen)
    for p0, p1 in zip(before, member.policies["government"].parameters()):
        assert torch.equal(p0, p1)
    assert not any(r.learns_government for r in rows) and all(r.learns_consumer for r in rows)
    assert all(r.entropy_government == 0.0 and math.isnan(r.pg_loss_government) for r in rows)
    # Best response checks the others only; the outcome says the government was fixed.
    report = best_response(member, BestResponseConfig(episodes=1, eval_episodes=1))
    assert [r.agent_type for r in report.rows if r.start != "constant" and r.deviation == "type"] == ["consumer",
                                                                                                    "firm"]
    assert {r.agent_type for r in report.rows if r.deviation == "unilateral" and r.start == "learned"} == {
        "consumer", "firm"}  # the government has one agent: no unilateral deviation beyond its type-level one
    assert {r.agent_type for r in report.rows if r.start == "constant"} == {"firm"}  # not the fixed government
    row = outcome_row("m", "none", "none", 1, 6, {}, report.before.stats.descriptors, report.rows,
                      economy=cfg.economy_model, fixed_types=tuple(cfg.fixed))
    assert row.fixed_types == "government" and math.isnan(row.epsilon_abs_government)


def test_fixed_consumers_and_firms_decode_to_their_values():
    cfg = load_config(overrides=SMALL + [
        "fixed={consumer: {consumption: 3, hours: 520, employer: 1}, firm: {price: 1500, wage: 33, invest: 0.1}}"])
    member = Member(cfg, seed=2)
    real_step = member.economy.step
    seen = []
    member.economy.step = lambda s, a: (seen.append(a), real_step(s, a))[1]
    member.train(2)
    for a in seen:
        assert torch.all(a.consumption == 3) and torch.all(a.hours == 520) and torch.all(a.employer == 1)
        assert torch.all(a.price == 1500) and torch.all(a.wage == 33)
    assert member.fixed == {"consumer": (3, 3, 2, 1), "firm": (3 * 5 + 3,)}


@pytest.mark.parametrize(("fixed", "message"), [
    ("{government: {income_tax: 0.25, corporate_tax: 0.2}}", "fixed.government.income_tax = 0.25: not on the grid; "
                                                             "allowed: [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]"),
    ("{government: {income_tax: 0.2}}", "missing corporate_tax"),
    ("{government: {income_tax: 0.2, corporate_tax: 0.2, vat: 0.1}}", "fixed.government.vat: unknown action"),
    ("{bank: {rate: 0.1}}", "fixed.bank: unknown agent type"),
    ("{firm: {price: 1234, wage: 22, invest: 0.1}}", "fixed.firm.price = 1234"),
    ("{consumer: {consumption: 1, hours: 260, employer: 7}}", "fixed.consumer.employer = 7"),
    ("{consumer: {consumption: many, hours: 260, employer: 0}}", "consumption"),
])
def test_bad_fixed_values_name_the_field_and_the_allowed_values(fixed, message):
    with pytest.raises(ConfigError) as info:
        load_config(overrides=SMALL + [f"fixed={fixed}"])
    assert message in str(info.value)


def test_fixed_policy_survives_checkpoints(tmp_path):
    from pbt_econ.learning.member import load_member

    cfg = load_config(overrides=SMALL + ["fixed={government: {income_tax: 0.4, corporate_tax: 0.0}}"])
    member = Member(cfg, seed=3)
    member.train(2)
    member.save(tmp_path / "m.pt")
    again = load_member(tmp_path / "m.pt")
    assert again.fixed == member.fixed == {"government": (2 * 6 + 0,)}
    assert dataclasses.asdict(again.config)["fixed"] == {"government": {"income_tax": 0.4, "corporate_tax": 0.0}}
