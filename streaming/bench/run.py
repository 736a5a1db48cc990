"""`starlab stream bench`: throughput and latency of the streaming path, in one run.

Prints, on this machine (2 cores) and in the same run:

1. sustained events/s of Kafka -> Flink (dedup + per-minute metrics + lake +
   late capture) -> exactly-once sinks, over a preloaded topic, and the ratio
   to a plain confluent-kafka consume -> produce passthrough of the same
   records (the floor any Kafka-to-Kafka hop pays on this machine);
2. p99 produce-to-committed-output latency with exactly-once sinks and, beside
   it, with at-least-once sinks, for the same live input. Exactly-once output
   becomes readable only when a checkpoint commits, so its p99 is bounded by
   the checkpoint interval plus the time to take the checkpoint.
"""

from __future__ import annotations

import io
import json
import os
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import fastavro
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient

from starlab.events.generator import Generator, GeneratorConfig
from starlab.events.model import schema_str
from starlab.kafka_io import TopicSpec, delete_topics, ensure_topics
from starlab.settings import Settings
from streaming.bench import THROUGHPUT_EVENTS
from streaming.errors import BenchError
from streaming.job import FlinkJob, JobOptions
from streaming.scenario import RunOptions, reset_stream, run_stream
from streaming.telemetry import consumer_lag
from streaming.topics import stream_topics

Progress = Callable[[str], None]


BEFORE_PROFILE: tuple[tuple[str, str], ...] = (
    ("state.backend.rocksdb.use-bloom-filter", "false"),
    ("state.backend.rocksdb.predefined-options", "DEFAULT"),
    # The local mini-cluster's own default (DEFAULT_MANAGED_MEMORY_SIZE in flink-dist
    # 2.2.1's TaskExecutorResourceUtils), which the profile raised to 512m.
    ("taskmanager.memory.managed.size", "128m"),
)
"""The job as it was before profiling (docs/profiles/README.md): the three changes of the
profile undone, everything else the same, for the before/after ratio of one run."""

SEVEN_DAYS_S = 7 * 86_400
STORY_BACKFILL_BUDGET_H = 6.0
LIVE_RATE_PER_S = 2_500
"""The event rate the demo's live runs use: the 7-day window is extrapolated at it."""


@dataclass(frozen=True)
class Throughput:
    """A job's rate over a preloaded topic, from the offsets it committed at each checkpoint."""

    events_per_s: float
    """From the first checkpoint to the last before the end: start-up and drain left out."""
    steady_events_per_s: float
    """Over the second half of the records only: the JVM's JIT compiler is still busy for
    the first minute or two (one of the two cores, measured with `jstat -compiler`), which
    a long-running job pays once."""
    checkpoints: int


@dataclass
class BenchResult:
    events: int
    flink_events_per_s: float
    passthrough_events_per_s: float
    eo_p99_ms: float
    alo_p99_ms: float
    checkpoint_interval_ms: int
    preload_events_per_s: float
    backfill_events: int = 0
    backfill_s: float = 0.0
    cores: int = 1
    flink_steady_events_per_s: float = 0.0
    """The single topology's rate over the second half of the records (JIT warm-up over)."""
    cluster: Throughput | None = None
    """The same job on the cluster topology, same cores, same run (None: not measured)."""
    before_profile: Throughput | None = None
    """The single topology's job with `BEFORE_PROFILE` applied, same topic, same run (None: not measured)."""

    @property
    def profile_gain(self) -> float | None:
        """Steady rate after / before the profile's changes, from this run."""
        b = self.before_profile
        if b is None or not b.steady_events_per_s:
            return None
        return self.flink_steady_events_per_s / b.steady_events_per_s

    @property
    def flink_events_per_s_per_core(self) -> float:
        """Steady rate per core: what a capacity plan multiplies."""
        return self.flink_steady_events_per_s / self.cores

    @property
    def cluster_events_per_s_per_core(self) -> float | None:
        return None if self.cluster is None else self.cluster.steady_events_per_s / self.cores

    @property
    def backfill_events_per_s(self) -> float:
        return self.backfill_events / self.backfill_s if self.backfill_s else 0.0

    @property
    def backfill_7d_hours(self) -> float:
        """Hours to backfill 7 days at LIVE_RATE_PER_S, scaled linearly from the run."""
        rate = self.backfill_events_per_s
        return SEVEN_DAYS_S * LIVE_RATE_PER_S / rate / 3600 if rate else float("inf")

    @property
    def ratio(self) -> float:
        return self.flink_events_per_s / self.passthrough_events_per_s


