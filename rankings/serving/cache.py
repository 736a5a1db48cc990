"""The warm cache: versioned Redis keys per build and one atomic serving pointer.

Backs story 2's "materialized a warm cache to keep API p95 < 200 ms" and
issue 4's "the serving pointer moves atomically, so no request ever mixes
versions":

    {<prefix>}:live                        -> build id (the serving pointer)
    {<prefix>}:<build>:meta                HASH ranking_date, categories, top_n, warmed_at
    {<prefix>}:<build>:overall             LIST of item JSON, rank 1 first
    {<prefix>}:<build>:cat:<category>      LIST of item JSON, rank_in_category 1 first

A version's keys are written completely (one MULTI/EXEC) before anything
points at them and are never modified afterwards, so a reader that resolved
the pointer to build B reads B's lists even if the pointer moves in between.
The pointer moves with one Lua script (compare-and-set, then PERSIST the new
version's keys and EXPIRE the replaced version's after `previous_ttl_s`, the
rollback window), atomic because Redis runs a script without interleaving.

Reads (`READ_LUA`, used by the API) resolve the pointer and read the list in
one EVALSHA: one network round trip instead of two (GET pointer, then LRANGE).

The braces are a hash tag (issue 12): Redis Cluster hashes only `<prefix>`,
so the pointer and every version's keys share one slot, hence one master. The
scripts may then touch keys they compute from the pointer (a cluster allows
undeclared keys of the script's own slot) and the warm stays one MULTI/EXEC;
a version is top-N lists (`top_n` items each), small enough for one master.
The tag is added by the key builders below, never by the `key_prefix`
setting (whose pattern refuses braces).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypedDict

from rankings.errors import FlipRefused, RankingsError
from starlab.redis_client import SyncRedis, sync_client
from starlab.settings import Settings

READ_LUA = """
local build = redis.call('GET', KEYS[1])
if not build then return nil end
local base = ARGV[1] .. ':' .. build .. ':'
local ranking_date = redis.call('HGET', base .. 'meta', 'ranking_date')
if not ranking_date then return {build} end
local list = base .. ARGV[2]
local items = redis.call('LRANGE', list, 0, tonumber(ARGV[3]) - 1)
return {build, ranking_date, items}
"""
"""KEYS[1] pointer; ARGV tagged prefix (`key_tag`), list suffix (`overall` / `cat:<c>`), limit.
Returns nil (nothing published), {build} (version expired) or {build, date, items}."""

MOVE_LUA = """
local current = redis.call('GET', KEYS[1]) or ''
if current ~= ARGV[1] then return {0, current} end
local new_meta = ARGV[3] .. ':' .. ARGV[2] .. ':meta'
local lists = redis.call('HGET', new_meta, 'lists')
if not lists then return {-1, current} end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('PERSIST', new_meta)
for _, suffix in ipairs(cjson.decode(lists)) do
  redis.call('PERSIST', ARGV[3] .. ':' .. ARGV[2] .. ':' .. suffix)
end
if current ~= '' and current ~= ARGV[2] then
  local old_meta = ARGV[3] .. ':' .. current .. ':meta'
  local old_lists = redis.call('HGET', old_meta, 'lists')
  redis.call('EXPIRE', old_meta, tonumber(ARGV[4]))
  if old_lists then
    for _, suffix in ipairs(cjson.decode(old_lists)) do
      redis.call('EXPIRE', ARGV[3] .. ':' .. current .. ':' .. suffix, tonumber(ARGV[4]))
    end
  end
