"""Redis memory per feature key, measured: the input of the capacity plan's Redis sizing.

Issue 12 item 6 sizes Redis shards from bytes per key measured here, not from
a rule of thumb. A private redis-server (no eviction, no cap) gets every known
user's feature groups written by the precompute's own write path (the stream
feeder's `prime`: one hash per user and group, with its TTL and the metadata
fields a reader checks), and the increase of `used_memory` is divided by the
keys written. The result is saved as JSON for `starlab stream capacity`.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from feature_cache.bench.redis_server import PrivateRedis
from feature_cache.bench.stream import StreamFeeder
from feature_cache.bench.workload import Workload
from feature_cache.errors import FeatureCacheConfigError
from feature_cache.serving.cache import TtlTable
from feature_cache.settings import FeatureCacheSettings

Progress = Callable[[str], None]


@dataclass(frozen=True)
class MemoryResult:
    users: int
    keys: int
    bytes: int
    """Increase of Redis' `used_memory` after writing `keys` keys."""
    demo_users: int
    """Users of the feature demo (`STARLAB_FC_USERS`): what "1x" is in the capacity plan."""
    redis_version: str

    @property
    def bytes_per_key(self) -> float:
        return self.bytes / self.keys

    @property
    def keys_per_user(self) -> float:
        return self.keys / self.users

    @property
    def demo_keys(self) -> int:
        return round(self.demo_users * self.keys_per_user)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(asdict(self), indent=2) + "\n")

    @classmethod
    def load(cls, path: Path) -> MemoryResult:
        try:
            raw = json.loads(path.read_text())
            return cls(**{k: raw[k] for k in ("users", "keys", "bytes", "demo_users", "redis_version")})
        except FileNotFoundError:
            raise FeatureCacheConfigError(
                f"{path}: no feature-key memory measured yet (run `starlab features memory`)"
            ) from None
        except (ValueError, KeyError, TypeError) as exc:
            raise FeatureCacheConfigError(f"{path}: not a feature memory measurement ({exc})") from None


def measure_memory(
    cfg: FeatureCacheSettings, users: int = 50_000, progress: Progress = print
) -> MemoryResult:
    """Write `users` users' feature groups to a private Redis and measure what they take."""
    workload = Workload.zipf(users, cfg.zipf_s, 0.0, cfg.low_value_share, cfg.seed)
    static = TtlTable.static(cfg.default_ttl_s, cfg.fast_ttl_s, cfg.fast_groups)
    with PrivateRedis(policy="noeviction") as rs:
        client = rs.client()
        try:
            empty = int(client.info("memory")["used_memory"])
            feeder = StreamFeeder(
                client,
                f"mem{uuid.uuid4().hex[:6]}:fc",
                workload.known,
                static,
                intent_period_s=cfg.intent_period_s,
                refresh_s=cfg.stream_refresh_s,
            )
            written = feeder.prime()
            keys = int(client.dbsize())
            full = int(client.info("memory")["used_memory"])
            version = str(client.info("server")["redis_version"])
        finally:
            client.close()
    progress(f"{written:,} users, {keys:,} keys: used_memory +{(full - empty) / 1e6:.1f} MB")
    return MemoryResult(written, keys, full - empty, cfg.users, version)