@dataclass(frozen=True)
class Preloaded:
    records: int
    """Records written (the generator's duplicates included)."""
    unique: int
    """Distinct event ids among them: the keys the dedup holds after reading all."""
    value_bytes: int
    """Sum of the encoded values (Confluent wire format), before compression."""
    events_per_s: float
    sample: bytes = b""
    """One encoded value (the last), for tests that need real records' compressibility."""


def preload(settings: Settings, events: int, progress: Progress) -> Preloaded:
    """Fill the events topic fast: Avro encoded once per record with fastavro."""
    ensure_topics(settings, stream_topics(settings))
    registry = SchemaRegistryClient({"url": settings.schema_registry_url})
    schema_id = registry.register_schema(f"{settings.events_topic}-value", Schema(schema_str(), "AVRO"))
    parsed = fastavro.parse_schema(json.loads(schema_str()))
    header = struct.pack(">bI", 0, schema_id)  # Confluent wire format: magic 0 + schema id
    producer = Producer(
        {
            "bootstrap.servers": settings.kafka_bootstrap,
            "enable.idempotence": True,
            "linger.ms": 50,
            "batch.size": 1_000_000,
            "compression.type": "lz4",
            "queue.buffering.max.messages": 1_000_000,
        }
    )
    gen = Generator(
        GeneratorConfig(
            events=events,
            rate_per_s=2_000,
            malformed_rate=0.0,
            start_ms=int(time.time() * 1000) - events // 2,
        )
    )
    t0 = time.monotonic()
    n = size = 0
    ids: set[str] = set()
    for e in gen.emissions():
        if e.event is None:
            continue
        buf = io.BytesIO()
        buf.write(header)
        fastavro.schemaless_writer(buf, parsed, e.event.to_record())
        value = buf.getvalue()
        size += len(value)
        ids.add(e.event.event_id)
        while True:
            try:
                producer.produce(settings.events_topic, key=e.event.event_id.encode(), value=value)
                break
            except BufferError:
                producer.poll(0.05)
        n += 1
        if n % 200_000 == 0:
            progress(f"preloaded {n:,}")
    producer.flush(120)
    rate = n / (time.monotonic() - t0)
    # The backfill measurement runs dbt over the lake, which joins the items.
    from starlab.events.files import write_dimensions

    write_dimensions(gen.items, gen.users, settings.lake_dir)
    return Preloaded(n, len(ids), size, rate, value)


def rates(steps: list[tuple[float, int]], records: int) -> Throughput:
    """`Throughput` from (time, records done) steps, one per completed checkpoint."""
    if len(steps) < 3:
        raise BenchError(f"only {len(steps)} checkpoint steps seen: use more events")
    (t1, d1), (t2, d2) = steps[0], steps[-1]
    half = next((s for s in steps if s[1] >= records / 2), steps[0])
    if half[0] >= t2:  # the second half came in one step: no steady figure of its own
        half = steps[0]
    return Throughput((d2 - d1) / (t2 - t1), (d2 - half[1]) / (t2 - half[0]), len(steps))


