"""Offline-online consistency of the precomputed features (story 4: error rate < 0.5%).

At one instant T, every feature group the materializer left in Redis is read
(what the online path would serve) and compared with the offline history as
of T: the version with event time and ingest time at or before T
(`feature_cache.offline.consistency.check_consistency`, the same as-of rule
as training sets). Both sides were written by the same materializer, Redis
after the history, so a mismatch means the two stores disagree about what
was true at T: a lost write, an out-of-order overwrite, a type drift.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import duckdb

from feature_cache.offline.consistency import ConsistencyReport, OnlineRead, check_consistency
from feature_cache.precompute.features import PRECOMPUTE_SCHEMA
from feature_cache.precompute.records import decode_hash, split_redis_key
from starlab.redis_client import SyncRedis

__all__ = ["online_offline_consistency", "snapshot_reads"]


def snapshot_reads(client: SyncRedis, key_prefix: str) -> list[OnlineRead]:
    """Every `<prefix>:{<user>}:<group>` hash in Redis, decoded, stamped with one read instant."""
    read_at = datetime.now(UTC)
    groups = {g.name: g for g in PRECOMPUTE_SCHEMA.groups}
    keys = [k.decode() for k in client.scan_iter(match=f"{key_prefix}:*", count=1000)]
    pipe = client.pipeline(transaction=False)
    for k in keys:
        pipe.hgetall(k)
    out = []
    for key, fields in zip(keys, pipe.execute(), strict=True):
        parts = split_redis_key(key)
        if parts is None:
            continue  # not a group hash (the published TTLs)
        user_id, group = parts
        cached = decode_hash(groups[group], fields) if group in groups else None
        if cached is not None:
            out.append(OnlineRead(user_id, group, cached.values, cached.event_ts, read_at))
    return out


def online_offline_consistency(client: SyncRedis, key_prefix: str, history_path: Path) -> ConsistencyReport:
    """Redis against the offline history as of the same instant (the materializer must be stopped:
    DuckDB lets one process hold the history file)."""
    reads = snapshot_reads(client, key_prefix)
    with duckdb.connect(str(history_path), read_only=True) as con:
        return check_consistency(con, reads, PRECOMPUTE_SCHEMA)
