"""Offline-online consistency: what Redis served at instant T against the offline history as of T.

Backs story 4's "offline-online consistency error rate (< 0.5%)". The
caller reads feature groups from Redis (values plus the event_ts of the
served version) and passes them in as `OnlineRead`s; this module computes,
for each read, the offline value as of T with the same as-of rule the
training sets use (event_ts <= T, created_ts <= T, latest wins, within the
group's TTL) and counts reads whose values differ. No Redis is needed here.

Comparison rules, per feature (documented here because they decide the rate):
- Values read from Redis arrive as bytes or str; they are parsed by the
  feature's declared type first (int64 by int(), float64 by float(), bool
  from 1/0/true/false, string decoded as UTF-8).
- float64: equal when math.isclose(online, offline, rel_tol=1e-6,
  abs_tol=1e-9). 1e-6 relative sits above the rounding of a value that
  passed through a 32-bit float or was printed with 7 significant digits
  (<= 5e-7 relative) and far below any change a model could use (a CTR
  moving by one part in a million); abs_tol keeps values near 0 from
  failing on rounding alone. NaN equals NaN.
- int64, bool and string: exact. A missing field, None and an empty string
  all mean NULL (a Redis hash cannot hold NULL, so writers omit the field or
  write ""), and NULL equals NULL.
- A read is a mismatch when any of its features differs, or when the
  offline store has no version of that group as of T (the cache served
  something the history did not know or had expired). A different event_ts
  with equal values is counted separately (`version_differs`) and is not an
  error: the model saw the same numbers.
- `ingest_grace` widens "as of T" to T + grace for writers that stamp
  created_ts slightly after writing Redis; default 0 (the writer stamps first).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

import duckdb
import pyarrow as pa

from feature_cache.errors import FeatureCacheError
from feature_cache.offline.asof import SPINE_SCHEMA, build_training_set, seq_column
from feature_cache.offline.history import HISTORY_TABLE, to_utc_naive
from feature_cache.offline.schema import FeatureSchema, FeatureType, FeatureValue

__all__ = [
    "ConsistencyReport",
    "FloatTolerance",
    "Mismatch",
    "MismatchReason",
    "OnlineRead",
    "check_consistency",
    "parse_online_value",
    "values_equal",
]

OnlineValue = FeatureValue | bytes


@dataclass(frozen=True)
class OnlineRead:
    """One feature group of one user as Redis served it at `read_at`."""

    user_id: str
    group: str
    values: Mapping[str, OnlineValue]
    """Feature name -> value as read (bytes/str from Redis, or already typed)."""
    event_ts: datetime | None
    """Event time of the served version, if the cache stores it next to the values."""
    read_at: datetime


@dataclass(frozen=True)
class FloatTolerance:
    rel: float = 1e-6
    abs: float = 1e-9


class MismatchReason(StrEnum):
    VALUE = "value"
    """At least one feature differs beyond the rules above."""
    NO_OFFLINE = "no_offline"
    """The history has no version of the group within its TTL as of T."""


@dataclass(frozen=True)
class Mismatch:
    """One mismatching read (the first few are kept as examples)."""

    user_id: str
    group: str
    read_at: datetime
    reason: MismatchReason
    features: tuple[str, ...]
    online: tuple[str, ...]
    offline: tuple[str, ...]


@dataclass(frozen=True)
class ConsistencyReport:
    reads: int
    mismatched_reads: int
    no_offline: int
    features_compared: int
    mismatched_features: int
    version_differs: int
    """Reads whose served event_ts differs from the offline version's, values equal or not."""
    mismatched_by_group: dict[str, int]
    examples: tuple[Mismatch, ...]

    @property
    def rate(self) -> float:
        """Mismatched reads / reads: the story's consistency error rate (0.0 for no reads)."""
        return self.mismatched_reads / self.reads if self.reads else 0.0

    @property
    def feature_rate(self) -> float:
        return self.mismatched_features / self.features_compared if self.features_compared else 0.0


_TRUE = frozenset({"1", "true", "t", "yes"})
_FALSE = frozenset({"0", "false", "f", "no"})


