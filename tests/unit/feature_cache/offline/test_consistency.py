"""Consistency between what Redis served at T and the history as of T: counting, parsing, tolerances."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from feature_cache.errors import FeatureCacheError
from feature_cache.offline.consistency import (
    FloatTolerance,
    MismatchReason,
    OnlineRead,
    check_consistency,
    parse_online_value,
    values_equal,
)
from feature_cache.offline.history import FeatureVersion, HistoryStore
from feature_cache.offline.schema import DEFAULT_SCHEMA, FeatureType

T0 = datetime(2026, 3, 2, 12, 0, 0)
S = timedelta(seconds=1)

ACT = {
    "clicks_5m": b"3",
    "views_5m": b"10",
    "ctr_1h": b"0.3",
    "dwell_ms_p50_1h": b"1500.25",
    "last_item_id": b"i00042",
    "last_category": b"news",
}


@pytest.fixture
def history(store: HistoryStore) -> HistoryStore:
    dtypes = {f.name: f.dtype for f in DEFAULT_SCHEMA.group("activity").features}
    values = {k: parse_online_value(v, dtypes[k]) for k, v in ACT.items()}
    versions = [FeatureVersion(f"u{u}", "activity", T0, T0 + S, values) for u in range(200)]
    # a newer version of u0, known from T0+61s
    versions.append(FeatureVersion("u0", "activity", T0 + 60 * S, T0 + 61 * S, {**values, "clicks_5m": 4}))
    store.append(versions)
    return store


def read(user: str, at: datetime, **override: bytes | None) -> OnlineRead:
    return OnlineRead(user, "activity", {**ACT, **override}, T0, at)


def test_equal_reads_have_zero_error(history: HistoryStore) -> None:
    reads = [read(f"u{u}", T0 + 10 * S) for u in range(200)]
    rep = check_consistency(history.con, reads, DEFAULT_SCHEMA)
    assert (rep.reads, rep.mismatched_reads, rep.rate) == (200, 0, 0.0)
    assert rep.features_compared == 200 * 6


def test_mismatches_are_counted_per_read_and_per_feature(history: HistoryStore) -> None:
    reads = [read(f"u{u}", T0 + 10 * S) for u in range(197)]
    reads.append(read("u197", T0 + 10 * S, clicks_5m=b"4", last_category=b"music"))  # 2 features
    reads.append(read("nobody", T0 + 10 * S))  # the history never had this user
    reads.append(read("u0", T0 + 62 * S))  # stale: offline moved on to clicks_5m=4 at T0+61s
    rep = check_consistency(history.con, reads, DEFAULT_SCHEMA)
    assert rep.reads == 200
    assert rep.mismatched_reads == 3
    assert rep.rate == pytest.approx(0.015)
    assert rep.no_offline == 1
    assert rep.mismatched_features == 3
    assert rep.version_differs == 1  # u0's served event_ts (T0) is not the offline one (T0+60s)
    assert {m.reason for m in rep.examples} == {MismatchReason.VALUE, MismatchReason.NO_OFFLINE}
    assert rep.mismatched_by_group == {"activity": 3}


def test_a_version_the_history_wrote_after_t_is_not_offline_truth_at_t(history: HistoryStore) -> None:
    # At T0+60.5s the newer u0 version (created T0+61s) is not known yet: serving the old one is right.
    rep = check_consistency(history.con, [read("u0", T0 + 60 * S + S / 2)], DEFAULT_SCHEMA)
    assert rep.mismatched_reads == 0
    # A writer stamping created_ts after writing Redis: the grace lets the newer version count.
    fresh = read("u0", T0 + 60 * S + S / 2, clicks_5m=b"4")
    assert check_consistency(history.con, [fresh], DEFAULT_SCHEMA).mismatched_reads == 1
    assert check_consistency(history.con, [fresh], DEFAULT_SCHEMA, ingest_grace=S).mismatched_reads == 0


def test_float_tolerance_rules() -> None:
    tol = FloatTolerance()
    f = FeatureType.FLOAT64
    assert values_equal(0.3, 0.30000001, f, tol)  # float32-like rounding
    assert not values_equal(0.3, 0.3001, f, tol)
    assert values_equal(0.0, 1e-12, f, tol)  # abs tolerance near zero
    assert values_equal(float("nan"), float("nan"), f, tol)
    assert not values_equal(None, 0.0, f, tol)
    assert values_equal(None, None, FeatureType.INT64, tol)
    assert not values_equal(3, 4, FeatureType.INT64, tol)
    assert values_equal("", None, FeatureType.STRING, tol)


def test_values_from_redis_are_parsed_by_declared_type() -> None:
    assert parse_online_value(b"12", FeatureType.INT64) == 12
    assert parse_online_value("0.5", FeatureType.FLOAT64) == 0.5
    assert parse_online_value(b"true", FeatureType.BOOL) is True
    assert parse_online_value(b"0", FeatureType.BOOL) is False
    assert parse_online_value(b"", FeatureType.INT64) is None
    assert parse_online_value(7, FeatureType.INT64) == 7
    with pytest.raises(FeatureCacheError, match="not a valid int64"):
        parse_online_value(b"seven", FeatureType.INT64)


def test_unknown_features_in_a_read_are_refused(history: HistoryStore) -> None:
    bad = OnlineRead("u1", "activity", {"country": b"DE"}, None, T0)
    with pytest.raises(FeatureCacheError, match="unknown features"):
        check_consistency(history.con, [bad], DEFAULT_SCHEMA)