@dataclass
class CommittedProgress:
    """How far a consumer group has committed through `records` preloaded events.

    Flink commits its source offsets when a checkpoint completes, so progress
    moves in steps, one per checkpoint: `poll` records a step whenever the
    committed count moved. The bench and the capacity run read their rates
    from these steps (`throughput`).
    """

    records: int
    lag: Callable[[], int]
    """The group's total lag on the topic now (raises while nothing is committed yet)."""
    steps: list[tuple[float, int]] = field(default_factory=list)

    def poll(self) -> bool:
        """Read the lag once; True when a new step was recorded."""
        try:
            done = self.records - self.lag()
        except Exception:  # no committed offsets yet, or a broker between leaders
            return False
        if done <= 0 or (self.steps and done == self.steps[-1][1]):
            return False
        self.steps.append((time.monotonic(), done))
        return True

    @property
    def finished(self) -> bool:
        return bool(self.steps) and self.steps[-1][1] >= self.records

    def throughput(self) -> Throughput:
        """Rates between the first step and the last one before the end.

        The step that reached the end holds an idle tail (the job waited for
        the checkpoint with nothing left to read), so it is left out.
        """
        return rates([st for st in self.steps if st[1] < self.records], self.records)


def committed_progress(settings: Settings, group: str, records: int) -> CommittedProgress:
    """`CommittedProgress` of `group` on the events topic of `settings`."""

    def lag() -> int:
        return sum(consumer_lag(settings, group, settings.events_topic).values())

    return CommittedProgress(records, lag)


def flink_throughput(
    settings: Settings,
    records: int,
    progress: Progress,
    flink_conf: tuple[tuple[str, str], ...] = (),
    on_running: Callable[[FlinkJob], None] | None = None,
) -> Throughput:
    """Sustained rate of the bounded job, from the offsets it commits over time.

    Flink commits source offsets when a checkpoint completes (every 5 s, the
    production setting), so progress moves in steps. `on_running` is called
    once, at the first step (e.g. to start a profiler). The rate is taken
    between the first and the last step before the end: job start-up (JVM,
    planning, state backend) and the final drain are left out, as
    "sustained" means.
    """
    group = f"starlab-bench-{int(time.time())}"
    job = FlinkJob(
        settings, JobOptions(bounded=True, group_id=group, flink_conf=flink_conf), name="flink-bench"
    )
    job.start()
    done = committed_progress(settings, group, records)
    while job.running():
        if done.poll() and on_running is not None and len(done.steps) == 1:
            on_running(job)  # past start-up: the first checkpoint committed
        time.sleep(0.1)
    job.wait_finished(timeout_s=10)
    r = done.throughput()
    progress(
        f"flink ({settings.topology}): {r.events_per_s:,.0f} events/s sustained over {r.checkpoints} "
        f"checkpoints; {r.steady_events_per_s:,.0f}/s over the second half"
    )
    return r


def passthrough_throughput(settings: Settings, records: int, progress: Progress) -> float:
    """Consume the same records and produce them to another topic, in Python."""
    out_topic = f"{settings.events_topic}.passthrough"
    delete_topics(settings, [out_topic])
    ensure_topics(settings, [TopicSpec(out_topic, settings.kafka_partitions)])
    c = Consumer(
        {
            "bootstrap.servers": settings.kafka_bootstrap,
            "group.id": "starlab-bench-pt",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "isolation.level": "read_committed",
        }
    )
    parts = c.list_topics(settings.events_topic).topics[settings.events_topic].partitions
    c.assign([TopicPartition(settings.events_topic, p, 0) for p in parts])
    p = Producer(
        {
            "bootstrap.servers": settings.kafka_bootstrap,
            "enable.idempotence": True,
            "linger.ms": 50,
            "compression.type": "lz4",
            "queue.buffering.max.messages": 1_000_000,
        }
    )
    n = 0
    t0 = time.monotonic()
    while n < records:
        for msg in c.consume(num_messages=10_000, timeout=1.0):
            if msg.error():
                continue
            while True:
                try:
                    p.produce(out_topic, key=msg.key(), value=msg.value())
                    break
                except BufferError:
                    p.poll(0.05)
            n += 1
        p.poll(0)
    p.flush(60)
    c.close()
    rate = n / (time.monotonic() - t0)
    progress(f"passthrough: {rate:,.0f} events/s")
    return rate


