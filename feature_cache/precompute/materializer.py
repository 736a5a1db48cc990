"""The materializer: feature versions from the compacted topic into Redis hashes and the offline history.

Backs story 004's "precompute features into Redis with a 5-minute TTL" (and
its dynamic TTLs) and story 4's offline store ("point-in-time correctness"
needs every version with its event time and its ingest time).

One loop, per batch of up to `batch_size` records:
1. consume with `isolation.level=read_committed`: only versions whose Flink
   checkpoint committed (an aborted attempt after a crash is never seen);
2. parse each value into a typed `FeatureRecord` (a record that breaks the
   job's output contract is counted in `bad_records`, never silently
   dropped, and does not stop the stream);
3. stamp one ingest time for the batch, then write Redis in one MULTI/EXEC
   pipeline: per (user, group) only the newest version of the batch, as
   DEL + HSET + EXPIRE, so a reader never sees a half-written hash or a key
   without TTL; TTLs come from the `TtlPolicy`. On a Redis Cluster (issue 12)
   a MULTI/EXEC may not span slots, and users are spread over them, so the
   batch goes as one non-transactional pipeline of `WRITE_LUA`, one script per
   user: a script runs whole, so each user's groups still change together
   (what the reader's one-script read sees), while the batch as a whole is no
   longer atomic (no reader reads two users at once);
4. append every version (not only the newest) to the offline history with
   created_ts = the ingest time, stamped before Redis was written, so an
   online read at T is always explained by history rows created at or
   before T;
5. only then store the batch's offsets (auto-commit sends stored offsets
   every second, and on close): a crash replays from the last committed
   offset, in topic order, so the hashes end as they were (each key's
   newest version is written last) and the history gets the replayed
   versions again with a later created_ts (an as-of join returns the same
   values for them).

Redis and the history are retried with backoff (stamina); if they stay down
the loop raises `FeatureCacheTransientError` with the offsets not stored.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

import redis
import stamina
from confluent_kafka import Consumer, KafkaError, Message, TopicPartition
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector
from redis.exceptions import NoScriptError
from redis.typing import EncodableT, FieldT

from feature_cache.errors import FeatureCacheError, FeatureCacheTransientError
from feature_cache.offline.history import HistoryStore, default_history_path
from feature_cache.offline.schema import FeatureSchema
from feature_cache.precompute.features import PRECOMPUTE_SCHEMA
from feature_cache.precompute.records import FeatureRecord, parse_record, redis_key, to_redis_hash
from feature_cache.precompute.settings import PrecomputeSettings
from feature_cache.precompute.ttl import TtlPolicy
from starlab.redis_client import SyncRedis, is_cluster, sync_client
from starlab.settings import Settings

__all__ = ["WRITE_LUA", "Batch", "MaterializeStats", "Materializer", "history_path", "write_args"]

BatchObserver = Callable[["Batch"], None]


@dataclass(frozen=True)
class Batch:
    """One applied batch, handed to an observer (the measurement) after its offsets were stored."""

    records: tuple[FeatureRecord, ...]
    ingest_ts: datetime
    """When Redis was written (the versions' created_ts)."""
    redis_done_ts: datetime
    """When Redis acknowledged the pipeline."""


@dataclass
class MaterializeStats:
    """What one `run` did."""

    records: int = 0
    """Feature versions consumed and applied."""
    keys_written: int = 0
    """Redis hashes written (the newest version per key per batch)."""
    versions_appended: int = 0
    bad_records: int = 0
    batches: int = 0
    retries: int = 0
    seconds: float = 0.0
    busy_seconds: float = 0.0
    """Time spent parsing and writing (not waiting for records): the throughput denominator."""
    by_group: dict[str, int] = field(default_factory=dict)

    @property
    def records_per_s(self) -> float:
        """Records applied per second of work (Redis and history included)."""
        return self.records / self.busy_seconds if self.busy_seconds > 0 else 0.0


def history_path(settings: Settings, cfg: PrecomputeSettings) -> Path:
    """The offline history file: the setting, or the offline store's default under the data dir."""
    return cfg.history_path or default_history_path(settings.data_dir)


def _utcnow() -> datetime:
    return datetime.now(UTC)


_REDIS_TRANSIENT = (
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    # A Redis Cluster between a master's failure and its failover or return:
    redis.exceptions.ClusterDownError,
    redis.exceptions.TryAgainError,
)

WRITE_LUA = """
-- KEYS: one user's group hashes of a batch (one hash tag, so one slot).
-- ARGV, per key in KEYS order: TTL seconds, field count n, then n field/value pairs.
local pos = 1
for i = 1, #KEYS do
  local ttl, n = ARGV[pos], tonumber(ARGV[pos + 1])
  redis.call('DEL', KEYS[i])
  redis.call('HSET', KEYS[i], unpack(ARGV, pos + 2, pos + 1 + 2 * n))
  redis.call('EXPIRE', KEYS[i], ttl)
  pos = pos + 2 + 2 * n
end
return #KEYS
"""
"""The cluster's write of one user: DEL + HSET + EXPIRE per key, all keys at once."""
WRITE_SHA = hashlib.sha1(WRITE_LUA.encode()).hexdigest()

KeyWrite = tuple[dict[str, str], int]
"""One key's new hash fields and its TTL in seconds."""


def write_args(writes: Iterable[KeyWrite]) -> list[EncodableT]:
    """`WRITE_LUA`'s ARGV for the keys' writes, in KEYS order."""
    args: list[EncodableT] = []
    for fields, ttl_s in writes:
        args += [ttl_s, len(fields)]
        for name, value in fields.items():
            args += [name, value]
    return args


class MaterializerCollector(Collector):
    """A materializer's `stats` as Prometheus counters, read at scrape time (no cost per record).

    `starlab_materializer_records_total` (applied), `..._keys_written_total`,
    `..._bad_records_total`, `..._batches_total`, `..._retries_total`: the
    feature store's write side on the same dashboard as its read side.
    """

    def __init__(self, materializer: Materializer) -> None:
        self.materializer = materializer

    def collect(self) -> Iterable[Metric]:
        s = self.materializer.stats
        for name, value, what in (
            ("records", s.records, "Feature versions consumed and applied."),
            ("keys_written", s.keys_written, "Redis hashes written."),
            ("bad_records", s.bad_records, "Records that failed to parse (skipped and counted)."),
            ("batches", s.batches, "Batches applied."),
            ("retries", s.retries, "Redis writes retried after a transient error."),
        ):
            family = CounterMetricFamily(f"starlab_materializer_{name}", what)
            family.add_metric([], value)
            yield family


class Materializer:
    """Consume `cfg.topic` into Redis and the history; use as a context manager, call `run`."""

    def __init__(
        self,
        settings: Settings,
        cfg: PrecomputeSettings,
        *,
        redis_client: SyncRedis | None = None,
        history: HistoryStore | None = None,
        ttl: TtlPolicy | None = None,
        clock: Callable[[], datetime] = _utcnow,
        schema: FeatureSchema = PRECOMPUTE_SCHEMA,
        on_batch: BatchObserver | None = None,
        retry_attempts: int = 5,
        consumer: Consumer | None = None,
    ) -> None:
        """`history=None` opens `history_path()` when `cfg.write_history` is set (and closes it);
        `consumer` is for tests (default: a read_committed consumer of `cfg.topic`)."""
        self.settings = settings
        self.cfg = cfg
        self.schema = schema
        self.clock = clock
        self.ttl = ttl or TtlPolicy()
        self.on_batch = on_batch
        self.retry_attempts = retry_attempts
        self.redis = redis_client or sync_client(settings)
        self._own_history = history is None and cfg.write_history
        self.history = (
            HistoryStore.open(history_path(settings, cfg), schema) if self._own_history else history
        )
        self.consumer = consumer or Consumer(
            {
                "bootstrap.servers": settings.kafka_bootstrap,
                "group.id": cfg.consumer_group,
                "auto.offset.reset": "earliest",
                # Only versions whose Flink checkpoint committed.
                "isolation.level": "read_committed",
                # Offsets are stored by hand after Redis and the history took
                # the batch; auto-commit then sends what was stored.
                "enable.auto.offset.store": False,
                "enable.auto.commit": True,
                "auto.commit.interval.ms": 1000,
            }
        )
        self.consumer.subscribe([cfg.topic])
        self.stats = MaterializeStats()

    # --- lifecycle ------------------------------------------------------------

    def close(self) -> None:
        try:
            self.consumer.close()  # commits the stored offsets
        finally:
            if self._own_history and self.history is not None:
                self.history.close()

    def __enter__(self) -> Materializer:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # --- the loop -------------------------------------------------------------

    def run(
        self,
        *,
        stop: threading.Event | None = None,
        until_end: bool = False,
        max_records: int | None = None,
        timeout_s: float | None = None,
    ) -> MaterializeStats:
        """Apply batches until `stop` is set, `max_records` were applied, or `timeout_s` passed.

        `until_end`: also stop once every partition reached the end offset it
        had when the loop started (the topic's committed end: the last
        stable offset); raises `FeatureCacheTransientError` if `timeout_s`
        passes first.
        """
        t0 = time.monotonic()
        targets = self._end_offsets() if until_end else None
        while not (stop is not None and stop.is_set()):
            if max_records is not None and self.stats.records >= max_records:
                break
            if targets is not None and self._reached(targets):
                break
            if timeout_s is not None and time.monotonic() - t0 > timeout_s:
                if targets is not None:
                    raise FeatureCacheTransientError(
                        f"materializer did not reach the end of {self.cfg.topic} within {timeout_s:.0f}s "
                        f"({self.stats.records} records applied)"
                    )
                break
            msgs = self.consumer.consume(num_messages=self.cfg.batch_size, timeout=self.cfg.poll_timeout_s)
            if msgs:
                self.apply(msgs)
        self.stats.seconds += time.monotonic() - t0
        return self.stats

    def apply(self, msgs: Sequence[Message]) -> None:
        """Parse, write Redis, append history, then store the offsets of `msgs`."""
        t0 = time.monotonic()
        records: list[FeatureRecord] = []
        for msg in msgs:
            err = msg.error()
            if err is not None:
                if err.code() == KafkaError._PARTITION_EOF:
                    continue
                raise FeatureCacheTransientError(f"consuming {self.cfg.topic}: {err}")
            try:
                record = parse_record(msg.value(), self.schema)
            except FeatureCacheError:
                self.stats.bad_records += 1
                continue
            if record is not None:
                records.append(record)
        ingest_ts = self.clock()
        for r in records:
            self.ttl.observe(r.user_id, r.group, r.event_ts)
        self._write_redis(records, ingest_ts)
        redis_done = self.clock()
        if self.history is not None and records:
            self._append_history(self.history, records, ingest_ts)
        offsets = _next_offsets(msgs)
        if offsets:
            self.consumer.store_offsets(offsets=offsets)
        self.stats.records += len(records)
        self.stats.batches += 1
        for r in records:
            self.stats.by_group[r.group] = self.stats.by_group.get(r.group, 0) + 1
        self.stats.busy_seconds += time.monotonic() - t0
        if self.on_batch is not None:
            self.on_batch(Batch(tuple(records), ingest_ts, redis_done))

    def _write_redis(self, records: Sequence[FeatureRecord], ingest_ts: datetime) -> None:
        newest: dict[str, FeatureRecord] = {}
        for r in records:  # topic order: a later offset of the same key is a later version
            newest[redis_key(self.cfg.key_prefix, r.user_id, r.group)] = r
        if not newest:
            return
        ttls = {g: self.ttl.ttl_s(g) for g in {r.group for r in newest.values()}}
        writes = {
            key: (to_redis_hash(r, self.schema.group(r.group), ingest_ts), ttls[r.group])
            for key, r in newest.items()
        }
        try:
            for attempt in stamina.retry_context(
                on=_REDIS_TRANSIENT, attempts=self.retry_attempts, timeout=60, wait_max=2.0
            ):
                with attempt:
                    if attempt.num > 1:
                        self.stats.retries += 1
                    if is_cluster(self.redis):
                        self._write_per_user(newest, writes)
                    else:
                        self._write_transaction(writes)
        except _REDIS_TRANSIENT as exc:
            raise FeatureCacheTransientError(
                f"Redis did not take a batch of {len(newest)} feature groups: {exc}"
            ) from exc
        except redis.exceptions.RedisError as exc:
            raise FeatureCacheError(f"Redis refused the feature batch: {exc}") from exc
        self.stats.keys_written += len(newest)

    def _write_transaction(self, writes: dict[str, KeyWrite]) -> None:
        """The whole batch in one MULTI/EXEC (a standalone Redis)."""
        pipe = self.redis.pipeline(transaction=True)
        for key, (encoded, ttl_s) in writes.items():
            fields: dict[FieldT, EncodableT] = {k: v for k, v in encoded.items()}
            pipe.delete(key)
            pipe.hset(key, mapping=fields)
            pipe.expire(key, ttl_s)
        pipe.execute()

    def _write_per_user(self, newest: dict[str, FeatureRecord], writes: dict[str, KeyWrite]) -> None:
        """One `WRITE_LUA` per user, pipelined without MULTI (a Redis Cluster: one batch per master).

        redis-py blocks the `evalsha` method of its cluster pipeline
        (`PIPELINE_BLOCKED_COMMANDS`), yet routes a queued EVALSHA by its keys
        as its client does, so `execute_command` queues it (checked on a
        three-master cluster: each user's script reached the master of its slot).
        A master without the script (restarted, or new after a failover)
        answers NOSCRIPT: the script is loaded on every master and the batch
        sent again, which rewrites the same versions.
        """
        by_user: dict[str, list[str]] = {}
        for key, r in newest.items():
            by_user.setdefault(r.user_id, []).append(key)

        def send() -> None:
            pipe = self.redis.pipeline(transaction=False)
            for keys in by_user.values():
                args = write_args(writes[k] for k in keys)
                pipe.execute_command("EVALSHA", WRITE_SHA, len(keys), *keys, *args)
            pipe.execute()

        try:
            send()
        except NoScriptError:
            self.redis.script_load(WRITE_LUA)
            send()

    def _append_history(
        self, history: HistoryStore, records: Sequence[FeatureRecord], ingest_ts: datetime
    ) -> None:
        versions = [r.version(ingest_ts) for r in records]
        for attempt in stamina.retry_context(
            on=FeatureCacheTransientError, attempts=self.retry_attempts, timeout=60, wait_max=2.0
        ):
            with attempt:
                if attempt.num > 1:
                    self.stats.retries += 1
                result = history.append(versions)
        self.stats.versions_appended += result.rows

    # --- offsets --------------------------------------------------------------

    def _end_offsets(self) -> dict[int, int]:
        md = self.consumer.list_topics(self.cfg.topic, timeout=10).topics.get(self.cfg.topic)
        if md is None or md.error is not None:
            raise FeatureCacheTransientError(f"topic {self.cfg.topic} does not exist (yet)")
        out = {}
        for p in md.partitions:
            _, high = self.consumer.get_watermark_offsets(TopicPartition(self.cfg.topic, p), timeout=10)
            out[p] = high
        return out

    def _reached(self, targets: dict[int, int]) -> bool:
        """True when the consumer's position is at or past every target (transaction markers included)."""
        if all(high <= 0 for high in targets.values()):
            return True
        assigned = {tp.partition for tp in self.consumer.assignment()}
        if not set(targets) <= assigned:
            return False
        positions = self.consumer.position([TopicPartition(self.cfg.topic, p) for p in targets])
        return all(tp.offset >= targets[tp.partition] for tp in positions)


def _next_offsets(msgs: Sequence[Message]) -> list[TopicPartition]:
    """The offset to resume from per partition: one past the last message of the batch."""
    last: dict[tuple[str, int], int] = {}
    for m in msgs:
        topic, part, off = m.topic(), m.partition(), m.offset()
        if topic is not None and part is not None and off is not None and off >= 0:
            last[(topic, part)] = max(off, last.get((topic, part), -1))
    return [TopicPartition(t, p, o + 1) for (t, p), o in last.items()]
