"""Closed forms of the technology-adoption game (docs/ground-truth.md, "Coordination"); pure Python.

``N`` agents each choose to adopt (1) or idle (0). With ``m`` adopters
(counting oneself) an adopter earns :math:`\\theta m / N - \\kappa` per step and an
idler earns 0: adoption has increasing returns (market thickness).

**Pure equilibria.** A profile with ``m`` adopters is an equilibrium iff no
adopter gains by idling, :math:`\\theta m / N - \\kappa \\ge 0` (if :math:`m \\ge 1`),
and no idler gains by adopting, :math:`\\theta (m + 1) / N - \\kappa \\le 0` (if
:math:`m \\le N - 1`). An interior ``0 < m < N`` would need
:math:`m \\ge \\kappa N / \\theta \\ge m + 1`, impossible; so only all-idle
(iff :math:`\\kappa \\ge \\theta / N`) and all-adopt (iff :math:`\\kappa \\le \\theta`) can be
equilibria. For :math:`\\theta / N < \\kappa < \\theta` both are, strictly; for
:math:`\\kappa < \\theta / N` adopting is dominant (only all-adopt); for
:math:`\\kappa > \\theta` idling is dominant (only all-idle); at the boundaries the
equilibrium is weak (an agent is indifferent).

**Mixed equilibrium.** If every agent adopts with probability ``p``, the
others' adopters are :math:`M \\sim \\text{Binomial}(N - 1, p)` and the advantage of
adopting is :math:`g(p) = \\theta (1 + (N - 1) p) / N - \\kappa` (linear in ``p`` because
payoffs are linear in ``m``). Indifference :math:`g(p) = 0` gives
:math:`p^* = (\\kappa N / \\theta - 1) / (N - 1)`, in (0, 1) iff
:math:`\\theta / N < \\kappa < \\theta`; every agent's expected payoff there is 0.

**Stability.** Under myopic learning the adoption probability moves with its
advantage, :math:`\\dot p \\propto g(p)` (gradient ascent on the policy; the
replicator dynamics :math:`\\dot p = p (1 - p) g(p)` have the same signs inside (0, 1)).
Since :math:`g'(p) = \\theta (N - 1) / N > 0`, a perturbation above :math:`p^*` makes
adopting strictly better and ``p`` rises further: the mixed equilibrium is
**unstable**, the boundary between two basins. At ``p = 0``,
:math:`g(0) = \\theta / N - \\kappa < 0` pushes ``p`` back to 0, and at ``p = 1``,
:math:`g(1) = \\theta - \\kappa > 0` pushes it back to 1: strict pure equilibria are
**stable**. A weak pure equilibrium (``g = 0`` at the boundary) is not
asymptotically stable and is reported unstable.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Equilibrium", "adoption_advantage", "expected_payoff", "is_stable", "mixed_equilibrium",
           "pure_equilibria", "stable"]


@dataclass(frozen=True)
class Equilibrium:
    """One symmetric-outcome equilibrium of the stage game."""

    kind: str
    """``"pure"`` or ``"mixed"``."""
    adoption: float
    """Fraction of agents adopting (pure: ``m / N``) or the adoption probability (mixed)."""
    adopters: float
    """Number of adopters ``m`` (pure) or its expectation ``N p`` (mixed)."""
    payoff: float
    """Mean (expected) payoff per agent per step."""


def adoption_advantage(p: float, n: int, theta: float, kappa: float) -> float:
    """Expected gain of adopting over idling when the others adopt w.p. ``p``.

    :math:`g(p) = \\theta (1 + (N - 1) p) / N - \\kappa`.
    """
    return theta * (1.0 + (n - 1) * p) / n - kappa


def expected_payoff(p: float, n: int, theta: float, kappa: float) -> float:
    """Expected payoff per agent per step when every agent adopts independently w.p. ``p``: :math:`p \\, g(p)`."""
    return p * adoption_advantage(p, n, theta, kappa)


def pure_equilibria(n: int, theta: float, kappa: float) -> list[Equilibrium]:
    """Every pure equilibrium, by exact enumeration of the number of adopters ``m = 0..N`` (module docstring).

    Payoffs are symmetric, so whether a profile is an equilibrium depends only
    on ``m``; each listed ``m`` stands for all :math:`\\binom{N}{m}` profiles with that many adopters.
    """
    found = []
    for m in range(n + 1):
        adopter_payoff = theta * m / n - kappa
        adopters_stay = m == 0 or adopter_payoff >= 0.0
        idlers_stay = m == n or theta * (m + 1) / n - kappa <= 0.0
        if adopters_stay and idlers_stay:
            found.append(Equilibrium("pure", m / n, float(m), m * adopter_payoff / n if m else 0.0))
    return found


def mixed_equilibrium(n: int, theta: float, kappa: float) -> Equilibrium | None:
    """The symmetric mixed equilibrium :math:`p^* = (\\kappa N / \\theta - 1) / (N - 1)` (``None`` unless in (0, 1))."""
    if n < 2:
        return None
    p = (kappa * n / theta - 1.0) / (n - 1)
    if not 0.0 < p < 1.0:
        return None
    return Equilibrium("mixed", p, n * p, expected_payoff(p, n, theta, kappa))


def is_stable(equilibrium: Equilibrium, n: int, theta: float, kappa: float) -> bool:
    """Whether ``equilibrium`` attracts the myopic dynamics :math:`\\dot p \\propto g(p)` (module docstring)."""
    if equilibrium.kind == "mixed":
        return False  # it exists only for N >= 2, where g increases in p
    if equilibrium.adoption == 0.0:
        return adoption_advantage(0.0, n, theta, kappa) < 0.0
    if equilibrium.adoption == 1.0:
        return adoption_advantage(1.0, n, theta, kappa) > 0.0
    return False


def stable(n: int, theta: float, kappa: float) -> list[Equilibrium]:
    """The stable equilibria (pure and mixed): all-idle and all-adopt when strict; never the interior mixed one."""
    candidates = pure_equilibria(n, theta, kappa)
    mixed = mixed_equilibrium(n, theta, kappa)
    if mixed is not None:
        candidates.append(mixed)
    return [e for e in candidates if is_stable(e, n, theta, kappa)]
