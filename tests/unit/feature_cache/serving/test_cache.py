"""`CacheReader` on a Redis Cluster: the published-TTL hash (no user's slot) is read beside the
script and cached for `ttl_refresh_s`; on a standalone Redis the script still reads it every time.
Fake clients stand in for redis-py (no server): what is checked is which keys go where."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, cast

import pytest
from redis.crc import key_slot

from feature_cache.serving import cache
from feature_cache.serving.cache import CacheReader, TtlTable
from feature_cache.serving.keys import VIEW, GroupName, ttl_key
from starlab.redis_client import AsyncRedis, SyncRedis

STATIC = TtlTable.static(300.0, 60.0, ["intent"])
NOW_MS = 1_800_000_000_000
PUBLISHED = [None, None, b"125", None, None]  # by group order: intent's TTL published


class FakeClient:
    """Records the script's KEYS/ARGV and the HMGETs; answers every group fresh."""

    def __init__(self, cluster: bool) -> None:
        self.cluster = cluster
        self.scripts: list[tuple[list[str], list[Any]]] = []
        self.hmgets: list[str] = []

    def register_script(self, _: str) -> FakeScript:
        return FakeScript(self)

    def reply(self, keys: Sequence[str]) -> list[Any]:
        ts = str(NOW_MS).encode()
        out: list[Any] = [[None] * len(g.fields) + [ts, ts] for g in VIEW]
        if len(keys) > len(VIEW):  # the script read the TTL hash too
            out.append(PUBLISHED)
        out.append(0)
        return out

    async def hmget(self, key: str, fields: Sequence[str]) -> list[Any]:
        return self.hmget_sync(key, fields)

    def hmget_sync(self, key: str, fields: Sequence[str]) -> list[Any]:
        self.hmgets.append(key)
        assert list(fields) == [g.name.value for g in VIEW]
        return PUBLISHED


class FakeScript:
    def __init__(self, client: FakeClient) -> None:
        self.client = client

    def __call__(self, keys: list[str], args: list[Any]) -> Any:
        self.client.scripts.append((keys, args))
        return self.client.reply(keys)


class FakeAsyncScript(FakeScript):
    async def __call__(self, keys: list[str], args: list[Any]) -> Any:  # type: ignore[override]
        return super().__call__(keys, args)


class FakeAsyncClient(FakeClient):
    def register_script(self, _: str) -> FakeScript:
        return FakeAsyncScript(self)


class FakeSyncClient(FakeClient):
    def hmget(self, key: str, fields: Sequence[str]) -> list[Any]:  # type: ignore[override]
        return self.hmget_sync(key, fields)


@pytest.fixture(autouse=True)
def _fake_topology(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cache, "is_cluster", lambda client: getattr(client, "cluster", False))


def _read(reader: CacheReader, client: FakeClient) -> cache.CacheRead:
    return asyncio.run(reader.read(cast(AsyncRedis, client), "u7", budget_s=1.0, dynamic=True))


def test_on_a_cluster_the_script_touches_one_slot_and_the_ttls_are_read_beside_it() -> None:
    reader, client = CacheReader("fc", STATIC), FakeAsyncClient(cluster=True)
    read = _read(reader, client)
    ((keys, args),) = client.scripts
    assert len({key_slot(k.encode()) for k in keys}) == 1  # the user's groups only
    assert ttl_key("fc") not in keys and args[1] == "0"  # the script does not read the TTL hash
    assert client.hmgets == [ttl_key("fc")]
    assert read.failure is None and read.ttl.dynamic and read.ttl.of(GroupName.INTENT) == 125.0
    assert read.ttl.of(GroupName.SOCIAL) == 300.0


def test_the_published_ttls_are_kept_for_the_refresh_interval() -> None:
    reader, client = CacheReader("fc", STATIC, ttl_refresh_s=3600.0), FakeAsyncClient(cluster=True)
    reads = [_read(reader, client) for _ in range(3)]
    assert len(client.scripts) == 3 and client.hmgets == [ttl_key("fc")]  # one HMGET for three reads
    assert all(r.ttl.of(GroupName.INTENT) == 125.0 for r in reads)
    stale = CacheReader("fc", STATIC, ttl_refresh_s=0.0)
    for _ in range(2):
        _read(stale, client)
    assert len(client.hmgets) == 3  # refreshed on every read once the interval is over


def test_a_static_read_on_a_cluster_reads_no_ttls() -> None:
    reader, client = CacheReader("fc", STATIC), FakeAsyncClient(cluster=True)
    read = asyncio.run(reader.read(cast(AsyncRedis, client), "u7", budget_s=1.0))
    assert client.hmgets == [] and not read.ttl.dynamic


def test_on_a_standalone_redis_the_script_still_reads_the_ttls_itself() -> None:
    reader, client = CacheReader("fc", STATIC), FakeAsyncClient(cluster=False)
    read = _read(reader, client)
    ((keys, args),) = client.scripts
    assert keys[-1] == ttl_key("fc") and args[1] == "1"
    assert client.hmgets == []
    assert read.ttl.dynamic and read.ttl.of(GroupName.INTENT) == 125.0


def test_the_blocking_read_does_the_same_on_a_cluster() -> None:
    reader, client = CacheReader("fc", STATIC), FakeSyncClient(cluster=True)
    read = reader.read_sync(cast(SyncRedis, client), "u7", dynamic=True)
    ((keys, _),) = client.scripts
    assert ttl_key("fc") not in keys and client.hmgets == [ttl_key("fc")]
    assert read.ttl.of(GroupName.INTENT) == 125.0
