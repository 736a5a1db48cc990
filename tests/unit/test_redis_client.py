"""The Redis client factory: a standalone client on `single`, a cluster client on `cluster`, with the
pool the callers asked for. No server: the asyncio cluster client connects lazily, and the blocking
one (which discovers the cluster in its constructor) is replaced by a recorder."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import redis
import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster as AsyncRedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisClusterException

from starlab import redis_client
from starlab.errors import TransientError
from starlab.redis_client import async_client, discover, is_cluster, sync_client
from starlab.settings import Settings

SINGLE = Settings(redis_url="redis://127.0.0.1:7777/0")
CLUSTER = Settings(topology="cluster", cluster_redis_ports="7381-7383")


def test_single_is_a_plain_client_of_the_settings_url() -> None:
    client = sync_client(SINGLE, socket_timeout=5)
    assert type(client) is redis.Redis
    pool = client.connection_pool
    assert type(pool) is redis.ConnectionPool
    assert (pool.connection_kwargs["port"], pool.connection_kwargs["socket_timeout"]) == (7777, 5)


def test_single_with_a_pool_timeout_blocks_on_a_capped_pool_the_client_owns() -> None:
    client = async_client(SINGLE, max_connections=64, pool_timeout=2.0, socket_timeout=2.0)
    assert type(client) is aioredis.Redis
    pool = client.connection_pool
    assert type(pool) is aioredis.BlockingConnectionPool
    assert (pool.max_connections, pool.timeout) == (64, 2.0)
    assert client.auto_close_connection_pool  # aclose() closes the pool too
    blocking = sync_client(SINGLE, max_connections=8, pool_timeout=1.0)
    assert type(blocking.connection_pool) is redis.BlockingConnectionPool


def test_cluster_asyncio_client_starts_at_the_first_master_with_a_pool_per_node() -> None:
    assert CLUSTER.redis_url == "redis://127.0.0.1:7381/0"  # derived from cluster_redis_ports
    retry = Retry(NoBackoff(), 0)
    client = async_client(CLUSTER, max_connections=64, pool_timeout=2.0, socket_timeout=1.0, retry=retry)
    assert isinstance(client, AsyncRedisCluster) and is_cluster(client)
    assert list(client.nodes_manager.startup_nodes) == ["127.0.0.1:7381"]
    kwargs = client.nodes_manager.connection_kwargs
    assert (kwargs["max_connections"], kwargs["socket_timeout"]) == (64, 1.0)  # per master
    assert client.retry is retry
    asyncio.run(client.aclose())


def test_cluster_blocking_client_gets_the_url_and_a_blocking_pool_per_node(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[tuple[str, dict[str, Any]]] = []

    def from_url(url: str, **kwargs: Any) -> str:
        calls.append((url, kwargs))
        return "cluster-client"

    monkeypatch.setattr(redis_client.RedisCluster, "from_url", from_url)
    assert sync_client(CLUSTER, socket_timeout=5) == "cluster-client"  # type: ignore[comparison-overlap]
    sync_client(CLUSTER, max_connections=8, pool_timeout=1.5)
    assert calls[0] == ("redis://127.0.0.1:7381/0", {"socket_timeout": 5})
    assert calls[1][1] == {
        "max_connections": 8,
        "connection_pool_class": redis.BlockingConnectionPool,
        "timeout": 1.5,
    }


def test_a_cluster_without_a_reachable_master_is_a_transient_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def unreachable(url: str, **kwargs: Any) -> None:
        raise RedisClusterException("Redis Cluster cannot be connected. Error 111 connecting.")

    monkeypatch.setattr(redis_client.RedisCluster, "from_url", unreachable)
    with pytest.raises(TransientError, match=r"Redis Cluster at redis://127\.0\.0\.1:7381/0: .*Error 111"):
        sync_client(CLUSTER)


def test_a_story_may_name_another_redis_and_its_topology() -> None:
    private = "redis://127.0.0.1:7999/0"
    client = sync_client(CLUSTER, url=private, topology="single")
    assert type(client) is redis.Redis and client.connection_pool.connection_kwargs["port"] == 7999
    other = async_client(SINGLE, url="redis://127.0.0.1:7382/0", topology="cluster")
    assert isinstance(other, AsyncRedisCluster)
    asyncio.run(other.aclose())


def test_only_cluster_clients_count_as_cluster() -> None:
    assert not is_cluster(sync_client(SINGLE))
    assert not is_cluster(async_client(SINGLE))
    assert not is_cluster(object())


def test_discovering_a_standalone_client_sends_nothing() -> None:
    client = async_client(SINGLE)  # nothing listens on 7777: a command would fail
    asyncio.run(discover(client))
