"""One live precompute run, measured: feature freshness, event -> Redis latency, materializer throughput.

Backs story 004's design B figures that depend on the stream: features
"precomputed into Redis with a 5-minute TTL" are only as good as their age
when served, so this run measures
- freshness: emit_ts - event_ts per feature version (how old a value is
  when Flink computes it; floor: the job's watermark delay);
- event -> Redis: the time Redis acknowledged a version minus the event
  time it holds as of (adds the checkpoint commit and the materializer);
- Kafka -> Redis: the same from when the newest contributing event entered
  Kafka (without the device -> edge delay the generator simulates);
- materializer throughput: records/s while live (busy time) and draining
  the whole topic again from the start (wall time, Redis pipelines and the
  DuckDB history included).

Events come from the kernel's seeded generator (duplicates, out-of-order
and late events at its default rates) through the kernel's edge producer,
paced in real time, on topics of this run only (deleted afterwards), so the
run never touches the demo's topics or keys.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from feature_cache.errors import FeatureCacheConfigError, FeatureCacheTransientError
from feature_cache.offline.consistency import ConsistencyReport
from feature_cache.offline.history import HistoryStore
from feature_cache.precompute.consistency import online_offline_consistency
from feature_cache.precompute.features import PRECOMPUTE_SCHEMA
from feature_cache.precompute.job import FeatureJob
from feature_cache.precompute.materializer import Batch, Materializer, MaterializeStats
from feature_cache.precompute.settings import PrecomputeSettings
from feature_cache.precompute.ttl import GroupTtl, TtlPolicy
from starlab.events.generator import Generator, GeneratorConfig
from starlab.events.producer import EdgeProducer
from starlab.kafka_io import delete_topics, read_all
from starlab.metrics.latency import LatencySummary
from starlab.redis_client import SyncRedis, sync_client
from starlab.settings import Settings

__all__ = ["MeasureOptions", "PrecomputeMeasurement", "Throughput", "measure_precompute"]

Progress = Callable[[str], None]


@dataclass(frozen=True)
class MeasureOptions:
    seconds: float = 60.0
    """Real-time length of the event stream."""
    rate_per_s: float = 200.0
    """Events per second: sized for 2 shared cores (Kafka, registry, Flink, Redis, this process);
    freshness, not throughput, is what this run measures."""
    users: int = 300
    """Fewer users than the generator's default, so a user sees several events per minute
    and the windows hold more than one event."""
    seed: int = 11
    drain: bool = True
    """Afterwards, re-materialize the whole topic from the start to measure throughput."""
    catch_up_s: float = 30.0
    """How long to wait after the last event for the last versions to reach Redis."""

    def __post_init__(self) -> None:
        if self.seconds <= 0 or self.rate_per_s <= 0 or self.users <= 0:
            raise FeatureCacheConfigError("seconds, rate_per_s and users must be positive")


@dataclass(frozen=True)
class Throughput:
    records: int
    seconds: float
    records_per_s: float
    batch_size: int
    with_history: bool


@dataclass(frozen=True)
class PrecomputeMeasurement:
    """What one live run measured; every latency is in milliseconds."""

    events_sent: int
    rate_per_s: float
    checkpoint_interval_ms: int
    watermark_delay_ms: int
    versions: int
    versions_by_group: dict[str, int]
    late_events: int
    """Events left out of the features because they arrived behind the job's watermark."""
    freshness_ms: LatencySummary
    """emit_ts - event_ts."""
    event_to_redis_ms: LatencySummary
    """Redis acknowledged - event_ts."""
    kafka_to_redis_ms: LatencySummary
    """Redis acknowledged - Kafka timestamp of the newest contributing event."""
    live: Throughput
    drain: Throughput | None
    ttl: tuple[GroupTtl, ...]
    bad_records: int
    consistency: ConsistencyReport | None = None
    """Redis against the offline history as of one instant after the run (story 4: < 0.5% error)."""


@dataclass
class _Samples:
    freshness: list[float] = field(default_factory=list)
    event_to_redis: list[float] = field(default_factory=list)
    kafka_to_redis: list[float] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, batch: Batch) -> None:
        with self.lock:
            for r in batch.records:
                self.freshness.append((r.emit_ts - r.event_ts).total_seconds() * 1000)
                self.event_to_redis.append((batch.redis_done_ts - r.event_ts).total_seconds() * 1000)
                if r.source_ts is not None:
                    self.kafka_to_redis.append((batch.redis_done_ts - r.source_ts).total_seconds() * 1000)

    def count(self) -> int:
        with self.lock:
            return len(self.freshness)


def _delete_keys(client: SyncRedis, prefix: str) -> None:
    keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
    for i in range(0, len(keys), 1000):
        client.delete(*keys[i : i + 1000])


