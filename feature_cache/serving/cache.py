"""Design B's cache read: one Redis round trip per request, and the freshness rule it applies.

Backs the 004 story's "cache fetch ~3-5 ms" and issue 9's rule that "an
online read never serves a value older than its TTL as fresh" (Feast's
#6821 serves it as fresh: its online read ignores the view's TTL):

- `freshness(cached, now_ms, ttl_s)`: FRESH iff now - `_event_ts` <= TTL.
  The age is counted from the event time the values hold as of, not from
  when they were written: a Redis key lives TTL seconds from its write, so a
  version that arrived late (stream lag) stays in Redis past its TTL by
  exactly that lag, and that window is where a reader that trusts key expiry
  serves stale values as fresh.
- `CacheReader.read`: one round trip, one command: `READ_LUA` runs one HMGET
  per group (its features plus `_event_ts`/`_ingest_ts`), the published
  dynamic TTLs (one more HMGET) when asked, and, while the kill switch is
  on, `EXPIRE key TTLxk GT` per key (Redis 7.0's GT only ever lengthens).
  A pipeline of the same HMGETs is also one round trip, but redis-py packs
  and parses each command in Python: measured on this box, 570 us of client
  CPU per read for the 5-command pipeline against 365 us for one EVALSHA
  (asyncio client), and the serving bench's p99 ratio is mostly that CPU.
- On a Redis Cluster (issue 12) the script stays one command: a user's keys
  share a hash tag (`keys.group_key`), so they live in one slot. The
  published-TTL hash lives in no user's slot, so there the reader fetches it
  beside the script, at most once per `ttl_refresh_s`, and applies the cached
  values (the dynamic TTLs move with the stream's rate and lag, over minutes).
- Any Redis error or a read slower than the budget gives a `CacheRead` with
  `failure` set and no groups: the caller serves degraded, never a 5xx.

The same command building and decoding serve an asyncio client (the app)
and a blocking one (the in-process bench, pre-warm), so the bench measures
the app's code, not a copy of it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any, TypeAlias

import redis
import redis.asyncio as aioredis
import redis.asyncio.cluster
import redis.cluster
from redis.commands.core import AsyncScript, Script
from redis.typing import EncodableT, FieldT

from feature_cache.errors import FeatureCacheError
from feature_cache.serving.keys import (
    EVENT_TS_FIELD,
    INGEST_TS_FIELD,
    ONDEMAND_GROUPS,
    VIEW,
    GroupName,
    GroupSpec,
    Value,
    decode_value,
    encode_group,
    group_key,
    ttl_key,
)
from starlab.redis_client import REDIS_ERRORS, AsyncRedis, SyncRedis, is_cluster

__all__ = [
    "READ_LUA",
    "CacheFailure",
    "CacheRead",
    "CacheReader",
    "CachedGroup",
    "Freshness",
    "ReadPlan",
    "TtlTable",
    "freshness",
    "now_ms",
    "plan_read",
    "queue_write",
]

_UNAVAILABLE: tuple[type[Exception], ...] = (*REDIS_ERRORS, OSError, ConnectionError)

AnyPipeline: TypeAlias = (
    redis.client.Pipeline
    | aioredis.client.Pipeline
    | redis.cluster.ClusterPipeline
    | redis.asyncio.cluster.ClusterPipeline
)
"""A pipeline of either client and either topology (`queue_write` queues on any)."""

READ_LUA = """
-- KEYS: one hash per group, then the published-TTL hash when ARGV[2] == '1'.
-- ARGV: n groups, dynamic flag, n expiry seconds (0 = leave), then per group
-- (and for the TTL hash) a field count followed by the field names.
local n = tonumber(ARGV[1])
local dynamic = ARGV[2] == '1'
local pos = 3
local extend = {}
for i = 1, n do extend[i] = tonumber(ARGV[pos]); pos = pos + 1 end
local function fields()
  local c = tonumber(ARGV[pos]); pos = pos + 1
  local f = {}
  for j = 1, c do f[j] = ARGV[pos + j - 1] end
  pos = pos + c
  return f
end
local out = {}
for i = 1, n do out[i] = redis.call('HMGET', KEYS[i], unpack(fields())) end
if dynamic then out[n + 1] = redis.call('HMGET', KEYS[n + 1], unpack(fields())) end
local extended = 0
for i = 1, n do
  if extend[i] > 0 then extended = extended + redis.call('EXPIRE', KEYS[i], extend[i], 'GT') end
