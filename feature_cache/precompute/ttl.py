"""Dynamic Redis TTLs per feature group, from its observed update rate and the stream's lag.

Backs story 004's "Dynamic TTLs (shorter for rapidly changing features,
longer otherwise)" and the regression playbook's "add dynamic TTLs tied to
observed update rates and queue lag", so a lagging stream does not empty
the cache.

The rule, per group g:

    ttl(g) = clamp(k * gap(g) + lag, min_s(g), max_s(g))

- gap(g): an EWMA (weight `alpha` on the newest) of the event-time gaps
  between consecutive versions of the same key (user, g). Event time, not
  arrival time: a replayed backlog arrives in a burst but its gaps are the
  real ones. Before any gap is seen, `base_s(g)` stands in for k * gap.
- k = 3: if a key's updates arrived as a Poisson process with mean gap
  gap(g), the chance that no update comes within 3 gaps is e^-3 = 5%, so a
  steadily updated key rarely expires between two of its updates, while a
  key whose user went quiet expires after about three missed updates.
- lag: an EWMA of (now - event_ts) over the records being materialized,
  i.e. how far behind real time the stream runs (Flink's backlog plus the
  materializer's). Updates arrive that much later than usual, so a value
  must live that much longer to be replaced before it expires.
- clamp: the group's bounds (`features.GROUP_TTLS`): `min_s` keeps a burst
  of updates from making keys flicker, `max_s` keeps a silent stream from
  serving values forever.

The clock is injected (epoch seconds), so the rule is tested without sleeping.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from feature_cache.errors import FeatureCacheConfigError
from feature_cache.precompute.features import GROUP_TTLS, TtlBounds

__all__ = ["GroupTtl", "TtlPolicy"]


@dataclass(frozen=True)
class GroupTtl:
    """The policy's state and decision for one group (for logs, tests and the evidence)."""

    group: str
    ttl_s: int
    gap_ewma_s: float | None
    """None until two versions of one key have been seen."""
    lag_ewma_s: float
    gaps_seen: int


@dataclass
class _Ewma:
    value: float | None = None
    samples: int = 0

    def add(self, x: float, alpha: float) -> None:
        self.value = x if self.value is None else alpha * x + (1 - alpha) * self.value
        self.samples += 1


class TtlPolicy:
    """Per-group TTLs in seconds; feed it every version with `observe`, ask with `ttl_s`."""

    def __init__(
        self,
        bounds: Mapping[str, TtlBounds] = GROUP_TTLS,
        *,
        clock: Callable[[], float] = time.time,
        alpha: float = 0.2,
        gap_multiple: float = 3.0,
        max_tracked_keys: int = 200_000,
    ) -> None:
        if not 0 < alpha <= 1:
            raise FeatureCacheConfigError(f"alpha must be in (0, 1], got {alpha}")
        if gap_multiple <= 0:
            raise FeatureCacheConfigError(f"gap_multiple must be > 0, got {gap_multiple}")
        if max_tracked_keys < 1:
            raise FeatureCacheConfigError(f"max_tracked_keys must be >= 1, got {max_tracked_keys}")
        self.bounds = dict(bounds)
        self.clock = clock
        self.alpha = alpha
        self.gap_multiple = gap_multiple
        self.max_tracked_keys = max_tracked_keys
        self._gaps = {g: _Ewma() for g in self.bounds}
        self._lag = _Ewma()
        # Last event time per key, least recently updated first: memory stays
        # bounded, and a key evicted only loses one gap sample.
        self._last: OrderedDict[tuple[str, str], float] = OrderedDict()

    def _bounds(self, group: str) -> TtlBounds:
        try:
            return self.bounds[group]
        except KeyError:
            raise FeatureCacheConfigError(
                f"no TTL bounds for feature group {group!r}; known: {', '.join(self.bounds)}"
            ) from None

    def observe(self, user_id: str, group: str, event_ts: datetime) -> None:
        """Record one version of (user_id, group) holding values as of `event_ts` (aware)."""
        self._bounds(group)
        t = event_ts.timestamp()
        key = (user_id, group)
        previous = self._last.pop(key, None)
        self._last[key] = t if previous is None else max(previous, t)
        while len(self._last) > self.max_tracked_keys:
            self._last.popitem(last=False)
        # A version at or before the previous one (same millisecond, or a
        # replay) says nothing about the update rate.
        if previous is not None and t > previous:
            self._gaps[group].add(t - previous, self.alpha)
        self._lag.add(max(0.0, self.clock() - t), self.alpha)

    def ttl_s(self, group: str) -> int:
        """The TTL to set now for a key of `group`, in whole seconds (rounded up)."""
        b = self._bounds(group)
        gap = self._gaps[group].value
        rate_ttl = b.base_s if gap is None else self.gap_multiple * gap
        lag = self._lag.value or 0.0
        return math.ceil(min(max(rate_ttl + lag, b.min_s), b.max_s))

    def state(self, group: str) -> GroupTtl:
        """What the policy knows about `group` and the TTL it would set."""
        self._bounds(group)
        gaps = self._gaps[group]
        return GroupTtl(
            group=group,
            ttl_s=self.ttl_s(group),
            gap_ewma_s=gaps.value,
            lag_ewma_s=self._lag.value or 0.0,
            gaps_seen=gaps.samples,
        )
