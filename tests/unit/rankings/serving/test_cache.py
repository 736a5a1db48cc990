"""The warm cache's keys share one hash tag, `{<prefix>}`, so a Redis Cluster keeps a whole ranking
in one slot: the warm's MULTI/EXEC and the scripts' computed keys stay legal there. A fake client
records what would be sent (no server)."""

from __future__ import annotations

from typing import Any, cast

import pytest
from redis.crc import key_slot

from rankings.serving import cache
from rankings.serving.cache import RankingsCache, key_tag, pointer_key, version_key
from rankings.settings import RankingsSettings
from starlab.redis_client import SyncRedis
from starlab.settings import Settings


def _slot(key: str) -> int:
    return key_slot(key.encode())


def test_the_builders_put_the_prefix_in_braces() -> None:
    assert key_tag("rankings") == "{rankings}"
    assert pointer_key("rankings") == "{rankings}:live"
    assert version_key("rankings", "b20260310", "meta") == "{rankings}:b20260310:meta"
    assert version_key("unit:t1", "b1", "cat:news") == "{unit:t1}:b1:cat:news"


def test_the_pointer_and_every_version_key_share_one_slot() -> None:
    keys = [pointer_key("rankings")] + [
        version_key("rankings", build, suffix)
        for build in ("b1", "b20260310-0102", "v2")
        for suffix in ("meta", "overall", "cat:news", "cat:sports")
    ]
    assert {_slot(k) for k in keys} == {key_slot(b"rankings")}
    assert _slot(pointer_key("rankings")) != _slot(pointer_key("other"))  # prefixes spread


def test_the_scripts_build_the_same_keys_from_the_tagged_prefix() -> None:
    # READ_LUA / MOVE_LUA: ARGV prefix .. ':' .. build .. ':' .. suffix
    tag = key_tag("rankings")
    for suffix in ("meta", "overall", "cat:music"):
        assert f"{tag}:b7:{suffix}" == version_key("rankings", "b7", suffix)
    assert "ARGV[1] .. ':' .. build .. ':'" in cache.READ_LUA


def test_the_key_prefix_setting_refuses_braces() -> None:
    with pytest.raises(ValueError, match="key_prefix"):
        RankingsSettings(key_prefix="{rankings}")


class FakeScript:
    def __init__(self, client: FakeClient, name: str) -> None:
        self.client, self.name = client, name

    def __call__(self, keys: list[str], args: list[Any]) -> Any:
        self.client.scripts.append((self.name, keys, args))
        return [1, b""] if self.name == "move" else None


class FakePipeline:
    def __init__(self, client: FakeClient, transaction: bool) -> None:
        self.client, self.transaction = client, transaction
        self.keys: list[str] = []

    def delete(self, key: str) -> None:
        self.keys.append(key)

    def rpush(self, key: str, *values: str) -> None:
        self.keys.append(key)

    def expire(self, key: str, ttl: int) -> None:
        self.keys.append(key)

    def hset(self, key: str, mapping: dict[str, Any]) -> None:
        self.keys.append(key)

    def execute(self) -> None:
        self.client.pipelines.append(self)


class FakeClient:
    def __init__(self) -> None:
        self.scripts: list[tuple[str, list[str], list[Any]]] = []
        self.pipelines: list[FakePipeline] = []
        self._names = iter(("read", "move"))  # RankingsCache registers READ_LUA, then MOVE_LUA

    def register_script(self, _: str) -> FakeScript:
        return FakeScript(self, next(self._names))

    def pipeline(self, transaction: bool) -> FakePipeline:
        return FakePipeline(self, transaction)


def _cache() -> tuple[RankingsCache, FakeClient]:
    client = FakeClient()
    return RankingsCache(cast(SyncRedis, client), "rankings"), client


def test_a_warm_is_one_transaction_in_the_pointers_slot() -> None:
    rc, client = _cache()
    payload = {
        "lists": {"overall": ["{}"], "cat:news": ["{}"], "cat:empty": []},
        "ranking_date": "2026-03-10",
        "categories": ["news", "empty"],
    }
    rc.warm("b1", payload, ttl_s=60)
    (pipe,) = client.pipelines
    assert pipe.transaction
    assert {_slot(k) for k in pipe.keys} == {_slot(rc.pointer_key)}
    assert rc.key("b1", "meta") in pipe.keys and "{rankings}:b1:overall" in pipe.keys


def test_read_and_move_send_the_pointer_as_key_and_the_tagged_prefix() -> None:
    rc, client = _cache()
    assert rc.read(20, "news") is None
    rc.move_pointer(None, "b2", replaced_ttl_s=60)
    (_, read_keys, read_args), (_, move_keys, move_args) = client.scripts
    assert read_keys == move_keys == ["{rankings}:live"]
    assert read_args == ["{rankings}", "cat:news", 20]
    assert move_args == ["", "b2", "{rankings}", 60]


def test_connect_builds_the_client_for_the_settings_topology(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[Settings, dict[str, Any]]] = []

    def factory(settings: Settings, **kwargs: Any) -> FakeClient:
        seen.append((settings, kwargs))
        return FakeClient()

    monkeypatch.setattr(cache, "sync_client", factory)
    settings = Settings(topology="cluster")
    rc = RankingsCache.connect(settings, "unit")
    assert seen == [(settings, {"socket_timeout": 5, "socket_connect_timeout": 5})]
    assert rc.pointer_key == "{unit}:live"
