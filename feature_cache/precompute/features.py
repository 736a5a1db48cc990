"""The precomputed feature groups: names, types, offline TTL and the bounds of their Redis TTL.

Backs story 004's split of features by how fast they change ("92% of
features changed less than every 30 minutes; only a small subset (<8%) were
highly dynamic") and its "Redis ... with a 5-minute TTL": one home for what
the Flink SQL emits (`sql/`, checked against these names by a unit test),
what the materializer writes to Redis (one hash per user and group, so each
group has its own TTL: Redis 7.0 has no per-field TTL) and what the offline
history stores (`feature_cache.offline`'s types, so its as-of join,
leakage check and consistency check take this schema as they are).

- `activity`: sliding-window counts and rates (5 min, 1 h) and the last
  item, emitted on every event of the user;
- `realtime`: the fast-changing ones (last 60 s, the current session),
  emitted on every event;
- `profile`: a slowly changing preference (the platform used most over
  24 h, and how many platforms), emitted only when it changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from types import MappingProxyType

from feature_cache.errors import FeatureCacheConfigError
from feature_cache.offline.schema import FeatureGroup, FeatureSchema, FeatureSpec, FeatureType

__all__ = [
    "ACTIVITY",
    "GROUP_TTLS",
    "PRECOMPUTE_SCHEMA",
    "PROFILE",
    "REALTIME",
    "TtlBounds",
]

# Offline TTLs (how long a version may answer a point-in-time query): twice
# the group's base Redis TTL for the windowed groups, so a value the cache
# could still serve is never "missing" offline; a profile is emitted only
# when it changes, so its last version stays valid for a week.
ACTIVITY = FeatureGroup(
    name="activity",
    ttl=timedelta(minutes=10),
    features=(
        FeatureSpec("events_5m", FeatureType.INT64),
        FeatureSpec("clicks_5m", FeatureType.INT64),
        FeatureSpec("events_1h", FeatureType.INT64),
        FeatureSpec("clicks_1h", FeatureType.INT64),
        FeatureSpec("impressions_1h", FeatureType.INT64),
        FeatureSpec("ctr_1h", FeatureType.FLOAT64),
        FeatureSpec("last_item_id", FeatureType.STRING),
    ),
)
REALTIME = FeatureGroup(
    name="realtime",
    ttl=timedelta(minutes=2),
    features=(
        FeatureSpec("events_60s", FeatureType.INT64),
        FeatureSpec("session_id", FeatureType.STRING),
        FeatureSpec("session_events", FeatureType.INT64),
        FeatureSpec("session_clicks", FeatureType.INT64),
    ),
)
PROFILE = FeatureGroup(
    name="profile",
    ttl=timedelta(days=7),
    features=(
        FeatureSpec("preferred_platform", FeatureType.STRING),
        FeatureSpec("platforms_24h", FeatureType.INT64),
    ),
)
PRECOMPUTE_SCHEMA = FeatureSchema(groups=(ACTIVITY, REALTIME, PROFILE))


@dataclass(frozen=True)
class TtlBounds:
    """A group's Redis TTL: `base_s` before any update was observed, never below `min_s` or above `max_s`."""

    base_s: float
    min_s: float
    max_s: float

    def __post_init__(self) -> None:
        if not 0 < self.min_s <= self.base_s <= self.max_s:
            raise FeatureCacheConfigError(
                f"TTL bounds need 0 < min_s <= base_s <= max_s, got {self.min_s}, {self.base_s}, {self.max_s}"
            )


GROUP_TTLS: Mapping[str, TtlBounds] = MappingProxyType(
    {
        # The story's 5 minutes, which is also the shortest window of the
        # group: a served clicks_5m is never older than the window it counts.
        "activity": TtlBounds(base_s=300, min_s=60, max_s=900),
        # Describes the last 60 s: a minute-old value has no 60 s of truth left.
        "realtime": TtlBounds(base_s=60, min_s=30, max_s=300),
        # Emitted only on change: the last value holds until the next one, so
        # the policy may keep it up to a day.
        "profile": TtlBounds(base_s=3_600, min_s=600, max_s=86_400),
    }
)
"""Redis TTL bounds per group (seconds); the dynamic policy (`ttl.py`) moves within them."""
