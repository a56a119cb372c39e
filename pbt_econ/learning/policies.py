"""Shared actor-critic networks, one per agent type (docs/model.md §5).

A policy maps observations ``[N, D]`` to padded head logits ``[N, H, K]``
(the economy's :class:`~pbt_econ.economies.AgentType` layout) and a value ``[N]``. The trunk (two hidden
layers, ``ReLU``) is shared by actor and critic, which halves the matrix work
of a rollout.

Sampling draws one uniform number per head from an explicit
``torch.Generator`` (inverse CDF over all heads of all agents at once), so it
is reproducible for a given seed.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["MASKED_LOGIT", "ActorCritic", "entropy", "log_prob", "log_prob_and_entropy", "masked_logits", "sample",
           "sample_with_log_prob"]

MASKED_LOGIT = -1e9
"""Logit given to padded or masked choices: softmax weight exactly 0 in float32."""


class ActorCritic(nn.Module):
    """``obs [N, D] -> (logits [N, H, K], value [N])`` with ``H`` heads of width ``K``."""

    def __init__(self, obs_size: int, heads: int, width: int, hidden_size: int = 128) -> None:
        super().__init__()
        self.heads, self.width = heads, width
        self.trunk = nn.Sequential(
            nn.Linear(obs_size, hidden_size), nn.ReLU(), nn.Linear(hidden_size, hidden_size), nn.ReLU()
        )
        # Policy logits and the value in one output layer (one matrix product, not two).
        self.head = nn.Linear(hidden_size, heads * width + 1)
        with torch.no_grad():
            # Small initial logits: the untrained policy is close to uniform (CleanRL's init).
            nn.init.orthogonal_(self.head.weight[:-1], gain=0.01)
            nn.init.orthogonal_(self.head.weight[-1:], gain=1.0)
            nn.init.zeros_(self.head.bias)

    def forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.head(self.trunk(obs))
        logits = out[..., :-1].reshape(*obs.shape[:-1], self.heads, self.width)
        return logits, out[..., -1]


def masked_logits(logits: torch.Tensor, allowed: torch.Tensor) -> torch.Tensor:
    """Push disallowed choices (``allowed [H, K]`` or ``[1, K]``, broadcast) down to :data:`MASKED_LOGIT`.

    Implemented as adding a small constant bias (0 or ``MASKED_LOGIT``) rather than a
    ``where`` over the whole ``[N, H, K]`` tensor: the add's backward is free.
    """
    bias = torch.where(allowed, 0.0, MASKED_LOGIT).to(logits.dtype)
    return logits + bias


def sample_with_log_prob(logits: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """One choice per head and the joint log-probability: ``[..., H, K] -> ([..., H] int64, [...])``.

    Inverse-CDF sampling with one uniform number per head (not per choice, as
    Gumbel-max needs): ``u`` is scaled by the head's total probability so that
    rounding can never select a masked trailing choice, and a masked choice
    inside the grid has zero width in the CDF. Measured 1.6x faster than
    Gumbel-max and 3x faster than per-head ``torch.distributions`` on CPU.
    """
    logp = torch.log_softmax(logits, dim=-1)
    cdf = logp.exp().cumsum(dim=-1)
    u = torch.rand(cdf.shape[:-1] + (1,), generator=generator, device=cdf.device, dtype=cdf.dtype) * cdf[..., -1:]
    index = (cdf <= u).sum(dim=-1)
    return index, logp.gather(-1, index.unsqueeze(-1)).squeeze(-1).sum(-1)


def sample(logits: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """One choice per head: ``[..., H, K] -> [..., H]`` int64 (see :func:`sample_with_log_prob`)."""
    return sample_with_log_prob(logits, generator)[0]


def log_prob(logits: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """Joint log-probability of the choices ``index [..., H]``, summed over heads: ``[...]``."""
    logp = torch.log_softmax(logits, dim=-1)
    return logp.gather(-1, index.unsqueeze(-1)).squeeze(-1).sum(-1)


class _LogProbEntropy(torch.autograd.Function):
    r"""Fused log-probability and entropy of categorical heads, with a hand-written backward.

    Autograd through ``log_softmax``, ``exp``, ``mul``, ``sum`` and ``gather``
    makes about ten passes over the ``[N, H, K]`` head tensor in backward; the
    closed form below makes four. With ``p = softmax(z)``, ``H_h`` the entropy
    of head ``h``:

    .. math:: \partial \log p_a / \partial z = e_a - p, \qquad
              \partial H_h / \partial z = -p (\log p + H_h)
    """

    @staticmethod
    def forward(ctx, logits: torch.Tensor, index: torch.Tensor):
        logp = torch.log_softmax(logits, dim=-1)
        p = logp.exp()
        head_entropy = -(p * logp).sum(-1)  # [N, H]
        chosen = logp.gather(-1, index.unsqueeze(-1)).squeeze(-1)  # [N, H]
        ctx.save_for_backward(p, logp, head_entropy, index)
        return chosen.sum(-1), head_entropy.sum(-1)

    @staticmethod
    def backward(ctx, grad_logp: torch.Tensor | None, grad_entropy: torch.Tensor | None):
        p, logp, head_entropy, index = ctx.saved_tensors
        grad = torch.zeros_like(p)
        if grad_entropy is not None:
            grad = (logp + head_entropy.unsqueeze(-1)).mul_(p).mul_(-grad_entropy[:, None, None])
        if grad_logp is not None:
            g = grad_logp[:, None, None]
            grad.sub_(p * g)
            grad.scatter_add_(-1, index.unsqueeze(-1), g.expand(*index.shape, 1).contiguous())
        return grad, None


def log_prob_and_entropy(logits: torch.Tensor, index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`log_prob` and :func:`entropy` at once, ``[N, H, K], [N, H] -> ([N], [N])`` (PPO's hot path)."""
    return _LogProbEntropy.apply(logits, index)


def entropy(logits: torch.Tensor) -> torch.Tensor:
    """Entropy summed over heads (nats): ``[..., H, K] -> [...]``."""
    logp = torch.log_softmax(logits, dim=-1)
    return -(logp.exp() * logp).sum(-1).sum(-1)
