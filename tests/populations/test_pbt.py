"""PBT decisions without Ray: quantiles, niches, exploit choices, explore ranges, lineage text."""

from __future__ import annotations

import math
import random

import pytest

from pbt_econ.config.load import SearchParam
from populations.pbt import perturb, plan_exploits, quantile_split


def test_quantile_split_ranks_and_handles_nan():
    fitness = {"a": 1.0, "b": 5.0, "c": math.nan, "d": 3.0, "e": 4.0, "f": 2.0, "g": 0.5, "h": 6.0}
    bottom, top = quantile_split(fitness, 0.25)
    assert bottom == ["c", "g"] and top == ["h", "b"]
    assert quantile_split({"a": 1.0}, 0.25) == ([], [])
    assert quantile_split({"a": 1.0, "b": 2.0}, 0.25) == (["a"], ["b"])  # at least one of each
    assert quantile_split({"a": 1.0, "b": 2.0}, 0.0) == ([], [])


def test_exploit_stays_within_niches():
    fitness = {"p1": 10.0, "p2": 1.0, "p3": 5.0, "p4": 7.0, "n1": 100.0, "n2": 50.0}
    niches = {"p1": "paper", "p2": "paper", "p3": "paper", "p4": "paper", "n1": "none", "n2": "none"}
    decisions = plan_exploits(fitness, niches, 0.25, random.Random(0))
    assert {(d.child, d.parent, d.niche) for d in decisions} == {("p2", "p1", "paper"), ("n2", "n1", "none")}
    for d in decisions:
        assert niches[d.child] == niches[d.parent]
        assert d.parent_fitness > d.child_fitness
    # One niche of everything: the globally worst copies the globally best.
    flat = plan_exploits(fitness, {m: "all" for m in fitness}, 0.2, random.Random(0))
    assert [(d.child, d.parent) for d in flat] == [("p2", "n1")]


def test_no_exploit_between_equal_members():
    assert plan_exploits({"a": 1.0, "b": 1.0}, {"a": "x", "b": "x"}, 0.5, random.Random(0)) == []


def test_perturb_stays_in_range_and_describes_changes():
    space = {"training.consumer.lr": SearchParam(low=1e-4, high=1e-2, log=True),
             "training.update_epochs": SearchParam(low=1, high=4, integer=True)}
    rng = random.Random(3)
    values = {"training.consumer.lr": 0.0099, "training.update_epochs": 4.0}
    seen_resample = seen_factor = False
    for _ in range(200):
        new, notes = perturb(values, space, rng, (0.8, 1.25), 0.3)
        assert 1e-4 <= new["training.consumer.lr"] <= 1e-2
        assert new["training.update_epochs"] in (1.0, 2.0, 3.0, 4.0)
        assert len(notes) == 2 and all("--(" in n and ")-->" in n for n in notes)
        seen_resample |= any("resample" in n for n in notes)
        seen_factor |= any("*1.25" in n or "*0.8" in n for n in notes)
    assert seen_resample and seen_factor
    new, notes = perturb({"training.consumer.lr": 0.0099}, space, random.Random(1), (1.25,), 0.0)
    assert new["training.consumer.lr"] == 1e-2  # 0.0099 * 1.25 clipped to high
    assert notes == ["training.consumer.lr: 0.0099 --(*1.25)--> 0.01"]


class FakeTrials:
    """Records every open(); proposes lr = 0.005 for sampler-driven explores."""

    def __init__(self):
        self.opened = []

    def open(self, member, segment, niche, episode, fixed):
        self.opened.append((member, segment, niche, episode, dict(fixed)))
        params = {"training.consumer.lr": 0.005, **fixed}
        return len(self.opened) - 1, params