def parse_online_value(raw: OnlineValue, dtype: FeatureType) -> FeatureValue:
    """A value as read from Redis, typed by the feature's declared type; "" and None are NULL."""
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8")
    if raw is None or raw == "":
        return None
    if not isinstance(raw, str):
        return raw
    try:
        if dtype is FeatureType.INT64:
            return int(raw)
        if dtype is FeatureType.FLOAT64:
            return float(raw)
        if dtype is FeatureType.BOOL:
            low = raw.strip().lower()
            if low in _TRUE:
                return True
            if low in _FALSE:
                return False
            raise ValueError(raw)
    except ValueError as exc:
        raise FeatureCacheError(f"online value {raw!r} is not a valid {dtype.value}") from exc
    return raw


def values_equal(
    online: FeatureValue, offline: FeatureValue, dtype: FeatureType, tol: FloatTolerance
) -> bool:
    """The comparison rules of the module docstring for one feature."""
    if dtype is FeatureType.STRING:
        # NULL, "" and a missing field are the same thing in a Redis hash.
        return (online or None) == (offline or None)
    if online is None or offline is None:
        return online is None and offline is None
    if dtype is FeatureType.FLOAT64:
        a, b = float(online), float(offline)
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return math.isclose(a, b, rel_tol=tol.rel, abs_tol=tol.abs)
    return online == offline


def check_consistency(
    con: duckdb.DuckDBPyConnection,
    reads: Sequence[OnlineRead],
    schema: FeatureSchema,
    *,
    tolerance: FloatTolerance | None = None,
    ingest_grace: timedelta = timedelta(0),
    history: str = HISTORY_TABLE,
    max_examples: int = 20,
) -> ConsistencyReport:
    """Compare every read with the offline value as of its `read_at` (+ ingest_grace)."""
    tol = tolerance or FloatTolerance()
    by_group: dict[str, list[tuple[int, OnlineRead]]] = {}
    for i, r in enumerate(reads):
        by_group.setdefault(schema.group(r.group).name, []).append((i, r))
    mismatched = no_offline = compared = bad_features = version_differs = 0
    per_group: dict[str, int] = {}
    examples: list[Mismatch] = []
    for group_name, items in by_group.items():
        group = schema.group(group_name)
        unknown = {k for _, r in items for k in r.values} - set(group.feature_names)
        if unknown:
            raise FeatureCacheError(
                f"online reads of {group_name!r} carry unknown features {sorted(unknown)}"
            )
        spine = pa.table(
            {
                "spine_id": [i for i, _ in items],
                "user_id": [r.user_id for _, r in items],
                "label_ts": [to_utc_naive(r.read_at) + ingest_grace for _, r in items],
                "label": [0] * len(items),
            },
            schema=SPINE_SCHEMA,
        )
        joined = build_training_set(con, spine, schema, groups=[group_name], history=history).table
        offline_rows = {row["spine_id"]: row for row in joined.to_pylist()}
        per_group[group_name] = 0
        for i, r in items:
            off = offline_rows[i]
            if off[seq_column(group_name)] is None:
                no_offline += 1
                mismatched += 1
                per_group[group_name] += 1
                if len(examples) < max_examples:
                    examples.append(
                        Mismatch(r.user_id, group_name, r.read_at, MismatchReason.NO_OFFLINE, (), (), ())
                    )
                continue
            if r.event_ts is not None and to_utc_naive(r.event_ts) != off[f"{group_name}__event_ts"]:
                version_differs += 1
            diff: list[tuple[str, FeatureValue, FeatureValue]] = []
            for f in group.features:
                online = parse_online_value(r.values.get(f.name), f.dtype)
                offline = off[f"{group_name}__{f.name}"]
                compared += 1
                if not values_equal(online, offline, f.dtype, tol):
                    diff.append((f.name, online, offline))
            if diff:
                mismatched += 1
                bad_features += len(diff)
                per_group[group_name] += 1
                if len(examples) < max_examples:
                    examples.append(
                        Mismatch(
                            r.user_id,
                            group_name,
                            r.read_at,
                            MismatchReason.VALUE,
                            tuple(d[0] for d in diff),
                            tuple(repr(d[1]) for d in diff),
                            tuple(repr(d[2]) for d in diff),
                        )
                    )
    return ConsistencyReport(
        reads=len(reads),
        mismatched_reads=mismatched,
        no_offline=no_offline,
        features_compared=compared,
        mismatched_features=bad_features,
        version_differs=version_differs,
        mismatched_by_group=per_group,
        examples=tuple(examples),
    )