def cluster_throughput(cluster: Settings, events: int, progress: Progress) -> Throughput:
    """The throughput run on the cluster topology: started for it if down, stopped after if so."""
    from starlab.stack import manager

    with manager.started(cluster, progress=progress):
        reset_stream(cluster, FlinkJob(cluster, name="flink-bench"))
        n = preload(cluster, events, progress).records
        return flink_throughput(cluster, n, progress)


def run_bench(
    settings: Settings,
    events: int = THROUGHPUT_EVENTS,
    checkpoint_ms: int = 5_000,
    progress: Progress = print,
    cluster: Settings | None = None,
    before_profile: bool = True,
) -> BenchResult:
    reset_stream(settings, FlinkJob(settings, name="flink-bench"))
    pre = preload(settings, events, progress)
    n, preload_rate = pre.records, pre.events_per_s
    progress(f"preloaded {n:,} events ({preload_rate:,.0f}/s)")
    flink = flink_throughput(settings, n, progress)
    on_cluster = cluster_throughput(cluster, events, progress) if cluster is not None else None
    pt_rate = passthrough_throughput(settings, n, progress)
    # The bounded job left ~1M deduplicated events in the lake: a scaled
    # window for the story's "backfill a 7-day window within 6 hours".
    from datetime import UTC, datetime

    from streaming.reconcile import backfill

    t0 = time.monotonic()
    bf = backfill(settings, datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))
    bf_s = time.monotonic() - t0
    progress(
        f"backfill: {bf.events:,} events ({bf.windows:,} windows) re-derived and replayed in {bf_s:.1f}s"
    )
    # After the backfill, which reads the lake: this run appends its own copy of the events.
    before = None
    if before_profile and settings.topology == "single":
        progress("the job before profiling: bloom filters off, default RocksDB options, 128m managed memory")
        before = flink_throughput(settings, n, progress, flink_conf=BEFORE_PROFILE)
    lat = {}
    for guarantee in ("exactly-once", "at-least-once"):
        r = run_stream(
            settings,
            RunOptions(
                events=30_000, rate=3_000, checkpoint_interval_ms=checkpoint_ms, delivery_guarantee=guarantee
            ),
            progress=progress,
        )
        if r.latency_ms is None:
            raise BenchError(f"{guarantee} run produced no committed output to time")
        lat[guarantee] = r.latency_ms.p99
        progress(f"{guarantee}: p99 {lat[guarantee]:,.0f} ms")
    return BenchResult(
        n,
        flink.events_per_s,
        pt_rate,
        lat["exactly-once"],
        lat["at-least-once"],
        checkpoint_ms,
        preload_rate,
        bf.events,
        bf_s,
        os.cpu_count() or 1,
        flink.steady_events_per_s,
        on_cluster,
        before,
    )


@dataclass
class LatenessPoint:
    lateness_s: int
    events: int
    late_captured: int
    e2e_p95_ms: float
    drift_windows: int
    windows: int

    @property
    def late_pct(self) -> float:
        return 100 * self.late_captured / self.events


def compare_lateness(
    settings: Settings,
    lateness_s: tuple[int, ...] = (600, 120),
    events: int = 20_000,
    progress: Progress = print,
) -> list[LatenessPoint]:
    """Same seeded input, two allowed-lateness settings: what changes is how many
    events miss their minute (and must be repaired by a backfill), not latency."""
    from streaming.reconcile import reconcile

    out = []
    for s in lateness_s:
        opts = RunOptions(events=events, rate=2_500, lateness_ms=s * 1000, verify_retries=0)
        r = run_stream(settings, opts, progress=progress)
        rec = reconcile(settings)
        out.append(
            LatenessPoint(
                s,
                r.report.expected_unique,
                r.report.late_captured,
                r.latency_ms.p95 if r.latency_ms else float("nan"),
                rec.drift_windows,
                rec.windows_compared,
            )
        )
        progress(
            f"lateness {s}s: {out[-1].late_captured} late ({out[-1].late_pct:.2f}%), "
            f"e2e p95 {out[-1].e2e_p95_ms:,.0f} ms, drift {rec.drift_windows}/{rec.windows_compared} windows"
        )
    return out