def test_plan_step_is_a_pure_decision():
    import random

    from pbt_econ.config.load import PopulationConfig, SearchParam
    from populations.pbt import plan_step

    space = {"training.consumer.lr": SearchParam(1e-4, 1e-2, log=True),
             "curriculum.time_scale": SearchParam(0.001, 0.01)}
    members = [(m, "paper" if m in ("a", "b") else "none", {"training.consumer.lr": lr, "curriculum.time_scale": ts})
               for m, lr, ts in (("a", 0.001, 0.005), ("b", 0.002, 0.006), ("c", 0.003, 0.007), ("d", 0.004, 0.008))]
    fitness = {"a": 1.0, "b": 5.0, "c": 9.0, "d": 2.0}
    niches = {m: n for m, n, _ in members}
    for explore in ("optuna", "perturb"):
        trials = FakeTrials()
        plans = plan_step(members, fitness, niches, space, PopulationConfig(explore=explore, quantile=0.5),
                          trials, random.Random(0), segment=3, episode=300)
        assert [p.member_id for p in plans] == ["a", "b", "c", "d"]
        assert [(o[0], o[1], o[3]) for o in trials.opened] == [(m, 4, 300) for m in "abcd"]
        exploited = {p.member_id: p.exploit for p in plans if p.exploit}
        assert {c: (e.parent, e.niche) for c, e in exploited.items()} == {"a": ("b", "paper"), "d": ("c", "none")}
        a, b = plans[0], plans[1]
        assert b.exploit is None and b.hyperparameters == members[1][2] and b.notes == ()
        assert a.hyperparameters["curriculum.time_scale"] == 0.005  # the child keeps its own curriculum values
        assert a.explore == explore and a.notes and a.notes[0].startswith("training.consumer.lr: 0.002 --(")
        if explore == "optuna":
            assert a.hyperparameters["training.consumer.lr"] == 0.005
            assert trials.opened[0][4] == {"curriculum.time_scale": 0.005}  # the sampler draws the rest
        else:
            assert 1e-4 <= a.hyperparameters["training.consumer.lr"] <= 1e-2
            assert trials.opened[0][4]["training.consumer.lr"] == a.hyperparameters["training.consumer.lr"]


def test_plan_step_with_restarts_copies_elites_instead_of_niche_tops():
    import random

    from pbt_econ.config.load import PopulationConfig, SearchParam
    from populations.archive import Elite, Restart
    from populations.pbt import plan_step

    space = {"training.consumer.lr": SearchParam(1e-4, 1e-2, log=True)}
    members = [(m, "paper", {"training.consumer.lr": lr}) for m, lr in (("a", 0.001), ("b", 0.002), ("c", 0.003))]
    fitness = {"a": 1.0, "b": 5.0, "c": 9.0}
    e = Elite("z", 40, 0.5, 0.5, True, 0.01, 3.0, {"training.consumer.lr": 0.0042}, "archive/e.pt")
    trials = FakeTrials()
    plans = plan_step(members, fitness, {m: "paper" for m in fitness}, space,
                      PopulationConfig(explore="perturb", quantile=0.5, resample_probability=0.0), trials,
                      random.Random(0), segment=1, episode=200, restarts=[Restart("c", (2, 2), e, 9.0)])
    by_id = {p.member_id: p for p in plans}
    assert by_id["a"].exploit is None  # the bottom of the niche is NOT exploited in a quality-diversity step
    assert isinstance(by_id["c"].exploit, Restart) and by_id["c"].exploit.parent == "z"
    assert by_id["c"].notes[0].startswith("training.consumer.lr: 0.0042 --(*")  # explores from the elite's values
    assert by_id["c"].hyperparameters["training.consumer.lr"] in (pytest.approx(0.0042 * 0.8),
                                                                  pytest.approx(0.0042 * 1.25))


def test_ranking_by_equilibrium_prefers_the_member_closer_to_equilibrium():
    """With scores, the member whose best constant deviation gains 3x its tolerance copies the one within
    tolerance although its welfare is higher; within every tolerance (score <= 1) welfare decides."""
    fitness = {"rich": 900.0, "stable": 400.0}
    niches = {"rich": "paper", "stable": "paper"}
    assert [(d.child, d.parent) for d in plan_exploits(fitness, niches, 0.25, random.Random(0))] == [("stable", "rich")]
    decisions = plan_exploits(fitness, niches, 0.25, random.Random(0), scores={"rich": 3.0, "stable": 0.4})
    assert [(d.child, d.parent, d.child_score, d.parent_score) for d in decisions] == [("rich", "stable", 3.0, 0.4)]
    both_within = plan_exploits(fitness, niches, 0.25, random.Random(0), scores={"rich": 0.9, "stable": 0.2})
    assert [(d.child, d.parent) for d in both_within] == [("stable", "rich")]
    unknown = plan_exploits(fitness, niches, 0.25, random.Random(0), scores={"rich": math.nan, "stable": 2.0})
    assert [(d.child, d.parent) for d in unknown] == [("rich", "stable")]  # no score ranks lowest
    assert quantile_split({"a": 5.0, "b": 1.0, "c": 3.0}, 0.34, {"a": 2.0, "b": 1.5, "c": 0.1}) == (["a"], ["c"])
