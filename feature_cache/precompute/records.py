"""A feature-topic record as a typed `FeatureRecord`, and the Redis hash it becomes.

Backs story 004's "precompute features into Redis with a 5-minute TTL" and
story 4's offline-online consistency: the same typed record feeds the Redis
hash (what serving reads) and the offline history (what training reads), so
both sides hold the same values.

Redis layout: one hash per (user, group), key `<prefix>:{<user_id>}:<group>`
(`fc:{u000042}:activity`), so each group carries its own TTL (Redis 7.0 has no
per-field TTL). The braces are a Redis Cluster hash tag: a user's groups share
one slot, so one script or transaction may touch them all. Fields: every feature of the group, plus
- `_event_ts`: epoch ms of the newest event the values include (they hold as of it);
- `_emit_ts`: epoch ms when Flink computed them;
- `_ingest_ts`: epoch ms when the materializer wrote them (the history's created_ts);
so a reader can tell how stale a value is without a second lookup.
Values are text: integers in decimal, floats in Python's shortest
round-trip form (repr), booleans 1/0, NULL as "" (a hash cannot hold NULL;
`feature_cache.offline.consistency` reads "" as NULL).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from feature_cache.errors import FeatureCacheError
from feature_cache.offline.consistency import parse_online_value
from feature_cache.offline.history import FeatureVersion
from feature_cache.offline.schema import FeatureGroup, FeatureSchema, FeatureType, FeatureValue
from feature_cache.precompute.features import PRECOMPUTE_SCHEMA

__all__ = [
    "EVENT_TS_FIELD",
    "INGEST_TS_FIELD",
    "CachedGroup",
    "FeatureRecord",
    "decode_hash",
    "epoch_ms",
    "parse_record",
    "redis_key",
    "split_redis_key",
    "to_redis_hash",
]

EVENT_TS_FIELD = "_event_ts"
EMIT_TS_FIELD = "_emit_ts"
INGEST_TS_FIELD = "_ingest_ts"
_META_FIELDS = (EVENT_TS_FIELD, EMIT_TS_FIELD, INGEST_TS_FIELD)


@dataclass(frozen=True)
class FeatureRecord:
    """One version of one user's feature group, as the Flink job emitted it."""

    user_id: str
    group: str
    values: Mapping[str, FeatureValue]
    """Every feature of the group (None where the job emitted NULL)."""
    event_ts: datetime
    """Time of the newest event the values include (UTC): they hold as of this instant."""
    emit_ts: datetime
    """When Flink computed the values (UTC); visible to readers only after the checkpoint commits."""
    source_ts: datetime | None
    """When the newest contributing event entered Kafka (UTC): the start of the end-to-end clock."""

    def version(self, created_ts: datetime) -> FeatureVersion:
        """This record as a row of the offline history, written at `created_ts`."""
        return FeatureVersion(
            user_id=self.user_id,
            group=self.group,
            event_ts=self.event_ts,
            created_ts=created_ts,
            values=self.values,
        )


@dataclass(frozen=True)
class CachedGroup:
    """A feature group as read back from Redis."""

    values: Mapping[str, FeatureValue]
    event_ts: datetime
    emit_ts: datetime
    ingest_ts: datetime

    def age_s(self, now: datetime) -> float:
        """How old the values are at `now`, by the event time they hold as of."""
        return (now - self.event_ts).total_seconds()


def _timestamp(raw: object, field: str) -> datetime:
    """An ISO-8601 timestamp from the job's JSON (no zone means UTC wall time) as an aware UTC datetime."""
    if not isinstance(raw, str):
        raise FeatureCacheError(f"feature record: {field} is {raw!r}, not an ISO-8601 string")
    try:
        ts = datetime.fromisoformat(raw)
    except ValueError:
        raise FeatureCacheError(f"feature record: {field} {raw!r} is not ISO-8601") from None
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


def _typed(raw: object, dtype: FeatureType, name: str) -> FeatureValue:
    """A JSON value checked against the feature's declared type (bool is not a number here)."""
    if raw is None:
        return None
    if dtype is FeatureType.INT64 and isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    if dtype is FeatureType.FLOAT64 and isinstance(raw, int | float) and not isinstance(raw, bool):
        return float(raw)
    if dtype is FeatureType.STRING and isinstance(raw, str):
        return raw
    if dtype is FeatureType.BOOL and isinstance(raw, bool):
        return raw
    raise FeatureCacheError(f"feature record: {name}={raw!r} is not a {dtype.value}")


