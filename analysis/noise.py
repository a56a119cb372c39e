"""Equilibria distinct beyond evaluation noise, and their bootstrap stability.

**Criterion.** Every outcome's descriptors come with standard errors (the
spread of its evaluations over ``analysis.eval_seeds`` seeds). Two outcomes
``i, j`` are *distinct* when at least one descriptor ``d`` differs both

* statistically: ``z = |x_i - x_j| / sqrt(se_i² + se_j²)``, two-sided normal
  p-value, Holm-corrected over the descriptors at family-wise level
  ``analysis.alpha``; and
* practically: ``|x_i - x_j| > min_relative_difference * max(|x_i|, |x_j|)``.

(A missing standard error counts as 0: then only the practical resolution
separates.) Equilibria are the clusters of average linkage on this relation:
two groups merge while fewer than half of the pairs between them are
distinct. (Complete linkage, "no two members distinct", would split large
groups on the test's own false positives: at α = 0.05 one pair in twenty of
replicates is called distinct by chance.) So replicates of one outcome on
other seeds stay together however many there are, and groups closer than
their noise merge.

**Stability** of a cluster is Hennig's (2007) clusterwise bootstrap
stability: resample the outcomes with replacement, re-cluster, take the
best Jaccard similarity of the cluster with any new cluster (on the outcomes
drawn), and average over resamples. 1 means always recovered; below 0.6 is
usually read as unstable.

**Regimes** are the economy's stated rules (:attr:`~pbt_econ.economies.Economy.regimes`, first match
wins; :func:`analysis.schema.regime_of`), applied to each outcome and each equilibrium's centroid.

Written here rather than taken from a library: the pairwise test with a
practical resolution is specific to this use, and the clustering itself is
scikit-learn's average linkage on the precomputed relation.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

__all__ = ["distinct_matrix", "noise_labels", "stability"]

MAX_STABILITY_OUTCOMES = 400
"""Above this many outcomes the bootstrap is skipped (its cost grows as resamples x n²)."""


def _holm(p: np.ndarray) -> np.ndarray:
    """Holm-adjusted p-values along the last axis."""
    m = p.shape[-1]
    order = np.argsort(p, axis=-1)
    ranked = np.take_along_axis(p, order, axis=-1) * (m - np.arange(m))
    ranked = np.minimum(np.maximum.accumulate(ranked, axis=-1), 1.0)
    out = np.empty_like(ranked)
    np.put_along_axis(out, order, ranked, axis=-1)
    return out


def distinct_matrix(X: np.ndarray, S: np.ndarray, alpha: float, min_relative_difference: float) -> np.ndarray:
    """``[n, n]`` bool: outcome pairs distinct beyond noise (see the module docstring).

    ``X, S [n, d]``: descriptor values and standard errors (NaN standard errors count as 0).
    """
    from scipy.stats import norm

    S = np.nan_to_num(S, nan=0.0)
    n = len(X)
    out = np.zeros((n, n), dtype=bool)
    for i in range(n):
        diff = np.abs(X[i] - X)  # [n, d]
        se = np.sqrt(S[i] ** 2 + S**2)
        with np.errstate(divide="ignore", invalid="ignore"):
            z = np.where(se > 0, diff / se, np.where(diff > 0, np.inf, 0.0))
        p = _holm(2 * norm.sf(z))
        practical = diff > min_relative_difference * np.maximum(np.abs(X[i]), np.abs(X))
        out[i] = ((p < alpha) & practical).any(axis=1)
    out[np.arange(n), np.arange(n)] = False
    return out | out.T


def noise_labels(distinct: np.ndarray) -> np.ndarray:
    """Cluster ids (0 = largest) of average linkage on the distinct relation (merge below half distinct)."""
    n = len(distinct)
    if n == 1 or not distinct.any():
        return np.zeros(n, dtype=int)
    from sklearn.cluster import AgglomerativeClustering

    model = AgglomerativeClustering(n_clusters=None, metric="precomputed", linkage="average",
                                    distance_threshold=0.5)
    labels = model.fit_predict(distinct.astype(float))
    order = sorted(set(labels), key=lambda c: (-(labels == c).sum(), int(np.argmax(labels == c))))
    remap = {old: new for new, old in enumerate(order)}
    return np.array([remap[c] for c in labels], dtype=int)


def stability(labels: np.ndarray, recluster: Callable[[np.ndarray], np.ndarray], resamples: int,
              seed: int = 0) -> dict[int, float]:
    """Clusterwise bootstrap stability of each cluster in ``labels`` (NaN when not computed).

    ``recluster(indices)`` returns labels for the outcomes ``indices`` (a resample, with repeats).
    """
    clusters = sorted(set(int(c) for c in labels if c >= 0))
    n = len(labels)
    if resamples == 0 or n < 2 or n > MAX_STABILITY_OUTCOMES:
        return {c: math.nan for c in clusters}
    rng = np.random.default_rng(seed)
    totals = {c: 0.0 for c in clusters}
    counts = {c: 0 for c in clusters}
    for _ in range(resamples):
        idx = rng.integers(0, n, n)
        new = recluster(idx)
        drawn = set(idx.tolist())
        for c in clusters:
            original = {i for i in drawn if labels[i] == c}
            if not original:
                continue
            best = 0.0
            for k in set(new.tolist()):
                members = {int(i) for i, lab in zip(idx, new) if lab == k}
                best = max(best, len(original & members) / len(original | members))
            totals[c] += best
            counts[c] += 1
    return {c: totals[c] / counts[c] if counts[c] else math.nan for c in clusters}
