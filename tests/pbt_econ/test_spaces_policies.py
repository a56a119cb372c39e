"""Tests of action spaces, masks, observations and policy sampling."""

from __future__ import annotations

import math

import pytest
import torch

from pbt_econ.economies.rbc.observe import symlog
from pbt_econ.economies.rbc.spaces import ActionSpaces, SpacesConfig
from pbt_econ.economy import EconomyConfig
from pbt_econ.learning import policies


def test_decode_and_masks():
    econ = EconomyConfig(num_consumers=2, num_firms=2)
    sp = ActionSpaces(SpacesConfig(), econ, "cpu", torch.float32)
    assert (sp.consumer_heads, sp.consumer_width, sp.firm_width, sp.government_width) == (4, 11, 30, 36)
    # firm joint index: price-major; 6 prices x 5 wages x 1 invest. Index 2*5 + 3 -> price 1000, wage 33.
    cons = torch.tensor([[[3, 10, 4, 1], [0, 0, 0, 0]]])
    a = sp.decode(cons, torch.tensor([[13, 29]]), torch.tensor([1 * 6 + 5]))
    assert a.consumption[0, 0].tolist() == [3.0, 10.0] and a.hours[0].tolist() == [1040.0, 0.0]
    assert a.employer[0].tolist() == [1, 0] and a.employer.dtype == torch.int64
    assert a.price[0].tolist() == [1000.0, 2500.0] and a.wage[0].tolist() == [33.0, 44.0]
    assert a.income_tax.item() == pytest.approx(0.2) and a.corporate_tax.item() == pytest.approx(1.0)
    # firm mask at progress 0: only price 1000, wage 22 (index 2*5 + 2 = 12); at 0.5: prices 500..1750 -> 500,1000,1500
    m0 = sp.firm_mask(0.0, 1000.0, 22.0)[0]
    assert m0.nonzero().flatten().tolist() == [12]
    m_half = sp.firm_mask(0.5, 1000.0, 22.0)[0].reshape(6, 5)
    assert m_half.any(1).nonzero().flatten().tolist() == [1, 2, 3]
    assert m_half.any(0).nonzero().flatten().tolist() == [1, 2, 3]  # wages 11..33
    assert bool(sp.firm_mask(1.0, 1000.0, 22.0).all())
    g = sp.government_mask(0.5, 0.0, 0.0)[0].reshape(6, 6)
    assert g.any(1).nonzero().flatten().tolist() == [0, 1, 2]


def test_symlog_keeps_large_values_usable():
    x = torch.tensor([0.0, 1.0, 1e7, -5.0])
    y = symlog(x) / 10
    assert y[0] == 0 and 0 < y[1] < 0.1 and 1.5 < y[2] < 1.7 and y[3] < 0


def test_masked_sampling_never_picks_masked_choices_and_matches_probabilities():
    g = torch.Generator().manual_seed(0)
    logits = torch.log(torch.tensor([[0.2, 0.3, 0.5, 0.0]])).expand(20000, 1, 4)
    allowed = torch.tensor([[True, True, True, False]])
    logits = policies.masked_logits(torch.nan_to_num(logits, neginf=0.0), allowed)
    idx = policies.sample(logits, g)
    freq = torch.bincount(idx.flatten(), minlength=4).float() / idx.numel()
    assert freq[3] == 0
    assert freq[:3].tolist() == pytest.approx([0.2, 0.3, 0.5], abs=0.015)
    ent = policies.entropy(logits[:1])
    assert torch.isfinite(ent).all()
    assert ent.item() == pytest.approx(-(0.2 * math.log(0.2) + 0.3 * math.log(0.3) + 0.5 * math.log(0.5)), rel=1e-4)


def test_fused_log_prob_and_entropy_matches_autograd():
    torch.manual_seed(0)
    z = torch.randn(7, 3, 5, dtype=torch.float64, requires_grad=True)
    allowed = torch.ones(3, 5, dtype=torch.bool)
    allowed[2, 3:] = False
    idx = torch.tensor([[0, 4, 1]] * 7)

    def fused(z):
        return policies.log_prob_and_entropy(policies.masked_logits(z, allowed), idx)

    assert torch.autograd.gradcheck(fused, (z,))
    reference = (policies.log_prob(policies.masked_logits(z, allowed), idx),
                 policies.entropy(policies.masked_logits(z, allowed)))
    w1, w2 = torch.randn(7, dtype=torch.float64), torch.randn(7, dtype=torch.float64)
    a, b = fused(z), reference
    assert torch.allclose(a[0], b[0]) and torch.allclose(a[1], b[1])
    ga = torch.autograd.grad((a[0] * w1).sum() + (a[1] * w2).sum(), z)[0]
    gb = torch.autograd.grad((b[0] * w1).sum() + (b[1] * w2).sum(), z)[0]
    assert torch.allclose(ga, gb)
    assert torch.all(ga[:, 2, 3:] == 0)  # masked choices get no gradient