def parse_record(value: bytes | None, schema: FeatureSchema = PRECOMPUTE_SCHEMA) -> FeatureRecord | None:
    """The typed record of one topic value; None for a tombstone (the job writes none).

    Raises `FeatureCacheError` naming the problem for a value that breaks the
    job's output contract (unknown group or feature, wrong type, bad time).
    """
    if value is None:
        return None
    try:
        obj = json.loads(value)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FeatureCacheError(f"feature record is not JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise FeatureCacheError("feature record is not a JSON object")
    user_id, group_name = obj.get("user_id"), obj.get("feature_group")
    if not isinstance(user_id, str) or not user_id or not isinstance(group_name, str):
        raise FeatureCacheError(f"feature record without user_id/feature_group: {obj!r:.200}")
    try:
        group = schema.group(group_name)
    except FeatureCacheError as exc:
        raise FeatureCacheError(f"feature record of user {user_id!r}: {exc}") from None
    raw_values = obj.get(group.name) or {}
    if not isinstance(raw_values, dict):
        raise FeatureCacheError(f"feature record of user {user_id!r}: {group.name} is not an object")
    unknown = set(raw_values) - set(group.feature_names)
    if unknown:
        raise FeatureCacheError(f"feature record of {group.name!r}: unknown features {sorted(unknown)}")
    values = {f.name: _typed(raw_values.get(f.name), f.dtype, f.name) for f in group.features}
    source = obj.get("source_ts")
    return FeatureRecord(
        user_id=user_id,
        group=group.name,
        values=values,
        event_ts=_timestamp(obj.get("event_ts"), "event_ts"),
        emit_ts=_timestamp(obj.get("emit_ts"), "emit_ts"),
        source_ts=_timestamp(source, "source_ts") if source is not None else None,
    )


def redis_key(prefix: str, user_id: str, group: str) -> str:
    """`<prefix>:{<user_id>}:<group>`, e.g. `fc:{u000042}:activity` (braces: the hash tag)."""
    return f"{prefix}:{{{user_id}}}:{group}"


def split_redis_key(key: str) -> tuple[str, str] | None:
    """(user_id, group) of a `redis_key`; None for another key under the prefix (`<prefix>:_ttl`)."""
    head, _, group = key.rpartition(":")
    _, _, tagged = head.rpartition(":")
    if len(tagged) < 3 or tagged[0] != "{" or tagged[-1] != "}" or not group:
        return None
    return tagged[1:-1], group


def epoch_ms(ts: datetime) -> int:
    """Epoch milliseconds of an aware datetime (naive ones are UTC wall time)."""
    aware = ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts
    return math.floor(aware.timestamp() * 1000 + 0.5)


def _encode(value: FeatureValue) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def to_redis_hash(record: FeatureRecord, group: FeatureGroup, ingest_ts: datetime) -> dict[str, str]:
    """The hash fields of one record: every feature of the group, then the three timestamps."""
    if record.group != group.name:
        raise FeatureCacheError(f"record of group {record.group!r} mapped with group {group.name!r}")
    fields = {name: _encode(record.values.get(name)) for name in group.feature_names}
    fields[EVENT_TS_FIELD] = str(epoch_ms(record.event_ts))
    fields[EMIT_TS_FIELD] = str(epoch_ms(record.emit_ts))
    fields[INGEST_TS_FIELD] = str(epoch_ms(ingest_ts))
    return fields


def _from_ms(raw: bytes | str | None, field: str) -> datetime:
    text = raw.decode() if isinstance(raw, bytes) else raw
    if not text:
        raise FeatureCacheError(f"cached group lacks {field}")
    return datetime.fromtimestamp(int(text) / 1000, tz=UTC)


def decode_hash(group: FeatureGroup, fields: Mapping[bytes, bytes] | Mapping[str, str]) -> CachedGroup | None:
    """A hash read with HGETALL back to typed values; None for a missing key (empty mapping)."""
    if not fields:
        return None
    text = {(k.decode() if isinstance(k, bytes) else k): v for k, v in fields.items()}
    values = {f.name: parse_online_value(text.get(f.name), f.dtype) for f in group.features}
    return CachedGroup(
        values=values,
        event_ts=_from_ms(text.get(EVENT_TS_FIELD), EVENT_TS_FIELD),
        emit_ts=_from_ms(text.get(EMIT_TS_FIELD), EMIT_TS_FIELD),
        ingest_ts=_from_ms(text.get(INGEST_TS_FIELD), INGEST_TS_FIELD),
    )
