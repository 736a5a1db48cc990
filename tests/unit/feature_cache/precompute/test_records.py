"""A feature-topic record -> typed FeatureRecord -> Redis hash -> back, and -> history version."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from feature_cache.errors import FeatureCacheError
from feature_cache.precompute.features import ACTIVITY, PRECOMPUTE_SCHEMA, PROFILE
from feature_cache.precompute.records import (
    decode_hash,
    epoch_ms,
    parse_record,
    redis_key,
    split_redis_key,
    to_redis_hash,
)

# As the job writes it: JSON, ISO-8601 times (event_ts without a zone is UTC
# wall time, TIMESTAMP_LTZ with Z), null fields left out.
VALUE = {
    "user_id": "u42",
    "feature_group": "activity",
    "activity": {
        "events_5m": 2,
        "clicks_5m": 1,
        "events_1h": 5,
        "clicks_1h": 2,
        "impressions_1h": 3,
        "ctr_1h": 0.6666666666666666,
        "last_item_id": "I3",
    },
    "event_ts": "2026-01-01T00:06:40",
    "source_ts": "2026-01-01T00:06:40.5Z",
    "emit_ts": "2026-01-01T00:06:46.123Z",
}
INGEST = datetime(2026, 1, 1, 0, 6, 48, 7000, tzinfo=UTC)


def _raw(**changes: object) -> bytes:
    return json.dumps({**VALUE, **changes}).encode()


def test_a_record_parses_to_typed_values_and_utc_times() -> None:
    r = parse_record(_raw())
    assert r is not None
    assert (r.user_id, r.group) == ("u42", "activity")
    assert r.values["events_5m"] == 2 and isinstance(r.values["ctr_1h"], float)
    assert r.event_ts == datetime(2026, 1, 1, 0, 6, 40, tzinfo=UTC)
    assert r.emit_ts == datetime(2026, 1, 1, 0, 6, 46, 123000, tzinfo=UTC)
    assert r.source_ts == datetime(2026, 1, 1, 0, 6, 40, 500000, tzinfo=UTC)


def test_a_null_feature_left_out_by_the_job_is_none() -> None:
    activity = {k: v for k, v in VALUE["activity"].items() if k != "ctr_1h"}  # type: ignore[attr-defined]
    r = parse_record(_raw(activity=activity))
    assert r is not None and r.values["ctr_1h"] is None


def test_a_tombstone_is_no_record() -> None:
    assert parse_record(None) is None


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"feature_group": "weather"}, "unknown feature group 'weather'"),
        ({"activity": {"events_5m": 1, "mood": "good"}}, "unknown features \\['mood'\\]"),
        ({"activity": {"events_5m": "2"}}, "events_5m='2' is not a int64"),
        ({"activity": {"events_5m": True}}, "events_5m=True is not a int64"),
        ({"event_ts": "yesterday"}, "event_ts 'yesterday' is not ISO-8601"),
        ({"user_id": ""}, "without user_id"),
    ],
)
def test_a_record_breaking_the_output_contract_is_named(changes: dict[str, object], problem: str) -> None:
    with pytest.raises(FeatureCacheError, match=problem):
        parse_record(_raw(**changes))


def test_not_json_is_an_error() -> None:
    with pytest.raises(FeatureCacheError, match="not JSON"):
        parse_record(b"{oops")


def test_the_redis_hash_has_every_feature_and_the_three_times() -> None:
    r = parse_record(_raw())
    assert r is not None
    fields = to_redis_hash(r, ACTIVITY, INGEST)
    assert fields == {
        "events_5m": "2",
        "clicks_5m": "1",
        "events_1h": "5",
        "clicks_1h": "2",
        "impressions_1h": "3",
        "ctr_1h": "0.6666666666666666",
        "last_item_id": "I3",
        "_event_ts": str(epoch_ms(datetime(2026, 1, 1, 0, 6, 40, tzinfo=UTC))),
        "_emit_ts": "1767226006123",
        "_ingest_ts": "1767226008007",
    }


def test_null_is_an_empty_field_and_decodes_back_to_none() -> None:
    r = parse_record(_raw(activity={"events_5m": 1}))
    assert r is not None
    fields = to_redis_hash(r, ACTIVITY, INGEST)
    assert fields["ctr_1h"] == "" and fields["last_item_id"] == ""
    cached = decode_hash(ACTIVITY, {k.encode(): v.encode() for k, v in fields.items()})
    assert cached is not None
    assert cached.values["events_5m"] == 1 and cached.values["ctr_1h"] is None


def test_the_hash_round_trips_exactly() -> None:
    r = parse_record(_raw())
    assert r is not None
    cached = decode_hash(ACTIVITY, to_redis_hash(r, ACTIVITY, INGEST))
    assert cached is not None
    assert dict(cached.values) == dict(r.values)  # floats included: repr round-trips
    assert (cached.event_ts, cached.emit_ts, cached.ingest_ts) == (r.event_ts, r.emit_ts, INGEST)
    assert cached.age_s(datetime(2026, 1, 1, 0, 7, 40, tzinfo=UTC)) == 60.0


def test_a_missing_key_decodes_to_none() -> None:
    assert decode_hash(ACTIVITY, {}) is None


def test_a_record_mapped_with_another_group_is_refused() -> None:
    r = parse_record(_raw())
    assert r is not None
    with pytest.raises(FeatureCacheError, match="group"):
        to_redis_hash(r, PROFILE, INGEST)


def test_key_and_history_version() -> None:
    r = parse_record(_raw())
    assert r is not None
    assert redis_key("fc", r.user_id, r.group) == "fc:{u42}:activity"
    v = r.version(INGEST)
    assert (v.user_id, v.group, v.event_ts, v.created_ts) == ("u42", "activity", r.event_ts, INGEST)
    assert v.values == r.values
    assert set(v.values) == set(PRECOMPUTE_SCHEMA.group("activity").feature_names)


def test_the_key_hashes_only_the_user_so_a_users_groups_share_a_cluster_slot() -> None:
    # Redis Cluster hashes the text between the first "{" and the next "}" (the hash tag).
    key = redis_key("lt1a2b:fc", "u42", "activity")
    assert key == "lt1a2b:fc:{u42}:activity"
    assert key[key.index("{") + 1 : key.index("}")] == "u42"


def test_a_key_splits_back_into_user_and_group() -> None:
    assert split_redis_key(redis_key("fc", "u42", "activity")) == ("u42", "activity")
    assert split_redis_key(redis_key("lt1a2b:fc", "u-7_x", "realtime")) == ("u-7_x", "realtime")
    assert split_redis_key("fc:_ttl") is None  # the published TTLs: no user's key
    assert split_redis_key("fc:u42:activity") is None  # the layout before hash tags
    assert split_redis_key("fc:{}:activity") is None
