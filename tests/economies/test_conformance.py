"""One conformance suite every built-in economy must pass (PettingZoo-style): purity, batch
independence, dtypes, seeding, shapes, masks, finite rewards, descriptors and invariants.

Each economy is built from its default config as the core builds it:
``entry.build(SimpleNamespace(economy=entry.config_class(), spaces=None), B, cpu, dtype)``.
"""

from __future__ import annotations

import dataclasses
import math
import types

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from pbt_econ.core.errors import ConfigError
from pbt_econ.economies.registry import BUILTIN, get_entry

KINDS = list(BUILTIN)
"""Every built-in economy (a new one is covered as soon as the registry lists it)."""
B = 3
CPU = torch.device("cpu")
STARTS = {"cournot": {"firm": {"quantity": 15.0}}, "coordination": {"agent": {"adopt": 1.0}}}
"""A non-default mask start per kind and masked type (the others are checked with the default start)."""


def build(kind: str, dtype: torch.dtype = torch.float32, batch_size: int = B):
    entry = get_entry(kind)
    return entry.build(types.SimpleNamespace(economy=entry.config_class(), spaces=None), batch_size, CPU, dtype)


def tensors_of(record) -> dict[str, torch.Tensor]:
    """Every tensor field of a state or action record (a dataclass or a mapping)."""
    items = record.items() if isinstance(record, dict) else ((f.name, getattr(record, f.name))
                                                             for f in dataclasses.fields(record))
    return {k: v for k, v in items if isinstance(v, torch.Tensor)}


def sample_indices(econ, generator: torch.Generator, progress: float = 1.0,
                   starts: dict | None = None) -> dict[str, torch.Tensor]:
    """Uniform random allowed indices ``{type: [B, n, H]}`` under each type's mask."""
    out = {}
    for t in econ.agent_types:
        mask = econ.mask(t.name, progress, (starts or {}).get(t.name, {})).expand(t.heads, t.width)
        probs = mask.to(torch.float64).repeat(econ.batch_size * t.count, 1, 1).reshape(-1, t.width)
        draws = torch.multinomial(probs, 1, generator=generator)
        out[t.name] = draws.reshape(econ.batch_size, t.count, t.heads)
    return out


def run_episode(econ, seed: int, progress: float = 1.0):
    """A full episode of random allowed actions; yields ``(state, actions, next_state, rewards, info)``."""
    gen = torch.Generator().manual_seed(seed)
    state = econ.reset(theta_scale=1.0)
    for _ in range(econ.episode_length):
        actions = econ.decode(sample_indices(econ, gen, progress))
        next_state, rewards, info = econ.step(state, actions)
        yield state, actions, next_state, rewards, info
        state = next_state


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_step_is_pure_shaped_and_finite(kind, dtype):
    econ = build(kind, dtype)
    assert econ.batch_size == B and econ.episode_length >= 1
    for state, actions, next_state, rewards, info in run_episode(econ, seed=1):
        before = {k: v.clone() for k, v in tensors_of(state).items()}
        obs = econ.observe(state)
        for t in econ.agent_types:
            assert obs[t.name].shape == (B, t.count, t.obs_size), t.name
            assert obs[t.name].dtype == dtype and bool(torch.isfinite(obs[t.name]).all()), t.name
        again, rewards2, _ = econ.step(state, actions)  # stepping twice from one state: same result
        for k, v in tensors_of(state).items():
            assert torch.equal(v, before[k]), f"step modified state.{k}"
        assert set(rewards) == {t.name for t in econ.agent_types}
        for t in econ.agent_types:
            r = rewards[t.name]
            assert r.shape == (B, t.count) and r.dtype == dtype, t.name
            assert bool(torch.isfinite(r).all()), f"non-finite {t.name} reward"
            assert torch.equal(r, rewards2[t.name])
        for k, v in tensors_of(next_state).items():
            assert torch.equal(v, tensors_of(again)[k]), k
        assert econ.invariants(state, actions, next_state, info) == []


@pytest.mark.parametrize("kind", KINDS)
def test_batch_rows_are_independent(kind):
    a, b = build(kind), build(kind)  # same config, same seed
    gen = torch.Generator().manual_seed(2)
    sa, sb = a.reset(), b.reset()
    for _ in range(min(3, a.episode_length)):
        idx = sample_indices(a, gen)
        other = {k: v.clone() for k, v in idx.items()}
        row0 = sample_indices(a, gen)
        for k in other:
            other[k][0] = row0[k][0]
        na, ra, ia = a.step(sa, a.decode(idx))
        nb, rb, ib = b.step(sb, b.decode(other))
        for k, v in tensors_of(na).items():
            assert torch.equal(v[1:], tensors_of(nb)[k][1:]), f"state.{k} rows 1.. depend on row 0"
        for k in ra:
            assert torch.equal(ra[k][1:], rb[k][1:]), f"{k} rewards rows 1.. depend on row 0"
        for k, v in tensors_of(dict(ia)).items():
            if v.dim() and v.shape[0] == B:
                assert torch.equal(v[1:], tensors_of(dict(ib))[k][1:]), f"info[{k}] rows 1.. depend on row 0"
        sa, sb = na, nb


