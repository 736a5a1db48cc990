"""The materializer's batch step without a broker or Redis: newest version per key, every version
to the history, TTLs from the policy, and offsets stored only after Redis took the batch; on a
Redis Cluster, one write script per user instead of one MULTI/EXEC across users."""

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
from redis.exceptions import NoScriptError

from feature_cache.errors import FeatureCacheTransientError
from feature_cache.offline.history import HistoryStore
from feature_cache.precompute import materializer
from feature_cache.precompute.features import PRECOMPUTE_SCHEMA, TtlBounds
from feature_cache.precompute.materializer import WRITE_SHA, Materializer, write_args
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


class FakeClusterPipeline:
    def __init__(self, client: FakeClusterRedis) -> None:
        self.client = client
        self.calls: list[tuple[str, list[object], list[object]]] = []

    def execute_command(self, command: str, sha: str, numkeys: int, *keys_and_args: object) -> None:
        assert command == "EVALSHA"
        self.calls.append((sha, list(keys_and_args[:numkeys]), list(keys_and_args[numkeys:])))

    def execute(self) -> None:
        if self.client.scripts_lost:
            raise NoScriptError("No matching script. Please use EVAL.")
        self.client.executed.append(self.calls)


class FakeClusterRedis:
    """What the materializer uses of a cluster client: non-transactional pipelines, SCRIPT LOAD."""

    def __init__(self, scripts_lost: bool = False) -> None:
        self.scripts_lost = scripts_lost
        self.loaded = 0
        self.executed: list[list[tuple[str, list[object], list[object]]]] = []

    def pipeline(self, transaction: bool) -> FakeClusterPipeline:
        assert not transaction  # a MULTI/EXEC may not span slots, and users are spread over them
        return FakeClusterPipeline(self)

    def script_load(self, script: str) -> str:
        self.loaded += 1
        self.scripts_lost = False
        return WRITE_SHA


@pytest.fixture
def as_cluster(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(materializer, "is_cluster", lambda client: isinstance(client, FakeClusterRedis))


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
    tmp_path: Path, client: FakeRedis | FakeClusterRedis, consumer: FakeConsumer, history: HistoryStore
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
        ("del", "fc:{u1}:realtime"),
        ("hset", "fc:{u1}:realtime"),
        ("expire", "fc:{u1}:realtime"),
        ("del", "fc:{u2}:profile"),
        ("hset", "fc:{u2}:profile"),
        ("expire", "fc:{u2}:profile"),
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


def test_the_write_scripts_arguments_are_ttl_count_then_pairs_per_key() -> None:
    args = write_args([({"a": "1", "_event_ts": "5"}, 60), ({"b": ""}, 900)])
    assert args == [60, 2, "a", "1", "_event_ts", "5", 900, 1, "b", ""]


CLUSTER_BATCH = [
    *BATCH,
    Msg(1, 9, record("u1", "profile", 4, {"preferred_platform": "ios", "platforms_24h": 2})),
]


@pytest.mark.usefixtures("as_cluster")
def test_on_a_cluster_each_user_is_one_script_in_one_pipeline_without_multi(tmp_path: Path) -> None:
    client, consumer = FakeClusterRedis(), FakeConsumer()
    with HistoryStore.open(":memory:", PRECOMPUTE_SCHEMA) as history:
        m = _materializer(tmp_path, client, consumer, history)
        m.apply(CLUSTER_BATCH)  # type: ignore[arg-type]
    (calls,) = client.executed  # one pipeline for the batch
    assert [(sha, keys) for sha, keys, _ in calls] == [
        (WRITE_SHA, ["fc:{u1}:realtime", "fc:{u1}:profile"]),  # one user: one slot, one script
        (WRITE_SHA, ["fc:{u2}:profile"]),
    ]
    u1_args = calls[0][2]
    n = cast(int, u1_args[1])
    assert u1_args[0] == 60 and u1_args[2 + 2 * n] == 900  # each key's TTL from the policy
    fields = dict(zip(u1_args[2 : 2 + 2 * n : 2], u1_args[3 : 3 + 2 * n : 2], strict=True))
    assert (fields["events_60s"], fields["session_events"]) == ("2", "2")  # the newest version
    assert client.loaded == 0
    assert sorted((tp.partition, tp.offset) for tp in consumer.stored) == [(0, 12), (1, 10)]
    assert m.stats.keys_written == 3


@pytest.mark.usefixtures("as_cluster")
def test_a_master_without_the_script_gets_it_and_the_batch_again(tmp_path: Path) -> None:
    client, consumer = FakeClusterRedis(scripts_lost=True), FakeConsumer()
    with HistoryStore.open(":memory:", PRECOMPUTE_SCHEMA) as history:
        m = _materializer(tmp_path, client, consumer, history)
        m.apply(BATCH)  # type: ignore[arg-type]
    assert client.loaded == 1
    (calls,) = client.executed
    assert [keys for _, keys, _ in calls] == [["fc:{u1}:realtime"], ["fc:{u2}:profile"]]