end
out[#out + 1] = extended
return out
"""


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class Freshness(StrEnum):
    FRESH = "fresh"
    STALE = "stale"
    MISSING = "missing"


@dataclass(frozen=True)
class CachedGroup:
    """One group's hash as read: typed values and the times they hold as of / were written."""

    values: Mapping[str, Value]
    event_ts_ms: int
    ingest_ts_ms: int

    def age_s(self, at_ms: int) -> float:
        """Seconds since the event time the values hold as of (never negative: clock skew)."""
        return max(0, at_ms - self.event_ts_ms) / 1000.0


def freshness(cached: CachedGroup | None, at_ms: int, ttl_s: float) -> Freshness:
    """FRESH iff the value's age (from `_event_ts`) is at most its TTL; an age past it is STALE.

    Exactly TTL old is still fresh: "older than its TTL" is what may never be
    served as fresh.
    """
    if cached is None:
        return Freshness.MISSING
    return Freshness.FRESH if at_ms - cached.event_ts_ms <= ttl_s * 1000.0 else Freshness.STALE


@dataclass(frozen=True)
class TtlTable:
    """TTL per group in seconds, and whether a writer's published (dynamic) values were used."""

    ttl_s: Mapping[GroupName, float]
    dynamic: bool = False

    def of(self, group: GroupName) -> float:
        return self.ttl_s[group]

    @classmethod
    def static(cls, default_ttl_s: float, fast_ttl_s: float, fast_groups: Iterable[str]) -> TtlTable:
        fast = set(fast_groups)
        unknown = fast - {g.value for g in GroupName}
        if unknown:
            raise FeatureCacheError(f"fast_groups: unknown groups {sorted(unknown)}")
        return cls({g: (fast_ttl_s if g.value in fast else default_ttl_s) for g in GroupName})

    def with_published(self, published: Mapping[GroupName, float]) -> TtlTable:
        """The static TTLs raised to the published ones: a writer may lengthen, never shorten,
        so a broken publisher cannot make the reader call more than the static design would."""
        if not published:
            return self
        merged = {g: max(t, published.get(g, t)) for g, t in self.ttl_s.items()}
        return TtlTable(merged, dynamic=True)


class CacheFailure(StrEnum):
    UNAVAILABLE = "unavailable"
    """Redis refused, reset or errored."""
    TIMEOUT = "timeout"
    """The read took longer than the budget."""


@dataclass(frozen=True)
class CacheRead:
    """What one read found: a group is None when its key is missing (or corrupt)."""

    groups: Mapping[GroupName, CachedGroup | None]
    ttl: TtlTable
    failure: CacheFailure | None = None
    corrupt: tuple[GroupName, ...] = ()
    redis_ms: float = 0.0
    extended: int = 0
    """Keys whose expiry the kill switch raised in this read."""
    error: str | None = field(default=None, compare=False)


def queue_write(
    pipe: AnyPipeline,
    prefix: str,
    user_id: str,
    group: GroupSpec,
    values: Mapping[str, Value],
    *,
    event_ts_ms: int,
    ingest_ts_ms: int,
    ttl_s: float,
) -> None:
    """Queue one version of one group (HSET + EXPIRE) on a pipeline, the materializer's way."""
    key = group_key(prefix, user_id, group.name)
    encoded = encode_group(group, values, event_ts_ms=event_ts_ms, ingest_ts_ms=ingest_ts_ms)
    mapping: dict[FieldT, EncodableT] = {k: v for k, v in encoded.items()}
    pipe.hset(key, mapping=mapping)
    pipe.expire(key, max(1, round(ttl_s)))


class CacheReader:
    """Reads a user's groups in one round trip; decodes; applies nothing (the caller decides)."""

    def __init__(
        self,
        prefix: str,
        static_ttl: TtlTable,
        groups: Sequence[GroupSpec] = VIEW,
        *,
        ttl_refresh_s: float = 2.0,
    ) -> None:
        """`ttl_refresh_s`: on a Redis Cluster, how long the published TTLs read beside the
        script are kept (on a standalone Redis the script reads them on every read)."""
        self.prefix = prefix
        self.static_ttl = static_ttl
        self.groups = tuple(groups)
        self.ttl_refresh_s = ttl_refresh_s
        # Field lists are built once: the hot path only formats the keys.
        self._fields = [(*g.field_names, EVENT_TS_FIELD, INGEST_TS_FIELD) for g in self.groups]
        self._ttl_fields = [g.name.value for g in self.groups]
        self._async_scripts: dict[int, AsyncScript] = {}
        self._sync_scripts: dict[int, Script] = {}
        self._published: dict[GroupName, float] = {}
        self._published_until = 0.0
        """Monotonic time after which the cached published TTLs are read again (cluster)."""

    # --- the command and its reply (shared by both transports) ------------------------

    def _args(
        self, user_id: str, dynamic: bool, extend: Mapping[GroupName, float] | None
    ) -> tuple[list[str], list[str | int]]:
        """KEYS and ARGV of `READ_LUA`; `dynamic`: the script also reads the TTL hash (only
        where it may: on a standalone Redis)."""
        keys = [group_key(self.prefix, user_id, g.name) for g in self.groups]
        args: list[str | int] = [len(self.groups), "1" if dynamic else "0"]
        args += [max(1, round(extend[g.name])) if extend else 0 for g in self.groups]
        for fields in self._fields:
            args.append(len(fields))
            args.extend(fields)
        if dynamic:
            keys.append(ttl_key(self.prefix))
            args.append(len(self._ttl_fields))
            args.extend(self._ttl_fields)
        return keys, args

    def decode(self, replies: Sequence[Any], dynamic: bool, extend: bool) -> CacheRead:
        """The script's reply: one HMGET reply per group, the TTL hash's when dynamic (the
        script read it), the number of keys whose expiry was raised."""
        groups: dict[GroupName, CachedGroup | None] = {}
        corrupt: list[GroupName] = []
        for g, raw in zip(self.groups, replies, strict=False):
            ev, ing = raw[-2], raw[-1]
            if ev is None:
                groups[g.name] = None  # no key (or a hash without its event time: not servable)
                continue
            try:
                values = {f.name: decode_value(v, f.ftype) for f, v in zip(g.fields, raw, strict=False)}
                groups[g.name] = CachedGroup(values, int(ev), int(ing) if ing is not None else int(ev))
            except (FeatureCacheError, ValueError):
                groups[g.name] = None
                corrupt.append(g.name)
        ttl = self.static_ttl
        n = len(self.groups)
        if dynamic and len(replies) > n + 1:
            ttl = ttl.with_published(self._published_ttls(replies[n]))
        extended = int(replies[-1]) if extend and replies and isinstance(replies[-1], int) else 0
        return CacheRead(groups, ttl, corrupt=tuple(corrupt), extended=extended)

    def _published_ttls(self, raw: Sequence[Any]) -> dict[GroupName, float]:
        """The TTL hash's HMGET reply, by group order; a missing or junk value is left out
        (the static TTL stays)."""
        published: dict[GroupName, float] = {}
        for g, raw_ttl in zip(self.groups, raw, strict=False):
            if raw_ttl is not None:
                try:
                    published[g.name] = float(raw_ttl)
                except ValueError:
                    continue
        return published

    # --- the published TTLs beside the script (Redis Cluster) ---------------------------

    def _ttls_due(self) -> bool:
        return time.monotonic() >= self._published_until

    def _with_cached_ttls(self, read: CacheRead) -> CacheRead:
        return replace(read, ttl=self.static_ttl.with_published(self._published))

    async def _refresh_ttls(self, client: AsyncRedis) -> None:
        # The deadline moves first, so the reads running meanwhile do not all refresh too.
        self._published_until = time.monotonic() + self.ttl_refresh_s
        try:
            raw = await client.hmget(ttl_key(self.prefix), self._ttl_fields)
        except BaseException:
            self._published_until = 0.0  # the next read tries again
            raise
        self._published = self._published_ttls(raw)

    def _refresh_ttls_sync(self, client: SyncRedis) -> None:
        self._published_until = time.monotonic() + self.ttl_refresh_s
        try:
            raw = client.hmget(ttl_key(self.prefix), self._ttl_fields)
        except BaseException:
            self._published_until = 0.0
            raise
        self._published = self._published_ttls(raw)

    def failed(self, failure: CacheFailure, error: str, redis_ms: float) -> CacheRead:
        return CacheRead(
            {g.name: None for g in self.groups}, self.static_ttl, failure, redis_ms=redis_ms, error=error
        )

    # --- transports --------------------------------------------------------------------

    async def read(
        self,
        client: AsyncRedis,
        user_id: str,
        *,
        budget_s: float,
        dynamic: bool = False,
        extend: Mapping[GroupName, float] | None = None,
    ) -> CacheRead:
        """One round trip within `budget_s`; failures come back as data, not raised.

        On a cluster with `dynamic`, a read whose cached TTLs are due makes a
        second one (the TTL hash) first, inside the same budget."""
        t0 = time.perf_counter()
        beside = dynamic and is_cluster(client)
        keys, args = self._args(user_id, dynamic and not beside, extend)
        try:
            async with asyncio.timeout(budget_s):
                if beside and self._ttls_due():
                    await self._refresh_ttls(client)
                replies = await self._script(client)(keys=keys, args=args)
        except TimeoutError:
            return self.failed(CacheFailure.TIMEOUT, "read budget exceeded", (time.perf_counter() - t0) * 1e3)
        except _UNAVAILABLE as exc:
            return self.failed(CacheFailure.UNAVAILABLE, type(exc).__name__, (time.perf_counter() - t0) * 1e3)
        read = self.decode(replies, dynamic and not beside, bool(extend))
        if beside:
            read = self._with_cached_ttls(read)
        return CacheRead(
            read.groups,
            read.ttl,
            corrupt=read.corrupt,
            redis_ms=(time.perf_counter() - t0) * 1e3,
            extended=read.extended,
        )

    def read_sync(
        self,
        client: SyncRedis,
        user_id: str,
        *,
        dynamic: bool = False,
        extend: Mapping[GroupName, float] | None = None,
    ) -> CacheRead:
        """The same read on a blocking client (bench, tools); errors are raised, not absorbed."""
        beside = dynamic and is_cluster(client)
        keys, args = self._args(user_id, dynamic and not beside, extend)
        if beside and self._ttls_due():
            self._refresh_ttls_sync(client)
        read = self.decode(
            self._sync_script(client)(keys=keys, args=args), dynamic and not beside, bool(extend)
        )
        return self._with_cached_ttls(read) if beside else read

    # Scripts are bound per client (redis-py loads them with SCRIPT LOAD on first NOSCRIPT).
    def _script(self, client: AsyncRedis) -> AsyncScript:
        script = self._async_scripts.get(id(client))
        if script is None:
            script = self._async_scripts[id(client)] = client.register_script(READ_LUA)
        return script

    def _sync_script(self, client: SyncRedis) -> Script:
        script = self._sync_scripts.get(id(client))
        if script is None:
            script = self._sync_scripts[id(client)] = client.register_script(READ_LUA)
        return script


@dataclass(frozen=True)
class ReadPlan:
    """What design B does with one read: each group's freshness, and whether to call on demand."""

    freshness: Mapping[GroupName, Freshness]
    refresh: frozenset[GroupName]
    """Groups the on-demand call would fix: an on-demand group that is missing, or a fast one
    that is stale. Empty while the kill switch is on or when Redis failed."""

    @property
    def hit(self) -> bool:
        """Every group found and fresh: served from Redis alone."""
        return all(f is Freshness.FRESH for f in self.freshness.values())

    @property
    def call(self) -> bool:
        return bool(self.refresh)


def plan_read(
    read: CacheRead,
    at_ms: int,
    fast_groups: frozenset[GroupName],
    *,
    killswitch: bool,
) -> ReadPlan:
    """The story's rule: "a miss or a stale fast-changing feature calls the embeddings service".

    A stale slow group is served flagged stale (its value changes rarely; no
    call could refresh it anyway except the embeddings one). Nothing is
    called while the kill switch is on, nor when Redis itself failed (every
    request would become a call: the outage of one system must not become a
    stampede on another).
    """
    fresh = {g: freshness(c, at_ms, read.ttl.of(g)) for g, c in read.groups.items()}
    if killswitch or read.failure is not None:
        return ReadPlan(fresh, frozenset())
    refresh = frozenset(
        g
        for g, f in fresh.items()
        if g in ONDEMAND_GROUPS and (f is Freshness.MISSING or (f is Freshness.STALE and g in fast_groups))
    )
    return ReadPlan(fresh, refresh)
