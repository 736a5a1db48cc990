"""The freshness rule and design B's read plan: a value older than its TTL is never "fresh".

Issue 9: "An online read never serves a value older than its TTL as fresh: it
is refreshed on demand, or returned flagged stale (Feast's #6821 serves it as
fresh)". Pure functions, no Redis: the replies a pipeline would return are
built by hand.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from feature_cache.serving.cache import (
    CachedGroup,
    CacheFailure,
    CacheRead,
    CacheReader,
    Freshness,
    TtlTable,
    freshness,
    plan_read,
)
from feature_cache.serving.keys import (
    VIEW,
    FieldType,
    GroupName,
    decode_value,
    encode_group,
    encode_value,
    group_key,
)

NOW_MS = 1_800_000_000_000
STATIC = TtlTable.static(300.0, 60.0, ["intent"])
FAST = frozenset({GroupName.INTENT})


def _cached(age_s: float) -> CachedGroup:
    return CachedGroup(values={}, event_ts_ms=int(NOW_MS - age_s * 1000), ingest_ts_ms=NOW_MS)


@pytest.mark.parametrize("ttl_s", [1.0, 60.0, 300.0, 86_400.0])
def test_a_value_older_than_its_ttl_is_never_fresh(ttl_s: float) -> None:
    # Ages around the boundary and far past it: one millisecond over is already stale.
    for over_ms in (1, 2, 1_000, 10 * ttl_s * 1000):
        cached = CachedGroup({}, int(NOW_MS - ttl_s * 1000 - over_ms), NOW_MS)
        assert freshness(cached, NOW_MS, ttl_s) is Freshness.STALE
    assert freshness(_cached(ttl_s), NOW_MS, ttl_s) is Freshness.FRESH  # exactly TTL old: still fresh
    assert freshness(_cached(0.0), NOW_MS, ttl_s) is Freshness.FRESH
    assert freshness(None, NOW_MS, ttl_s) is Freshness.MISSING


def test_age_counts_from_the_event_time_not_the_write() -> None:
    # Written a second ago (the key's expiry would say "alive") but holding values 90 s old.
    late = CachedGroup({}, event_ts_ms=NOW_MS - 90_000, ingest_ts_ms=NOW_MS - 1_000)
    assert freshness(late, NOW_MS, 60.0) is Freshness.STALE
    assert late.age_s(NOW_MS) == 90.0


def test_a_clock_ahead_of_the_reader_counts_as_age_zero() -> None:
    ahead = CachedGroup({}, event_ts_ms=NOW_MS + 5_000, ingest_ts_ms=NOW_MS)
    assert freshness(ahead, NOW_MS, 60.0) is Freshness.FRESH
    assert ahead.age_s(NOW_MS) == 0.0


def _read(**ages: float | None) -> CacheRead:
    """Every group 1 s old unless an age is given; None = missing."""
    groups: dict[GroupName, CachedGroup | None] = {}
    for g in VIEW:
        age = ages.get(g.name.value, 1.0)
        groups[g.name] = None if age is None else _cached(age)
    return CacheRead(groups, STATIC)


def test_a_stale_fast_group_is_refreshed_and_a_stale_slow_one_is_served_stale() -> None:
    plan = plan_read(_read(intent=61.0, social=301.0), NOW_MS, FAST, killswitch=False)
    assert plan.freshness[GroupName.INTENT] is Freshness.STALE
    assert plan.freshness[GroupName.SOCIAL] is Freshness.STALE
    assert plan.refresh == {GroupName.INTENT}  # the call can refresh the intent, not the social graph
    assert not plan.hit


def test_a_missing_group_the_call_supplies_triggers_it_a_missing_slow_one_does_not() -> None:
    assert plan_read(_read(embeddings=None), NOW_MS, FAST, killswitch=False).refresh == {GroupName.EMBEDDINGS}
    plan = plan_read(_read(geo=None), NOW_MS, FAST, killswitch=False)
    assert plan.refresh == frozenset() and not plan.hit
    assert plan_read(_read(), NOW_MS, FAST, killswitch=False).hit


def test_no_call_under_the_kill_switch_or_when_redis_failed() -> None:
    stale = _read(intent=120.0, embeddings=None)
    assert plan_read(stale, NOW_MS, FAST, killswitch=True).refresh == frozenset()
    failed = CacheReader("p", STATIC).failed(CacheFailure.UNAVAILABLE, "ConnectionError", 0.1)
    plan = plan_read(failed, NOW_MS, FAST, killswitch=False)
    assert plan.refresh == frozenset() and all(f is Freshness.MISSING for f in plan.freshness.values())


def test_published_ttls_may_lengthen_never_shorten() -> None:
    dyn = STATIC.with_published({GroupName.INTENT: 125.0, GroupName.SOCIAL: 10.0})
    assert dyn.dynamic and dyn.of(GroupName.INTENT) == 125.0 and dyn.of(GroupName.SOCIAL) == 300.0
    assert STATIC.with_published({}) is STATIC
    read = CacheRead({g.name: _cached(90.0) for g in VIEW}, dyn)
    assert plan_read(read, NOW_MS, FAST, killswitch=False).freshness[GroupName.INTENT] is Freshness.FRESH


def test_decoding_a_pipeline_reply() -> None:
    reader = CacheReader("p", STATIC)
    replies: list[list[bytes | None]] = []
    for g in VIEW:
        fields: list[bytes | None] = [b"1"] * len(g.fields)
        if g.name is GroupName.EMBEDDINGS:
            fields = [b"0.5,-0.25"]
        if g.name is GroupName.INTENT:
            fields = [b"browse", b"42"]
        if g.name is GroupName.GEO:
            fields = [b"US", b"", b"America/New_York"]
        if g.name is GroupName.ABUSE:
            fields = [b"junk", b"1"]  # a corrupt float: the group is not servable
        replies.append([*fields, str(NOW_MS).encode(), str(NOW_MS).encode()])
    replies[0] = [None] * (len(VIEW[0].fields) + 2)  # social missing
    read = reader.decode(replies, dynamic=False, extend=False)
    assert read.groups[GroupName.SOCIAL] is None
    emb, intent, geo = (read.groups[n] for n in (GroupName.EMBEDDINGS, GroupName.INTENT, GroupName.GEO))
    assert emb is not None and emb.values["embedding"] == (0.5, -0.25)
    assert intent is not None and intent.values == {"session_intent": "browse", "intent_epoch": 42}
    assert geo is not None and geo.values["city"] is None
    assert read.groups[GroupName.ABUSE] is None and read.corrupt == (GroupName.ABUSE,)


def test_the_layout_is_the_materializers() -> None:
    """Keys and field encodings agree with feature_cache.precompute.records (the writer's contract)."""
    from feature_cache.precompute.features import ACTIVITY
    from feature_cache.precompute.records import FeatureRecord, redis_key, to_redis_hash

    assert group_key("fc", "u000042", "activity") == redis_key("fc", "u000042", "activity")
    ts = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    values = {
        "events_5m": 3, "clicks_5m": 1, "events_1h": 20, "clicks_1h": 4, "impressions_1h": 16,
        "ctr_1h": 0.25, "last_item_id": None,
    }  # fmt: skip
    theirs = to_redis_hash(FeatureRecord("u1", "activity", values, ts, ts, None), ACTIVITY, ts)
    types = {
        "int64": FieldType.INT,
        "float64": FieldType.FLOAT,
        "string": FieldType.STR,
        "bool": FieldType.BOOL,
    }
    for f in ACTIVITY.features:
        ours = encode_value(values[f.name], types[f.dtype.value])
        assert ours == theirs[f.name]
        assert decode_value(theirs[f.name].encode(), types[f.dtype.value]) == values[f.name]
    mine = encode_group(VIEW[0], {}, event_ts_ms=1, ingest_ts_ms=2)
    assert {k for k in theirs if k.startswith("_")} == {k for k in mine if k.startswith("_")}
    assert encode_value(True, FieldType.BOOL) == theirs_bool()


def theirs_bool() -> str:
    from feature_cache.precompute.records import _encode

    return _encode(True)


def test_the_scripts_arguments_and_its_reply_with_published_ttls_and_extension() -> None:
    reader = CacheReader("p", STATIC)
    keys, args = reader._args("u7", dynamic=True, extend={g.name: 120.0 for g in VIEW})
    assert keys == [f"p:{{u7}}:{g.name.value}" for g in VIEW] + ["p:_ttl"]
    assert args[:2] == [len(VIEW), "1"] and args[2 : 2 + len(VIEW)] == [120] * len(VIEW)
    # Per group: the field count, then the features and the two timestamps.
    assert args[2 + len(VIEW)] == len(VIEW[0].fields) + 2
    fresh = [str(NOW_MS).encode(), str(NOW_MS).encode()]
    replies: list[object] = [[None] * len(g.fields) + fresh for g in VIEW]
    replies.append([None, None, b"125", None, b"junk"])  # the published TTLs, by group order
    replies.append(5)  # keys whose expiry the script raised
    read = reader.decode(replies, dynamic=True, extend=True)
    assert read.ttl.dynamic and read.ttl.of(GroupName.INTENT) == 125.0
    assert read.ttl.of(GroupName.ABUSE) == 300.0  # junk is ignored: the static TTL stays
    assert read.extended == 5
    assert reader._args("u7", dynamic=False, extend=None)[1][1:3] == ["0", 0]
