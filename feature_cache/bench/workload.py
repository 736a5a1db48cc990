"""The traffic of the load tests: users ranked by popularity (Zipf), request types, cold users.

Backs the 004 story's load test set-up ("load test ... at 2k QPS") scaled to
2 cores, and the inputs of its hit-rate figures ("cache hit-rate in shadow:
~95%"): a hit rate is a property of a cache AND a workload, so the workload
is explicit here and seeded.

- Popularity: the user at rank r (1-based) is requested with weight r^-s
  (s = 1.1 by default); the same ranking drives the stream (active users are
  the requested ones) and pre-warm's "hot users".
- Cold users: `cold_fraction` of users the stream has never seen (new
  accounts), one per block of consecutive ranks below the top 1%, so some
  of them are hot, which is what pre-warming finds, and their share of
  requests does not hinge on whether the seed made the top user cold.
- Request types: each user has one high-value type and one low-value type
  (hashed from the id); `low_value_share` of a user's weight goes to the
  low-value one. Two paths per user.
- A wider key space (the regression's seasonal spike) keeps the original
  users' relative order and interleaves new ones at random ranks.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from feature_cache.serving.keys import LOW_VALUE_TYPES, RequestType

__all__ = ["HIGH_VALUE_TYPES", "Workload", "user_id"]

HIGH_VALUE_TYPES: tuple[RequestType, ...] = tuple(t for t in RequestType if t not in LOW_VALUE_TYPES)
_LOW: tuple[RequestType, ...] = tuple(t for t in RequestType if t in LOW_VALUE_TYPES)


def user_id(i: int) -> str:
    return f"u{i:07d}"


def _pick(uid: str, options: Sequence[RequestType], salt: str) -> RequestType:
    h = int.from_bytes(hashlib.blake2b(f"{salt}|{uid}".encode(), digest_size=4).digest(), "big")
    return options[h % len(options)]


@dataclass(frozen=True)
class Workload:
    """Users in popularity order, the cold ones, and the request paths with their weights."""

    ranked: tuple[str, ...]
    """User ids, most requested first."""
    zipf_s: float
    cold_fraction: float
    low_value_share: float
    seed: int

    @classmethod
    def zipf(
        cls, users: int, zipf_s: float, cold_fraction: float, low_value_share: float, seed: int = 0
    ) -> Workload:
        return cls(tuple(user_id(i) for i in range(users)), zipf_s, cold_fraction, low_value_share, seed)

    def widened(self, factor: float, *, below: float = 0.0, seed: int | None = None) -> Workload:
        """`factor` times the users: the old ones keep their order, new ones interleave at random
        ranks below the top `below` fraction (seasonal users are rarely the most active ones)."""
        extra = int(len(self.ranked) * (factor - 1))
        new = [user_id(len(self.ranked) + i) for i in range(extra)]
        rng = random.Random(self.seed + 1 if seed is None else seed)
        top = int(len(self.ranked) * below)
        slots = [True] * (len(self.ranked) - top) + [False] * extra
        rng.shuffle(slots)
        old_it, new_it = iter(self.ranked), iter(new)
        head = tuple(next(old_it) for _ in range(top))
        merged = head + tuple(next(old_it) if is_old else next(new_it) for is_old in slots)
        return Workload(merged, self.zipf_s, self.cold_fraction, self.low_value_share, self.seed)

    @cached_property
    def weights(self) -> np.ndarray:
        """Request probability of each user, in `ranked` order (sums to 1)."""
        ranks = np.arange(1, len(self.ranked) + 1, dtype=np.float64)
        w = ranks**-self.zipf_s
        return w / w.sum()

    @cached_property
    def cold(self) -> frozenset[str]:
        """Users the stream has never seen: one in every 1/cold_fraction consecutive ranks (the
        position hashed from the block and the seed), below the top 1%.

        Stratified, not a coin per user: under Zipf the top few users carry a large share
        (the first of 5,000 ~12% at s = 1.1), so with independent draws the cold share swung
        from 2% to 19% with the seed alone. The top 1% are never cold: a user requested that
        often has a history the stream has seen. Membership depends on the rank, so a
        widened workload (new users interleaved) draws its own cold set.
        """
        if self.cold_fraction <= 0:
            return frozenset()
        block = max(1, round(1 / self.cold_fraction))
        start = max(1, len(self.ranked) // 100)
        out = set()
        for b in range(start, len(self.ranked), block):
            h = hashlib.blake2b(f"cold|{self.seed}|{b}".encode(), digest_size=8).digest()
            i = b + int.from_bytes(h, "big") % block
            if i < len(self.ranked):
                out.add(self.ranked[i])
        return frozenset(out)

    @property
    def known(self) -> list[str]:
        """Users the stream keeps precomputed, most requested first."""
        cold = self.cold
        return [u for u in self.ranked if u not in cold]

    def cold_share(self) -> float:
        """The share of requests that go to cold users (the ceiling of the hit rate)."""
        cold = self.cold
        return float(sum(w for u, w in zip(self.ranked, self.weights, strict=True) if u in cold))

    def hot(self, n: int) -> list[str]:
        return list(self.ranked[:n])

    def paths(self) -> tuple[list[str], list[float]]:
        """Two request paths per user (its high- and low-value type) with their weights."""
        paths: list[str] = []
        weights: list[float] = []
        lv = self.low_value_share
        for uid, w in zip(self.ranked, self.weights, strict=True):
            high, low = _pick(uid, HIGH_VALUE_TYPES, "high"), _pick(uid, _LOW, "low")
            paths.append(f"/features/{uid}?type={high.value}")
            weights.append(float(w) * (1 - lv))
            paths.append(f"/features/{uid}?type={low.value}")
            weights.append(float(w) * lv)
        return paths, weights