end
return {1, current}
"""
"""KEYS[1] pointer; ARGV expected current build ('' = none), new build, tagged prefix,
TTL (s) for the replaced version. {1, old} moved; {0, actual} the pointer was
not `expected`; {-1, actual} the new version is not (or no longer) in Redis."""


def key_tag(prefix: str) -> str:
    """`{<prefix>}`: the hash tag every key of the cache starts with, and the prefix the scripts
    build keys from (so a computed key lands in the pointer's slot)."""
    return f"{{{prefix}}}"


def pointer_key(prefix: str) -> str:
    """`{<prefix>}:live`: the serving pointer."""
    return f"{key_tag(prefix)}:live"


def version_key(prefix: str, build_id: str, suffix: str) -> str:
    """`{<prefix>}:<build>:<suffix>`: one key of a version (`meta`, `overall`, `cat:<c>`)."""
    return f"{key_tag(prefix)}:{build_id}:{suffix}"


class CachePayload(TypedDict):
    """One version's content, as the gate reads it from the built table (`cache_payload`).

    Written to the build's `payload.json` by the gate and read back by the warm
    and by a rollback, so it is plain JSON.
    """

    ranking_date: str
    """ISO date of the served ranking day (the meta hash's `ranking_date`)."""
    categories: list[str]
    """Sorted; the meta hash's `categories`."""
    lists: dict[str, list[str]]
    """Key suffix (`overall`, `cat:<category>`) -> item JSON texts, rank 1 first."""


@dataclass(frozen=True)
class WarmResult:
    build_id: str
    lists: int
    items: int
    seconds: float


class RankingsCache:
    """Publisher-side (synchronous) access to the cache: warm, move, inspect."""

    def __init__(self, client: SyncRedis, prefix: str = "rankings") -> None:
        self.r = client
        self.prefix = prefix
        self._read = client.register_script(READ_LUA)
        self._move = client.register_script(MOVE_LUA)

    @classmethod
    def connect(cls, settings: Settings, prefix: str = "rankings") -> RankingsCache:
        """The cache on the stack's Redis, standalone or cluster (`settings.topology`)."""
        return cls(sync_client(settings, socket_timeout=5, socket_connect_timeout=5), prefix)

    # --- keys -------------------------------------------------------------------
    @property
    def pointer_key(self) -> str:
        return pointer_key(self.prefix)

    def key(self, build_id: str, suffix: str) -> str:
        return version_key(self.prefix, build_id, suffix)

    # --- publish ----------------------------------------------------------------
    def warm(self, build_id: str, payload: CachePayload, ttl_s: int) -> WarmResult:
        """Write every list of a version, then its meta, in one MULTI/EXEC, with a TTL.

        Idempotent: a retry rewrites the same keys with the same content. The
        TTL covers a version that never goes live; the pointer move persists it.
        """
        t0 = time.monotonic()
        lists = payload["lists"]
        pipe = self.r.pipeline(transaction=True)
        items = 0
        for suffix, values in lists.items():
            key = self.key(build_id, suffix)
            pipe.delete(key)
            if values:
                pipe.rpush(key, *values)
                pipe.expire(key, ttl_s)
            items += len(values)
        meta = self.key(build_id, "meta")
        pipe.delete(meta)
        pipe.hset(
            meta,
            mapping={
                "build_id": build_id,
                "ranking_date": payload["ranking_date"],
                "categories": json.dumps(payload["categories"]),
                "lists": json.dumps([s for s, v in lists.items() if v]),
                "top_n": max((len(v) for v in lists.values()), default=0),
                "warmed_at": datetime.now(UTC).isoformat(timespec="milliseconds"),
            },
        )
        pipe.expire(meta, ttl_s)
        pipe.execute()
        return WarmResult(build_id, len(lists), items, time.monotonic() - t0)

    def move_pointer(self, expected: str | None, new: str, replaced_ttl_s: int) -> str | None:
        """Atomically point readers at `new` if the pointer still names `expected`.

        Returns the build that was replaced. Raises `FlipRefused` if another
        process moved the pointer meanwhile, `RankingsError` if `new` is not warm.
        """
        code, current = self._move(
            keys=[self.pointer_key], args=[expected or "", new, key_tag(self.prefix), replaced_ttl_s]
        )
        current_s = current.decode() if isinstance(current, bytes) else str(current)
        if int(code) == 0:
            if current_s == new:
                return None  # a retry after a move that succeeded: nothing to do
            raise FlipRefused(
                f"the serving pointer {self.pointer_key} is {current_s or 'unset'!r}, expected "
                f"{expected or 'unset'!r}: another publish or rollback moved it; not moving it to {new}"
            )
        if int(code) == -1:
            raise RankingsError(f"version {new} is not in Redis (never warmed or expired): warm it first")
        return current_s or None

    # --- inspect ----------------------------------------------------------------
    def live_build(self) -> str | None:
        raw = self.r.get(self.pointer_key)
        return raw.decode() if isinstance(raw, bytes) else raw

    def has_version(self, build_id: str) -> bool:
        return bool(self.r.exists(self.key(build_id, "meta")))

    def version_ttl_s(self, build_id: str) -> int:
        """Seconds until the version's meta expires; -1 persistent, -2 absent."""
        return int(self.r.ttl(self.key(build_id, "meta")))

    def read(self, limit: int, category: str | None = None) -> tuple[str, str, list[dict[str, Any]]] | None:
        """What the API would serve, in one round trip: (build, ranking_date, items) or None."""
        suffix = f"cat:{category}" if category else "overall"
        out = self._read(keys=[self.pointer_key], args=[key_tag(self.prefix), suffix, limit])
        if not out or len(out) < 3:
            return None
        build, ranking_date, items = out
        return build.decode(), ranking_date.decode(), [json.loads(i) for i in items]

    def drop_version(self, build_id: str) -> int:
        """Delete a version's keys (tests, clean-up); never the live one."""
        if self.live_build() == build_id:
            raise RankingsError(f"{build_id} is live; move the pointer first")
        keys = list(self.r.scan_iter(match=self.key(build_id, "*"), count=500))
        return int(self.r.delete(*keys)) if keys else 0


__all__ = [
    "MOVE_LUA",
    "READ_LUA",
    "CachePayload",
    "RankingsCache",
    "WarmResult",
    "key_tag",
    "pointer_key",
    "version_key",
]
