"""Cluster outcome rows into distinct equilibria (scikit-learn).

Input: outcome rows (``outcomes.parquet``, see :mod:`pbt_econ.equilibrium.outcomes`).
The economy's descriptors (:class:`analysis.schema.Schema`) are standardised:
centred, and divided by ``max(std, relative_resolution * |mean|)`` - so that
differences smaller than ``relative_resolution`` (default 10%) of a
descriptor's size are not blown up into distinct equilibria when the
population happens to agree closely (these standardised values are what
the plots show). Then

* ``noise`` (default): outcomes are one equilibrium unless a descriptor
  differs beyond its evaluation noise and beyond a practical resolution
  (:mod:`analysis.noise`); average linkage on that relation;
* ``agglomerative``: average linkage; two clusters merge while
  the mean distance between their members is below
  ``analysis.distance_threshold`` per descriptor (root-mean-square over the
  descriptors, in standardised units) - the number of
  clusters is whatever that criterion gives, from 1 (identical outcomes) to
  one per outcome; works from 1 to thousands of rows;
* ``hdbscan``: density-based; points it calls noise keep label ``-1`` and are
  reported as noise, not dropped.

Rows whose descriptors contain NaN or inf cannot be placed: they get label
``-2`` and a note naming the columns, and are listed in the report.

Each cluster becomes an :class:`EquilibriumRow`: size, centroid (original
units) with standard errors, its regime, its bootstrap stability, spread, the worst epsilon per type among its members, the
sense in which it is verified (``verified_as``, by the members' verdicts:
:mod:`analysis.verification`), and a representative member (the one nearest the centroid).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from analysis.noise import distinct_matrix, noise_labels, stability
from analysis.schema import Schema
from analysis.verification import NOT_VERIFIED, cluster_verified_as, meta_verified, nash_verified
from pbt_econ.config.load import AnalysisConfig
from pbt_econ.equilibrium.outcomes import DescriptorSE
from pbt_econ.learning.records import Descriptors, PerType

__all__ = ["INVALID", "NOISE", "AnalysisError", "Clustering", "EquilibriumRow", "cluster_outcomes", "meta_verified",
           "nash_verified"]

NOISE = -1
"""Label of outcomes HDBSCAN calls noise."""
INVALID = -2
"""Label of outcomes with non-finite descriptors."""


class AnalysisError(ValueError):
    """The outcomes cannot be analysed (e.g. there are none)."""


@dataclass(frozen=True)
class EquilibriumRow:
    """One row of ``equilibria.parquet``: one cluster of outcomes.

    Centroid columns carry the descriptor names and units of
    :mod:`pbt_econ.equilibrium.outcomes`; epsilons are relative (see ``OutcomeRow``).
    """

    cluster: int
    size: int
    members: str
    """Member ids, ``,``-separated (``run/member`` when several runs are analysed)."""
    niches: str
    representative: str
    spread: float
    """Root-mean-square distance of members to the centroid, in standardised units."""
    trivial_share: float
    """Fraction of members whose economy is trivial (by the economy's trivial-outcome rule)."""
    centroid: Descriptors
    """Mean descriptors of the members (flattened into one column per descriptor)."""
    centroid_se: DescriptorSE
    """Standard error of each centroid descriptor (``<descriptor>_se``): the members' spread over
    sqrt(size), or the lone member's own evaluation error."""
    regime: str
    """Economic regime of the centroid by the economy's regime rules."""
    stability: float
    """Clusterwise bootstrap stability (mean best Jaccard over resamples; NaN: not computed)."""
    epsilon: PerType
    """``epsilon_rel_<type>`` per agent type: the worst member's relative best-response gain (NaN: not checked)."""
    epsilon_max_rel: float
    checked_share: float
    """Fraction of members with best-response results."""
    is_epsilon_equilibrium: bool
    """Every member was checked and passes its per-type tolerances (the point check, no interval; never
    what a marker or line labelled verified shows: that is ``verified_as``)."""
    verified_as: str = NOT_VERIFIED
    """``ε-equilibrium`` (every member's Nash verdict, from unilateral deviations, is ``verified``),
    ``ε-meta-equilibrium`` (every member's type-level verdict is, the paper's sense, but not the Nash
    one) or ``not verified`` (:func:`analysis.verification.cluster_verified_as`: verdicts, 95% intervals
    entirely below the tolerance, never point estimates). Only a verified cluster is called an equilibrium."""


@dataclass(frozen=True)
class Clustering:
    labels: list[int]
    """One label per input row: cluster id >= 0, ``NOISE`` or ``INVALID``."""
    notes: list[str]
    """Per row: why it is noise or invalid, else ``""``."""
    equilibria: list[EquilibriumRow]
    standardized: np.ndarray
    """``[n, descriptors]`` standardised descriptors (NaN rows for invalid ones)."""


def _member_key(row: dict[str, Any]) -> str:
    return f"{row['run']}/{row['member_id']}" if row.get("run") else row["member_id"]


def cluster_outcomes(rows: list[dict[str, Any]], config: AnalysisConfig | None = None,
                     schema: Schema | None = None) -> Clustering:
    """Cluster outcome rows (dicts with the ``OutcomeRow`` columns) into equilibria.

    ``schema``: the economy's descriptors, types and regimes (default: those of the default run config).
    """
    config = config or AnalysisConfig()
    if schema is None:
        from pbt_econ.config.load import RunConfig

        schema = Schema.of(RunConfig())
    DESCRIPTORS = schema.descriptors
    if not rows:
        raise AnalysisError("no outcomes to analyse: the run has no outcome rows (did the search finish?)")
    missing = [c for c in DESCRIPTORS if c not in rows[0]]
    if missing:
        raise AnalysisError(f"outcome rows lack descriptor columns: {', '.join(missing)}")
    X = np.array([[float(r[c]) if r[c] is not None else math.nan for c in DESCRIPTORS] for r in rows])
    finite = np.isfinite(X).all(axis=1)
    labels = np.full(len(rows), INVALID, dtype=int)
    notes = ["" for _ in rows]
    for i in np.flatnonzero(~finite):
        bad = [c for c, v in zip(DESCRIPTORS, X[i]) if not math.isfinite(v)]
        notes[i] = f"non-finite descriptors: {', '.join(bad)}"
    S = np.array([[_float(r.get(f"{c}_se")) for c in DESCRIPTORS] for r in rows])
    Z = np.full_like(X, np.nan)
    good = np.flatnonzero(finite)
    stable: dict[int, float] = {}
    if len(good):
        mean = X[good].mean(axis=0)
        scale = np.maximum(X[good].std(axis=0), config.relative_resolution * np.abs(mean))
        scale[scale == 0] = 1.0
        Z[good] = (X[good] - mean) / scale
        if config.method == "noise":
            distinct = distinct_matrix(X[good], S[good], config.alpha, config.min_relative_difference)
            labels[good] = noise_labels(distinct)

            def recluster(idx):
                return noise_labels(distinct[np.ix_(idx, idx)])
        else:
            labels[good] = _fit(Z[good], config)

            def recluster(idx):
                return _fit(Z[good][idx], config)
        stable = stability(labels[good], recluster, config.bootstrap)
    for i in np.flatnonzero(labels == NOISE):
        notes[i] = "noise (HDBSCAN found no dense cluster for it)"
    equilibria = [_summarise(cid, rows, X, S, Z, labels, stable.get(int(cid), math.nan), schema)
                  for cid in sorted(set(labels[labels >= 0]))]
    return Clustering(labels=labels.tolist(), notes=notes, equilibria=equilibria, standardized=Z)


def _float(value) -> float:
    return math.nan if value is None else float(value)


def _fit(Z: np.ndarray, config: AnalysisConfig) -> np.ndarray:
    n = len(Z)
    if n == 1:
        return np.zeros(1, dtype=int)
    if config.method == "hdbscan":
        from sklearn.cluster import HDBSCAN

        if n < config.min_cluster_size:
            return np.full(n, NOISE, dtype=int)
        return HDBSCAN(min_cluster_size=config.min_cluster_size, copy=True).fit_predict(Z)
    from sklearn.cluster import AgglomerativeClustering

    if np.allclose(Z, Z[0]):
        return np.zeros(n, dtype=int)
    threshold = config.distance_threshold * math.sqrt(Z.shape[1])  # per-descriptor RMS -> Euclidean
    # Average linkage: the merge criterion (mean pairwise distance) does not grow with cluster
    # size, unlike Ward's, so the same threshold works for 4 outcomes and for thousands.
    model = AgglomerativeClustering(n_clusters=None, distance_threshold=threshold, linkage="average")
    labels = model.fit_predict(Z)
    # Number clusters by size (largest first), then by first appearance: stable, readable ids.
    order = sorted(set(labels), key=lambda c: (-(labels == c).sum(), int(np.argmax(labels == c))))
    remap = {old: new for new, old in enumerate(order)}
    return np.array([remap[c] for c in labels], dtype=int)


def _nanmax(values: list[float]) -> float:
    finite = [v for v in values if v is not None and not math.isnan(v)]
    return max(finite) if finite else math.nan


def _summarise(cid: int, rows, X: np.ndarray, S: np.ndarray, Z: np.ndarray, labels: np.ndarray,
               stable: float, schema: Schema) -> EquilibriumRow:
    DESCRIPTORS = schema.descriptors
    idx = np.flatnonzero(labels == cid)
    members = [rows[i] for i in idx]
    centre_z = Z[idx].mean(axis=0)
    dist = np.sqrt(((Z[idx] - centre_z) ** 2).sum(axis=1))
    rep = members[int(np.argmin(dist))]
    centroid = Descriptors(dict(zip(DESCRIPTORS, X[idx].mean(axis=0).tolist())))
    if len(idx) > 1:
        se = X[idx].std(axis=0, ddof=1) / math.sqrt(len(idx))
    else:
        se = S[idx[0]]
    centroid_se = DescriptorSE({f"{d}_se": float(v) for d, v in zip(DESCRIPTORS, se)})
    eps = {t: _nanmax([m.get(f"epsilon_rel_{t}") for m in members]) for t in schema.types}
    checked = [m for m in members if m.get("epsilon_max_rel") is not None and not math.isnan(m["epsilon_max_rel"])]
    return EquilibriumRow(
        cluster=int(cid),
        size=len(idx),
        members=",".join(_member_key(m) for m in members),
        niches=",".join(sorted({m["niche"] for m in members})),
        representative=_member_key(rep),
        spread=float(np.sqrt((dist**2).mean())),
        trivial_share=float(np.mean([bool(m["is_trivial"]) for m in members])),
        centroid=centroid,
        centroid_se=centroid_se,
        regime=schema.regime(centroid),
        stability=float(stable),
        epsilon=PerType({f"epsilon_rel_{t}": v for t, v in eps.items()}),
        epsilon_max_rel=_nanmax(list(eps.values())),
        checked_share=len(checked) / len(members),
        is_epsilon_equilibrium=bool(len(checked) == len(members)
                                    and all(bool(m["is_epsilon_equilibrium"]) for m in members)),
        verified_as=cluster_verified_as(members, schema.types),
    )