def measure_precompute(
    settings: Settings,
    cfg: PrecomputeSettings,
    opts: MeasureOptions | None = None,
    work_dir: Path | None = None,
    progress: Progress = print,
) -> PrecomputeMeasurement:
    """Run the job and the materializer on a live, paced stream; return what was measured."""
    o = opts or MeasureOptions()
    run_id = uuid.uuid4().hex[:8]
    work = (work_dir or settings.data_dir / "features" / "measure") / run_id
    work.mkdir(parents=True, exist_ok=True)
    run_settings = settings.model_copy(
        update={
            "events_topic": f"features.measure.{run_id}.events",
            "dlq_topic": f"features.measure.{run_id}.events.dlq",
        }
    )
    run_cfg = cfg.model_copy(
        update={
            "topic": f"features.measure.{run_id}",
            "late_topic": f"features.measure.{run_id}.late",
            "key_prefix": f"{cfg.key_prefix}-measure-{run_id}",
            "consumer_group": f"features-measure-{run_id}",
            "group_id": f"features-measure-job-{run_id}",
            "history_path": work / "history.duckdb",
        }
    )
    client = sync_client(settings)
    job = FeatureJob(run_settings, run_cfg, name=f"feature-measure-{run_id}")
    samples = _Samples()
    stop = threading.Event()
    errors: list[BaseException] = []
    ttl = TtlPolicy()
    stats_box: list[MaterializeStats] = []

    def materialize() -> None:
        try:
            with Materializer(run_settings, run_cfg, ttl=ttl, on_batch=samples.add) as m:
                stats_box.append(m.run(stop=stop))
        except BaseException as exc:  # surfaced by the caller's thread
            errors.append(exc)

    worker = threading.Thread(target=materialize, name="materializer", daemon=True)
    events_sent = 0
    try:
        # The producer creates the run's events topic before the job reads it.
        with EdgeProducer(run_settings) as producer:
            progress(f"run {run_id}: starting the feature job")
            job.start()
            job.wait_ready()
            worker.start()
            # Built only now: its event times start at the current wall time,
            # so a feature's age is measured from when its event happened.
            gen = Generator(
                GeneratorConfig(
                    seed=o.seed,
                    events=int(o.seconds * o.rate_per_s),
                    users=o.users,
                    start_ms=int(time.time() * 1000),
                    rate_per_s=o.rate_per_s,
                )
            )
            progress(f"producing {int(o.seconds * o.rate_per_s):,} events at {o.rate_per_s:g}/s")
            t_start = time.monotonic()
            for i, emission in enumerate(gen.emissions()):
                # Emission i is received by the edge at start + i / rate (its ingest_ts).
                delay = t_start + i / o.rate_per_s - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                producer.send(emission.raw)
                events_sent += 1
            producer.flush()
        progress("waiting for the last versions to reach Redis")
        deadline = time.monotonic() + o.catch_up_s
        seen, still = samples.count(), time.monotonic()
        while time.monotonic() < deadline and not errors:
            time.sleep(1)
            now_count = samples.count()
            if now_count != seen:
                seen, still = now_count, time.monotonic()
            elif time.monotonic() - still > run_cfg.checkpoint_interval_ms / 1000 * 2 + 3:
                break
    finally:
        stop.set()
        job.stop()
    if worker.ident is not None:  # started
        worker.join(timeout=60)
    if errors:
        raise errors[0]
    if not stats_box or not samples.count():
        raise FeatureCacheTransientError(f"run {run_id}: no feature version reached Redis")
    live_stats = stats_box[0]
    # The materializer is stopped (it held the history file's write lock):
    # compare what Redis would serve now with the history as of now.
    consistency = online_offline_consistency(client, run_cfg.key_prefix, work / "history.duckdb")
    late = sum(1 for _ in read_all(run_settings, run_cfg.late_topic, idle_timeout_s=2))

    drain: Throughput | None = None
    if o.drain:
        progress("draining the whole topic again to measure materializer throughput")
        drain_cfg = run_cfg.model_copy(
            update={
                "consumer_group": f"{run_cfg.consumer_group}-drain",
                "key_prefix": f"{run_cfg.key_prefix}-drain",
            }
        )
        with (
            HistoryStore.open(work / "drain.duckdb", PRECOMPUTE_SCHEMA) as history,
            Materializer(run_settings, drain_cfg, history=history) as m,
        ):
            t0 = time.monotonic()
            d = m.run(until_end=True, timeout_s=300)
            wall = time.monotonic() - t0
        drain = Throughput(d.records, round(wall, 3), round(d.records / wall, 1), drain_cfg.batch_size, True)
        _delete_keys(client, drain_cfg.key_prefix)

    _delete_keys(client, run_cfg.key_prefix)
    delete_topics(
        run_settings,
        [run_settings.events_topic, run_settings.dlq_topic, run_cfg.topic, run_cfg.late_topic],
    )
    return PrecomputeMeasurement(
        events_sent=events_sent,
        rate_per_s=o.rate_per_s,
        checkpoint_interval_ms=run_cfg.checkpoint_interval_ms,
        watermark_delay_ms=run_cfg.watermark_delay_ms,
        versions=live_stats.records,
        versions_by_group=dict(live_stats.by_group),
        late_events=late,
        freshness_ms=LatencySummary.from_samples(samples.freshness),
        event_to_redis_ms=LatencySummary.from_samples(samples.event_to_redis),
        kafka_to_redis_ms=LatencySummary.from_samples(samples.kafka_to_redis),
        live=Throughput(
            live_stats.records,
            round(live_stats.busy_seconds, 3),
            round(live_stats.records_per_s, 1),
            run_cfg.batch_size,
            run_cfg.write_history,
        ),
        drain=drain,
        ttl=tuple(ttl.state(g) for g in PRECOMPUTE_SCHEMA.group_names),
        bad_records=live_stats.bad_records,
        consistency=consistency,
    )