@pytest.mark.parametrize("kind", KINDS)
def test_same_seed_same_numbers(kind):
    def trajectory():
        econ = build(kind, torch.float64)
        return [(tensors_of(n), r) for _, _, n, r, _ in run_episode(econ, seed=3)]

    for (state1, r1), (state2, r2) in zip(trajectory(), trajectory(), strict=True):
        assert all(torch.equal(v, state2[k]) for k, v in state1.items())
        assert all(torch.equal(v, r2[k]) for k, v in r1.items())


@pytest.mark.parametrize("kind", KINDS)
def test_reset_draws_from_the_callers_generator(kind):
    """Common random numbers: one economy object, two equally seeded generators -> the same shocks and the same
    episode (every random number of an episode comes from the generator passed to ``reset``), and the
    generator passed is the one that advances (the economy keeps no stream of its own across resets)."""
    econ = build(kind, torch.float64)

    def episode(seed: int):
        state = econ.reset(theta_scale=1.0, generator=torch.Generator().manual_seed(seed))
        actions_gen = torch.Generator().manual_seed(11)
        out = []
        for _ in range(econ.episode_length):
            state, rewards, _ = econ.step(state, econ.decode(sample_indices(econ, actions_gen)))
            out.append((tensors_of(state), rewards))
        return out

    first, other, again = episode(5), episode(6), episode(5)
    for (s1, r1), (s2, r2) in zip(first, again, strict=True):
        assert all(torch.equal(v, s2[k]) for k, v in s1.items())
        assert all(torch.equal(v, r2[k]) for k, v in r1.items())
    # an economy with shocks gives another episode on another seed; one without gives the same
    drew = torch.Generator().manual_seed(5)
    econ.reset(theta_scale=1.0, generator=drew)
    has_shocks = not torch.equal(drew.get_state(), torch.Generator().manual_seed(5).get_state())
    same = all(torch.equal(v, o[0][k]) for (s, _), o in zip(first, other) for k, v in s.items())
    assert same != has_shocks


@pytest.mark.parametrize("kind", KINDS)
def test_masks(kind):
    econ = build(kind)
    for t in econ.agent_types:
        full = econ.mask(t.name, 1.0, {})
        assert full.dtype == torch.bool and full.shape in ((t.heads, t.width), (1, t.width)), t.name
        if full.shape[0] == 1:
            assert bool(full.all()), f"{t.name}: the full mask must allow the whole grid"
        assert bool(full.any(-1).all()), f"{t.name}: a head with no allowed choice"
        for start in ({}, STARTS.get(kind, {}).get(t.name, {})):
            early = econ.mask(t.name, 0.0, start)
            assert early.shape == full.shape and early.dtype == torch.bool
            assert bool(early.any(-1).all()), f"{t.name}: empty mask at progress 0"
            assert bool((early <= full).all()), f"{t.name}: progress 0 allows what progress 1 does not"
            if t.mask_actions and full.shape[0] == 1 and t.width > 1:
                assert int(early.sum()) < t.width, f"{t.name}: a mask at progress 0 should restrict"


@pytest.mark.parametrize("kind", KINDS)
def test_summary_returns_the_declared_descriptors(kind):
    econ = build(kind)
    summary = econ.summary()
    returns = {t.name: torch.zeros(B, t.count) for t in econ.agent_types}
    final = None
    for state, actions, next_state, rewards, info in run_episode(econ, seed=4):
        summary.add(state, actions, info)
        returns = {k: returns[k] + rewards[k] for k in returns}
        final = next_state
    values = summary.finish(final, returns)
    names = [d.name for d in econ.descriptors]
    assert len(names) == len(set(names)) and set(values) == set(names)
    for name, v in values.items():
        assert isinstance(v, torch.Tensor) and v.dim() == 0 and bool(torch.isfinite(v)), name
    for t in econ.agent_types:
        rd = econ.reward_descriptor(t.name)
        assert rd in values and math.isclose(float(values[rd]), float(returns[t.name].mean()), rel_tol=1e-5)
    assert econ.fitness_descriptor in values
    floats = {k: float(v) for k, v in values.items()}
    assert isinstance(econ.trivial(floats), bool)
    assert any(r.test(floats) for r in econ.regimes) and all(r.rule for r in econ.regimes)
    assert econ.budgets(final) is None or set(econ.budgets(final)) <= {t.name for t in econ.agent_types}


@pytest.mark.parametrize("kind", KINDS)
@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2 ** 31 - 1), progress=st.floats(0.0, 1.0))
def test_invariants_hold_over_random_actions(kind, seed, progress):
    econ = build(kind, batch_size=2)
    for state, actions, next_state, rewards, info in run_episode(econ, seed, progress):
        assert econ.invariants(state, actions, next_state, info) == []
        assert all(bool(torch.isfinite(r).all()) for r in rewards.values())


FIXED = {"cournot": ("firm", "quantity", 15.0, (15,)), "growth": ("household", "savings", 0.34, (17,)),
         "coordination": ("agent", "adopt", 1.0, (1,))}


@pytest.mark.parametrize("kind", sorted(FIXED))
def test_fixed_indices_round_trip_and_name_bad_values(kind):
    econ = build(kind)
    agent_type, action, value, expected = FIXED[kind]
    assert econ.fixed_indices(agent_type, {action: value}) == expected
    decoded = econ.decode({agent_type: torch.tensor(expected).expand(B, econ.agent_types[0].count, 1)})
    assert torch.allclose(getattr(decoded, action), torch.tensor(value))
    with pytest.raises(ConfigError, match=f"fixed.{agent_type}.{action}"):
        econ.fixed_indices(agent_type, {action: 0.123456})
