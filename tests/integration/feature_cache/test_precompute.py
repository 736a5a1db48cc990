"""Streaming precompute end to end on a scripted stream: exact features in Redis and the history.

Scripted events go through the kernel's edge producer into a one-partition
topic, the feature job runs bounded (parallelism 1, so the order written
here is the order read), the materializer drains the feature topic into
Redis and a DuckDB history. Every expected number below is worked out by
hand from the script; times are seconds after T0.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis

from feature_cache.offline.history import HISTORY_TABLE, HistoryStore
from feature_cache.precompute.features import PRECOMPUTE_SCHEMA, TtlBounds
from feature_cache.precompute.job import FeatureJob, FeatureJobOptions
from feature_cache.precompute.materializer import Materializer, MaterializeStats
from feature_cache.precompute.records import decode_hash, redis_key
from feature_cache.precompute.settings import PrecomputeSettings
from feature_cache.precompute.ttl import TtlPolicy
from starlab.events.model import Event
from starlab.events.producer import EdgeProducer
from starlab.kafka_io import delete_topics, read_all
from starlab.settings import Settings

pytestmark = pytest.mark.integration

T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z
T0_DT = datetime.fromtimestamp(T0 / 1000, tz=UTC)


def ev(eid: str, user: str, second: float, etype: str, item: str, platform: str, session: str,
       ingest_second: float | None = None) -> Event:  # fmt: skip
    ts = T0 + int(second * 1000)
    ingest = T0 + int((ingest_second if ingest_second is not None else second) * 1000) + 500
    return Event(
        eid, user, item, etype, ts, ingest, platform, session, 100 if etype == "impression" else None
    )


# In send order. The watermark trails the newest event time by 5 s.
SCRIPT = [
    ev("a1", "uA", 0, "impression", "I1", "ios", "s1"),
    ev("b1", "uB", 5, "impression", "I9", "android", "s9"),
    ev("a2", "uA", 10, "click", "I1", "ios", "s1"),
    ev("a2", "uA", 10, "click", "I1", "ios", "s1", ingest_second=12),  # client retry: counted once
    ev("b2", "uB", 20, "click", "I9", "android", "s9"),
    ev("a3", "uA", 40, "impression", "I2", "web", "s1"),
    ev("a4", "uA", 100, "click", "I2", "web", "s1"),
    ev("a5", "uA", 400, "impression", "I3", "web", "s2"),  # watermark -> 395
    ev("aL", "uA", 200, "click", "I4", "web", "s1", ingest_second=401),  # 195 s behind: late, left out
    ev("b3", "uB", 398, "impression", "I8", "ios", "s9", ingest_second=402),  # 3 s ahead of the watermark
]

# Versions per user: activity and realtime on each on-time event, profile on change.
# uA: a1 ios/1 (new), a2 ios/1, a3 ios/2 (changed), a4 ios-web tie -> ios/2, a5 web/2 (changed)
# uB: b1 android/1 (new), b2 android/1, b3 android/2 (changed)
EXPECTED_VERSIONS = {"activity": 8, "realtime": 8, "profile": 5}

EXPECTED_REDIS = {
    ("uA", "activity"): {
        # 5 min = [100, 400]: a4 (click) and a5; 1 h: a1..a5 without the late aL
        "events_5m": 2, "clicks_5m": 1, "events_1h": 5, "clicks_1h": 2, "impressions_1h": 3,
        "ctr_1h": 2 / 3, "last_item_id": "I3",
    },
    ("uA", "realtime"): {"events_60s": 1, "session_id": "s2", "session_events": 1, "session_clicks": 0},
    ("uA", "profile"): {"preferred_platform": "web", "platforms_24h": 2},
    ("uB", "activity"): {
        # 5 min = [98, 398]: b3 only
        "events_5m": 1, "clicks_5m": 0, "events_1h": 3, "clicks_1h": 1, "impressions_1h": 2,
        "ctr_1h": 0.5, "last_item_id": "I8",
    },
    ("uB", "realtime"): {"events_60s": 1, "session_id": "s9", "session_events": 3, "session_clicks": 1},
    ("uB", "profile"): {"preferred_platform": "android", "platforms_24h": 2},
}  # fmt: skip

EXPECTED_EVENT_S = {"uA": 400, "uB": 398}

# Fixed bounds make the TTL each group gets exact (the dynamics are unit-tested).
TTLS = {
    "activity": TtlBounds(base_s=300, min_s=300, max_s=300),
    "realtime": TtlBounds(base_s=60, min_s=60, max_s=60),
    "profile": TtlBounds(base_s=3_600, min_s=3_600, max_s=3_600),
}


@dataclass
class PrecomputeRun:
    settings: Settings
    cfg: PrecomputeSettings
    stats: MaterializeStats
    history: Path
    redis: redis.Redis


@pytest.fixture(scope="module")
def run(stack: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrecomputeRun]:
    tag = uuid.uuid4().hex[:8]
    root = tmp_path_factory.mktemp("precompute")
    settings = stack.model_copy(
        update={
            "events_topic": f"t{tag}.events",
            "dlq_topic": f"t{tag}.events.dlq",
            "kafka_partitions": 1,
            "data_dir": root / "data",
        }
    )
    cfg = PrecomputeSettings(
        topic=f"t{tag}.features",
        late_topic=f"t{tag}.features.late",
        topic_partitions=1,
        checkpoint_interval_ms=1_000,
        group_id=f"t{tag}-job",
        key_prefix=f"t{tag}:fc",
        consumer_group=f"t{tag}-materializer",
        history_path=root / "history.duckdb",
    )
    with EdgeProducer(settings) as producer:
        for e in SCRIPT:
            producer.send(e.to_json_bytes())
    assert producer.stats.delivery_failures == 0 and producer.stats.accepted == len(SCRIPT)

    job = FeatureJob(settings, cfg, FeatureJobOptions(bounded=True), name=f"features-{tag}")
    job.start()
    job.wait_finished(timeout_s=300)

    client = redis.Redis.from_url(settings.redis_url)
    policy = TtlPolicy(TTLS, clock=lambda: T0 / 1000 + 405)
    with Materializer(settings, cfg, redis_client=client, ttl=policy) as m:
        stats = m.run(until_end=True, timeout_s=120)
    yield PrecomputeRun(settings, cfg, stats, root / "history.duckdb", client)

    keys = list(client.scan_iter(match=f"{cfg.key_prefix}:*"))
    if keys:
        client.delete(*keys)
    delete_topics(settings, [settings.events_topic, settings.dlq_topic, cfg.topic, cfg.late_topic])


def test_exactly_once_one_version_per_on_time_event_and_group(run: PrecomputeRun) -> None:
    msgs = list(read_all(run.settings, run.cfg.topic))  # read_committed
    values = [json.loads(m.value()) for m in msgs]
    assert Counter(v["feature_group"] for v in values) == EXPECTED_VERSIONS
    # No version twice: (user, group, event time) is unique, so the resent a2 added nothing.
    ids = [(v["user_id"], v["feature_group"], v["event_ts"]) for v in values]
    assert len(ids) == len(set(ids)) == sum(EXPECTED_VERSIONS.values())
    keys = {json.loads(m.key()) == {"user_id": v["user_id"], "feature_group": v["feature_group"]}
            for m, v in zip(msgs, values, strict=True)}  # fmt: skip
    assert keys == {True}
    assert run.stats.records == sum(EXPECTED_VERSIONS.values())
    assert run.stats.bad_records == 0


def test_late_event_is_counted_not_featured(run: PrecomputeRun) -> None:
    late = [json.loads(m.value()) for m in read_all(run.settings, run.cfg.late_topic)]
    assert [x["event_id"] for x in late] == ["aL"]
    assert late[0]["behind_ms"] == 195_000


def test_redis_holds_the_newest_version_with_its_times_and_ttl(run: PrecomputeRun) -> None:
    for (user, group), expected in EXPECTED_REDIS.items():
        key = redis_key(run.cfg.key_prefix, user, group)
        cached = decode_hash(PRECOMPUTE_SCHEMA.group(group), run.redis.hgetall(key))
        assert cached is not None, key
        assert dict(cached.values) == pytest.approx(expected), key
        assert cached.event_ts == T0_DT + timedelta(seconds=EXPECTED_EVENT_S[user]), key
        assert cached.emit_ts <= cached.ingest_ts, key
        ttl = run.redis.ttl(key)
        # Bounded by the key's own write time, not a fixed margin: the tests before this one
        # may take half a minute on a starved machine, and the realtime TTL is 60 s.
        written_ago_s = (datetime.now(UTC) - cached.ingest_ts).total_seconds()
        assert TTLS[group].base_s - written_ago_s - 2 <= ttl <= TTLS[group].base_s, (key, ttl)


def test_history_has_every_version_with_event_and_created_time(run: PrecomputeRun) -> None:
    with HistoryStore.open(run.history, PRECOMPUTE_SCHEMA) as store:
        assert {g: store.count(g) for g in EXPECTED_VERSIONS} == EXPECTED_VERSIONS
        rows = store.con.execute(
            f"SELECT user_id, event_ts, created_ts, events_5m, clicks_5m, events_1h "
            f"FROM {HISTORY_TABLE} WHERE feature_group = 'activity' AND user_id = 'uA' ORDER BY event_ts"
        ).fetchall()
    # One version per on-time event of uA (a1, a2, a3, a4, a5), each as of its own event time.
    t0 = T0_DT.replace(tzinfo=None)  # the history stores UTC wall time
    assert [r[1] for r in rows] == [t0 + timedelta(seconds=s) for s in (0, 10, 40, 100, 400)]
    assert [(r[3], r[4], r[5]) for r in rows] == [(1, 0, 1), (2, 1, 2), (3, 1, 3), (4, 2, 4), (2, 1, 5)]
    assert all(r[2] > r[1] for r in rows)  # created (ingest) after the event time
