"""Named seed streams: every random number pbt-econ draws comes from one of these.

A run has one ``seed`` (``RunConfig.seed``) and best response one
``eval_seed`` (``BestResponseConfig.eval_seed``). Everything else is derived
here, by name, so no module adds its own magic offset:

==================  ==========================================================
``member``          a population member's seed: ``1000 * run seed + index``
``weights``         initial policy weights of a member (= the member's seed)
``train``           the member's training generator (= the member's seed)
``scratch``         the fresh policy of a best response "from scratch"
``eval``            evaluation rollouts (= ``eval_seed``; before, after and
                    untrained all use it: common random numbers)
``solve``           the solver's draws (which copies play which pooled deviation), per round
``recheck``         the fresh evaluation and best-response seeds of the solver's returned member
``decide``          the fresh evaluation a certificate's verdict is decided on (the best action is
                    chosen on ``eval``)
``sampler``         the Optuna sampler of one (member, segment) trial, so a
                    resumed search draws exactly what an uninterrupted one would
==================  ==========================================================

``weights``, ``train``, ``eval`` and ``member`` keep the formulas runs
have always used, so earlier runs reproduce bit for bit. New streams mix
their name into the seed with BLAKE2b, so they never collide by accident.
"""

from __future__ import annotations

import hashlib

__all__ = ["STREAMS", "member_seed", "stream_seed", "trial_seed"]

STREAMS = ("member", "weights", "train", "scratch", "eval", "sampler", "solve", "recheck", "decide")
_IDENTITY = ("weights", "train", "eval")
_MAX_SEED = 2**63 - 1


def stream_seed(base: int, stream: str, index: int = 0) -> int:
    """The seed of ``stream`` derived from ``base`` (and ``index``, e.g. a member's position)."""
    if stream not in STREAMS:
        raise ValueError(f"unknown seed stream {stream!r}; streams: {', '.join(STREAMS)}")
    if stream in _IDENTITY and index == 0:
        return int(base)
    if stream == "member":
        return 1000 * int(base) + int(index)
    digest = hashlib.blake2b(f"{stream}:{int(base)}:{int(index)}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") & _MAX_SEED


def trial_seed(run_seed: int, member_id: str, segment: int) -> int:
    """Seed of the sampler that draws ``member_id``'s trial for ``segment`` (``sampler`` stream)."""
    import zlib

    return stream_seed(run_seed, "sampler", zlib.crc32(f"{member_id}:{segment}".encode())) % 2**32


def member_seed(run_seed: int, index: int) -> int:
    """Seed of the ``index``-th member of a population whose run seed is ``run_seed``."""
    return stream_seed(run_seed, "member", index)
