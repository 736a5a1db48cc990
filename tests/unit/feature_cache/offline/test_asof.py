"""The as-of join's rule, case by case: late corrections, the TTL edge, ties, boundaries, rows kept."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import pyarrow as pa
import pytest

from feature_cache.errors import FeatureCacheError
from feature_cache.offline.asof import SpineRow, build_training_set, spine_to_arrow
from feature_cache.offline.history import HistoryStore
from feature_cache.offline.schema import ACTIVITY, DEFAULT_SCHEMA, PROFILE

T0 = datetime(2026, 3, 2, 12, 0, 0)
US = timedelta(microseconds=1)
S = timedelta(seconds=1)
M = timedelta(minutes=1)


def join(store: HistoryStore, *labels: tuple[str, datetime]) -> list[dict[str, object]]:
    spine = [SpineRow(i + 1, u, ts, 0) for i, (u, ts) in enumerate(labels)]
    return build_training_set(store.con, spine, DEFAULT_SCHEMA).table.to_pylist()


def test_late_correction_does_not_leak_into_an_earlier_label(
    store: HistoryStore, add: Callable[..., None]
) -> None:
    add("u1", "activity", T0, T0 + S, clicks_5m=1)
    add("u1", "activity", T0, T0 + 5 * M, clicks_5m=7)  # the same window, recomputed 5 minutes later
    before, after = join(store, ("u1", T0 + 2 * M), ("u1", T0 + 6 * M))
    assert before["activity__clicks_5m"] == 1  # the correction was not known at T0+2m
    assert before["activity__created_ts"] == T0 + S
    assert after["activity__clicks_5m"] == 7  # once known, the correction wins the event_ts tie


def test_a_version_created_before_its_event_time_is_known_at_its_event_time(
    store: HistoryStore, add: Callable[..., None]
) -> None:
    # created < event happens with clock skew; "known" is the later of the two.
    add("u1", "activity", T0, T0 - S, clicks_5m=1)
    early, on_time = join(store, ("u1", T0 - US), ("u1", T0))
    assert early["activity__seq"] is None
    assert on_time["activity__clicks_5m"] == 1


def test_label_exactly_at_event_or_created_time_is_allowed_one_microsecond_before_is_not(
    store: HistoryStore, add: Callable[..., None]
) -> None:
    add("u1", "activity", T0, T0, clicks_5m=1)  # stamped at its event time
    add("u2", "activity", T0, T0 + 2 * S, clicks_5m=2)  # ingested 2 s after its event
    rows = join(
        store,
        ("u1", T0),
        ("u1", T0 - US),
        ("u2", T0 + 2 * S),
        ("u2", T0 + 2 * S - US),
    )
    assert [r["activity__clicks_5m"] for r in rows] == [1, None, 2, None]


def test_ttl_edge_exactly_ttl_is_kept_one_microsecond_beyond_is_missing(
    store: HistoryStore, add: Callable[..., None]
) -> None:
    add("u1", "activity", T0, T0, clicks_5m=3)
    ttl = ACTIVITY.ttl
    at_ttl, beyond = join(store, ("u1", T0 + ttl), ("u1", T0 + ttl + US))
    assert at_ttl["activity__clicks_5m"] == 3
    assert beyond["activity__seq"] is None
    assert beyond["activity__clicks_5m"] is None


def test_ttl_is_per_group(store: HistoryStore, add: Callable[..., None]) -> None:
    add("u1", "activity", T0, T0, clicks_5m=3)
    add("u1", "profile", T0, T0, country="DE")
    (row,) = join(store, ("u1", T0 + ACTIVITY.ttl + S))
    assert row["activity__seq"] is None
    assert row["profile__country"] == "DE"  # a day's TTL still covers it
    (late,) = join(store, ("u1", T0 + PROFILE.ttl + S))
    assert late["profile__seq"] is None


def test_event_ts_tie_goes_to_the_later_ingest_then_to_the_later_write(
    store: HistoryStore, add: Callable[..., None]
) -> None:
    add("u1", "activity", T0, T0 + 2 * S, clicks_5m=2)  # written first, ingested later
    add("u1", "activity", T0, T0 + S, clicks_5m=1)  # written second, ingested earlier
    (row,) = join(store, ("u1", T0 + M))
    assert row["activity__clicks_5m"] == 2  # created_ts decides, not the write order
    # Equal event_ts and created_ts (a retried write): the later write (higher seq) wins, as in Redis.
    add("u2", "activity", T0, T0, clicks_5m=10)
    add("u2", "activity", T0, T0, clicks_5m=11)
    (row,) = join(store, ("u2", T0 + M))
    assert row["activity__clicks_5m"] == 11


def test_newer_event_wins_over_a_later_ingest_of_an_older_event(
    store: HistoryStore, add: Callable[..., None]
) -> None:
    add("u1", "activity", T0 + M, T0 + M, clicks_5m=2)
    add("u1", "activity", T0, T0 + 3 * M, clicks_5m=9)  # backfill of an older window, ingested later
    (row,) = join(store, ("u1", T0 + 4 * M))
    assert row["activity__clicks_5m"] == 2


def test_every_spine_row_is_kept_and_nulls_are_counted_per_group(
    store: HistoryStore, add: Callable[..., None]
) -> None:
    add("u1", "activity", T0, T0, clicks_5m=1)
    add("u1", "profile", T0 - 2 * M, T0 - 2 * M, country="FR")
    spine = [
        SpineRow(1, "u1", T0, 1),  # both groups
        SpineRow(2, "u1", T0 + ACTIVITY.ttl + S, 0),  # activity expired, profile valid
        SpineRow(3, "nobody", T0, 1),  # no history at all
        SpineRow(4, "u1", T0 - M, 0),  # before the first activity version, profile valid
        SpineRow(5, "u1", T0, 0),  # same user and instant as row 1: kept, not merged
    ]
    ts = build_training_set(store.con, spine, DEFAULT_SCHEMA)
    assert ts.spine_rows == ts.output_rows == ts.table.num_rows == 5
    assert ts.table.column("spine_id").to_pylist() == [1, 2, 3, 4, 5]
    assert ts.nulls == {"activity": 3, "profile": 1}
    assert ts.table.column("label").to_pylist() == [1, 0, 1, 0, 0]


def test_aware_label_times_are_converted_to_utc(store: HistoryStore, add: Callable[..., None]) -> None:
    add("u1", "activity", T0, T0, clicks_5m=1)
    plus_two = datetime(2026, 3, 2, 14, 0, 0, tzinfo=timezone(timedelta(hours=2)))
    (row,) = build_training_set(store.con, [SpineRow(1, "u1", plus_two, 0)], DEFAULT_SCHEMA).table.to_pylist()
    # 14:00+02:00 is 12:00 UTC = T0: the boundary holds across time zones.
    assert row["activity__clicks_5m"] == 1


def test_spine_ids_must_be_unique(store: HistoryStore) -> None:
    spine = spine_to_arrow([SpineRow(1, "u1", T0, 0), SpineRow(1, "u2", T0, 0)])
    with pytest.raises(FeatureCacheError, match="unique"):
        build_training_set(store.con, spine, DEFAULT_SCHEMA)


def test_spine_with_extra_columns_passes_them_through(store: HistoryStore) -> None:
    spine = spine_to_arrow([SpineRow(1, "u1", T0, 0)]).append_column("case", pa.array(["x"]))
    ts = build_training_set(store.con, spine, DEFAULT_SCHEMA)
    assert ts.table.column("case").to_pylist() == ["x"]
