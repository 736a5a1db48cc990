"""One place that builds Redis clients, for a standalone server or a Redis Cluster.

Backs issue 12's scale-out claim: the rankings API (story 2) and the feature
cache (the 004 story) run unchanged on a three-master Redis Cluster when
`STARLAB_TOPOLOGY=cluster`. A story asks for "a client" and gets `redis.Redis`
on `single`, `redis.cluster.RedisCluster` on `cluster` (asyncio: the same pair
from `redis.asyncio`). Both speak the same commands; the cluster client sends
each key to the master that owns its slot, follows MOVED/ASK and loads scripts
on every master. Deciding here, once, keeps an `if clustered` out of every
story; a client built for the wrong topology would only fail at its first
command (MOVED replies, or a server that refuses CLUSTER SLOTS), far from
where it was built.

What differs between the two, and is handled here:
- Pools. A standalone client has one pool; `pool_timeout` makes it a
  `BlockingConnectionPool`, so a burst waits for a connection instead of
  failing (the APIs' choice). The cluster client keeps one pool per master, so
  `max_connections` counts per master. The synchronous cluster client still
  blocks (`connection_pool_class`); redis-py's asyncio cluster client has no
  blocking pool and raises `MaxConnectionsError` (a `ConnectionError`) when a
  master's pool is full: the callers already treat that as "Redis unavailable".
- Discovery. The asyncio cluster client fetches the slot map on its first
  command; `discover` does it up front, outside any request's budget. The
  blocking one fetches it in its constructor, so with no master reachable
  `sync_client` raises `TransientError` where a standalone client would only
  fail at its first command.

What is not handled here: key layout. A MULTI/EXEC, a Lua script or a
multi-key command needs all its keys in one hash slot on a cluster, so the
stories put hash tags in their key builders (`{<prefix>}:...` for rankings,
`<prefix>:{<user>}:<group>` for features).
"""

from __future__ import annotations

from typing import Any, TypeAlias

import redis
import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster as AsyncRedisCluster
from redis.cluster import RedisCluster
from redis.exceptions import RedisClusterException, RedisError

from starlab.errors import TransientError
from starlab.settings import Settings, Topology

__all__ = [
    "REDIS_ERRORS",
    "AsyncRedis",
    "SyncRedis",
    "async_client",
    "discover",
    "is_cluster",
    "sync_client",
]

SyncRedis: TypeAlias = redis.Redis | RedisCluster
AsyncRedis: TypeAlias = aioredis.Redis | AsyncRedisCluster

REDIS_ERRORS: tuple[type[Exception], ...] = (RedisError, RedisClusterException)
"""What a client of either topology raises when Redis does not answer as asked. The cluster
client's own `RedisClusterException` (no master reachable, a slot not covered) is no
`RedisError`, so a caller that turns Redis errors into a degraded answer catches both."""


def _clustered(settings: Settings, topology: Topology | None) -> bool:
    return (topology or settings.topology) == "cluster"


def _cap(max_connections: int | None) -> dict[str, Any]:
    """`max_connections` only when given: the pools' own defaults differ (blocking: 50)."""
    return {} if max_connections is None else {"max_connections": max_connections}


def sync_client(
    settings: Settings,
    *,
    url: str | None = None,
    topology: Topology | None = None,
    max_connections: int | None = None,
    pool_timeout: float | None = None,
    **kwargs: Any,
) -> SyncRedis:
    """A blocking client of `settings.redis_url` for `settings.topology`.

    `url`/`topology`: another Redis than the stack's (a story's override).
    `max_connections`: the pool's cap, per master on a cluster. `pool_timeout`:
    seconds to wait for a free connection when the cap is reached (None: no
    blocking pool). Other keywords (`socket_timeout`, `socket_connect_timeout`,
    `retry`, ...) go to redis-py as they are.
    """
    target = url or settings.redis_url
    if _clustered(settings, topology):
        if pool_timeout is not None:
            kwargs.update(connection_pool_class=redis.BlockingConnectionPool, timeout=pool_timeout)
        try:
            return RedisCluster.from_url(target, **_cap(max_connections), **kwargs)
        except RedisClusterException as exc:
            raise TransientError(f"Redis Cluster at {target}: {exc}") from exc
    if pool_timeout is not None:
        pool = redis.BlockingConnectionPool.from_url(
            target, timeout=pool_timeout, **_cap(max_connections), **kwargs
        )
        return redis.Redis.from_pool(pool)
    return redis.Redis.from_url(target, **_cap(max_connections), **kwargs)


def async_client(
    settings: Settings,
    *,
    url: str | None = None,
    topology: Topology | None = None,
    max_connections: int | None = None,
    pool_timeout: float | None = None,
    **kwargs: Any,
) -> AsyncRedis:
    """An asyncio client of `settings.redis_url` for `settings.topology`; arguments as `sync_client`.

    On a cluster `pool_timeout` has no effect (see the module docstring). The
    client owns its pool: `await client.aclose()` closes both.
    """
    target = url or settings.redis_url
    if _clustered(settings, topology):
        return AsyncRedisCluster.from_url(target, **_cap(max_connections), **kwargs)
    if pool_timeout is not None:
        pool = aioredis.BlockingConnectionPool.from_url(
            target, timeout=pool_timeout, **_cap(max_connections), **kwargs
        )
        return aioredis.Redis.from_pool(pool)
    return aioredis.Redis.from_url(target, **_cap(max_connections), **kwargs)


def is_cluster(client: object) -> bool:
    """Whether `client` talks to a Redis Cluster: the question a caller asks before sending what
    a cluster refuses, such as keys of several slots in one script or one MULTI/EXEC."""
    return isinstance(client, RedisCluster | AsyncRedisCluster)


async def discover(client: AsyncRedis) -> None:
    """Fetch an asyncio cluster client's slot map now (a standalone client: nothing to do).

    Raises what redis-py raises when no master answers; a caller that must
    start anyway catches it, and the first command tries again.
    """
    if isinstance(client, AsyncRedisCluster):
        await client.initialize()
