"""The materializer's batch step without a broker or Redis: newest version per key, every version
to the history, TTLs from the policy, and offsets stored only after Redis took the batch."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest
import redis
import stamina
from confluent_kafka import Consumer, TopicPartition

from feature_cache.errors import FeatureCacheTransientError
from feature_cache.offline.history import HistoryStore
from feature_cache.precompute.features import PRECOMPUTE_SCHEMA, TtlBounds
from feature_cache.precompute.materializer import Materializer
from feature_cache.precompute.settings import PrecomputeSettings
from feature_cache.precompute.ttl import TtlPolicy
from starlab.settings import Settings

T0 = datetime(2026, 1, 1, tzinfo=UTC)
INGEST = T0 + timedelta(minutes=10)
TTLS = {
    g: TtlBounds(base_s=s, min_s=s, max_s=s)
    for g, s in (("activity", 300), ("realtime", 60), ("profile", 900))
}


@pytest.fixture(autouse=True)
def _no_retry_waits() -> Iterator[None]:
    with stamina.set_testing(True, attempts=2):
        yield


class Msg:
    def __init__(self, partition: int, offset: int, value: bytes) -> None:
        self._p, self._o, self._v = partition, offset, value

    def error(self) -> None:
        return None

    def value(self) -> bytes:
        return self._v

    def topic(self) -> str:
        return "f"

    def partition(self) -> int:
        return self._p

    def offset(self) -> int:
        return self._o


class FakeConsumer:
    def __init__(self) -> None:
        self.stored: list[TopicPartition] = []

    def subscribe(self, topics: list[str]) -> None:
        pass

    def store_offsets(self, offsets: list[TopicPartition]) -> None:
        self.stored.extend(offsets)

    def close(self) -> None:
        pass


class FakePipeline:
    def __init__(self, client: FakeRedis) -> None:
        self.client, self.ops = client, []  # type: ignore[var-annotated]

    def delete(self, key: str) -> None:
        self.ops.append(("del", key, None))

    def hset(self, key: str, mapping: dict[str, str]) -> None:
        self.ops.append(("hset", key, dict(mapping)))

    def expire(self, key: str, ttl: int) -> None:
        self.ops.append(("expire", key, ttl))

    def execute(self) -> None:
        if self.client.down:
            raise redis.exceptions.ConnectionError("connection refused")
        self.client.executed.append(self.ops)


class FakeRedis:
    def __init__(self, down: bool = False) -> None:
        self.down = down
        self.executed: list[list[tuple[str, str, Any]]] = []

    def pipeline(self, transaction: bool) -> FakePipeline:
        assert transaction  # MULTI/EXEC: a reader never sees half a hash
        return FakePipeline(self)


def record(user: str, group: str, second: int, values: dict[str, object]) -> bytes:
    return json.dumps(
        {
            "user_id": user,
            "feature_group": group,
            group: values,
            "event_ts": (T0 + timedelta(seconds=second)).replace(tzinfo=None).isoformat(),
            "emit_ts": (T0 + timedelta(seconds=second + 6)).isoformat(),
        }
    ).encode()


BATCH = [
    Msg(0, 10, record("u1", "realtime", 1, {"events_60s": 1, "session_id": "s", "session_events": 1})),
    Msg(0, 11, record("u1", "realtime", 2, {"events_60s": 2, "session_id": "s", "session_events": 2})),
    Msg(1, 7, b"not json"),
    Msg(1, 8, record("u2", "profile", 3, {"preferred_platform": "web", "platforms_24h": 1})),
]


def _materializer(
    tmp_path: Path, client: FakeRedis, consumer: FakeConsumer, history: HistoryStore
) -> Materializer:
    return Materializer(
        Settings(home=tmp_path / "h", data_dir=tmp_path / "d"),
        PrecomputeSettings(topic="f", key_prefix="fc"),
        redis_client=cast(redis.Redis, client),
        history=history,
        ttl=TtlPolicy(TTLS, clock=lambda: INGEST.timestamp()),
        clock=lambda: INGEST,
        consumer=cast(Consumer, consumer),
    )


def test_a_batch_writes_the_newest_version_per_key_and_every_version_to_history(tmp_path: Path) -> None:
    client, consumer = FakeRedis(), FakeConsumer()
    with HistoryStore.open(":memory:", PRECOMPUTE_SCHEMA) as history:
        m = _materializer(tmp_path, client, consumer, history)
        m.apply(BATCH)  # type: ignore[arg-type]
        assert history.count("realtime") == 2 and history.count("profile") == 1
        created = history.con.execute(
            "SELECT DISTINCT created_ts FROM features.user_feature_history"
        ).fetchall()
    assert created == [(INGEST.replace(tzinfo=None),)]
    (ops,) = client.executed  # one pipeline for the batch
    assert [(op, key) for op, key, _ in ops] == [
        ("del", "fc:u1:realtime"),
        ("hset", "fc:u1:realtime"),
        ("expire", "fc:u1:realtime"),
        ("del", "fc:u2:profile"),
        ("hset", "fc:u2:profile"),
        ("expire", "fc:u2:profile"),
    ]
    u1 = ops[1][2]
    assert (u1["events_60s"], u1["session_events"], u1["session_clicks"]) == ("2", "2", "")
    assert u1["_ingest_ts"] == str(int(INGEST.timestamp() * 1000))
    assert (ops[2][2], ops[5][2]) == (60, 900)
    assert sorted((tp.partition, tp.offset) for tp in consumer.stored) == [(0, 12), (1, 9)]
    assert (m.stats.records, m.stats.bad_records, m.stats.keys_written) == (3, 1, 2)


def test_offsets_are_not_stored_when_redis_does_not_take_the_batch(tmp_path: Path) -> None:
    client, consumer = FakeRedis(down=True), FakeConsumer()
    with HistoryStore.open(":memory:", PRECOMPUTE_SCHEMA) as history:
        m = _materializer(tmp_path, client, consumer, history)
        with pytest.raises(FeatureCacheTransientError, match="Redis did not take"):
            m.apply(BATCH)  # type: ignore[arg-type]
        assert history.count() == 0
    assert consumer.stored == []
    assert m.stats.records == 0
