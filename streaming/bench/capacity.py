"""`starlab stream capacity`: measure the capacity plan's inputs on the running stack.

Issue 12 item 6. One command measures, on this machine and in one run, what
`streaming.capacity` turns into sizes for 10x/100x/1000x the demo's load:

- the job's sustained rate with exactly-once sinks, reading a preloaded topic
  (the bench's method), on the single topology and, with `--cluster`, on the
  cluster topology;
- the keyed state and the checkpoint once the job has read every event: the
  dedup then holds every distinct event id (all inside the 1 h TTL), and the
  first checkpoint after that is read from Flink's REST checkpoint statistics;
- one producer's throughput into a one-partition topic (acks=all, idempotent);
- Redis bytes per feature key, from `starlab features memory` (its JSON: that
  story's write path, measured there; stories do not import each other).
"""

from __future__ import annotations

import json
import os
import platform
import socket
import subprocess
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from confluent_kafka import Producer

from starlab.flink.session import CheckpointStats, SessionCluster
from starlab.kafka_io import TopicSpec, delete_topics, ensure_topics
from starlab.settings import Settings
from starlab.stack import manager
from streaming.bench import THROUGHPUT_EVENTS
from streaming.bench.run import Preloaded, committed_progress, preload
from streaming.capacity import Measured
from streaming.errors import BenchError, StreamConfigError
from streaming.job import PIPELINE_NAME, FlinkJob, JobOptions
from streaming.scenario import reset_stream
from streaming.settings import StreamSettings

Progress = Callable[[str], None]


@dataclass(frozen=True)
class JobRun:
    """One read of the preloaded topic to its end, and its checkpoints."""

    events_per_s: float
    checkpoint: CheckpointStats
    """The first checkpoint after the last record: the whole state at rest."""
    busiest: CheckpointStats
    """The checkpoint that wrote the most while the job ran: its bytes over its duration
    is the upload rate (one after the end writes almost nothing and says little)."""


@dataclass(frozen=True)
class PartitionRate:
    bytes_per_s: float
    events_per_s: float


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def read_all_and_checkpoint(settings: Settings, pre: Preloaded, progress: Progress) -> JobRun:
    """Run the job (unbounded) over the preloaded topic; rate from committed offsets, then stats.

    The rate is taken between the first and the last checkpoint step before
    the end, as `starlab stream bench` does. The state is read from the
    first checkpoint completed after the job read the last record.
    """
    conf: tuple[tuple[str, str], ...] = ()
    if settings.flink_rest_url:
        rest = SessionCluster(settings.flink_rest_url)
    else:
        port = _free_port()  # the mini-cluster's REST, for its checkpoint statistics
        # ... and enough history to find the busiest checkpoint of the run
        conf = (("rest.port", str(port)), ("web.checkpoints.history", "200"))
        rest = SessionCluster(f"http://127.0.0.1:{port}")
    group = f"starlab-capacity-{uuid.uuid4().hex[:6]}"
    job = FlinkJob(settings, JobOptions(group_id=group, flink_conf=conf), name="flink-capacity")
    job.start()
    try:
        done = committed_progress(settings, group, pre.records)
        deadline = time.monotonic() + 1800
        while not done.finished:
            if not job.running():
                raise BenchError(f"the job stopped before reading all events; see {job.proc.log_file}")
            if time.monotonic() > deadline:
                raise BenchError("the job did not read the preloaded events within 30 min")
            done.poll()
            time.sleep(0.1)
        rate = done.throughput().steady_events_per_s
        progress(f"flink ({settings.topology}): {rate:,.0f} events/s over the second half")
        (running,) = rest.active(PIPELINE_NAME)
        # Offsets commit when a checkpoint completes, so the step that showed
        # the last record was that checkpoint; the next one has the whole state
        # at rest (nothing in flight).
        first = rest.latest_checkpoint(running.job_id)
        after = first.checkpoint_id if first else 0
        stats = first
        wait_until = time.monotonic() + 120
        while stats is None or stats.checkpoint_id <= after:
            if time.monotonic() > wait_until:
                raise BenchError("no checkpoint completed after the job read every event")
            time.sleep(1)
            stats = rest.latest_checkpoint(running.job_id)
        busiest = max(rest.checkpoint_history(running.job_id), key=lambda c: c.checkpointed_bytes)
        progress(
            f"state {stats.state_bytes / 1e6:,.1f} MB for {pre.unique:,} event ids; busiest checkpoint "
            f"wrote {busiest.checkpointed_bytes / 1e6:,.1f} MB in {busiest.duration_ms:,} ms"
        )
        return JobRun(rate, stats, busiest)
    finally:
        job.stop()


def partition_rate(settings: Settings, sample: bytes, records: int = 300_000) -> PartitionRate:
    """One producer into a one-partition topic, acks=all and idempotent, as fast as it goes.

    `sample` is a real encoded event, sent again and again (lz4 as the edge
    producer): zero-filled values would compress to nothing and flatter it.
    """
    topic = f"starlab-capacity-{uuid.uuid4().hex[:6]}"
    ensure_topics(settings, [TopicSpec(topic, 1)])
    producer = Producer(
        {
            "bootstrap.servers": settings.kafka_bootstrap,
            "enable.idempotence": True,
            "acks": "all",
            "linger.ms": 20,
            "compression.type": "lz4",
            "queue.buffering.max.messages": 1_000_000,
        }
    )
    try:
        t0 = time.monotonic()
        for i in range(records):
            while True:
                try:
                    producer.produce(topic, key=str(i).encode(), value=sample)
                    break
                except BufferError:
                    producer.poll(0.05)
        left = producer.flush(120)
        seconds = time.monotonic() - t0
        if left:
            raise BenchError(f"{left} records not acknowledged by the partition test")
    finally:
        delete_topics(settings, [topic])
    return PartitionRate(records * len(sample) / seconds, records / seconds)


def load_feature_memory(path: Path) -> tuple[int, int, int]:
    """(keys measured, their Redis bytes, keys of the demo) from `starlab features memory`'s JSON."""
    try:
        raw = json.loads(path.read_text())
        keys, size, users, demo = (int(raw[k]) for k in ("keys", "bytes", "users", "demo_users"))
    except FileNotFoundError:
        raise StreamConfigError(f"{path}: not found (run `starlab features memory` first)") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise StreamConfigError(f"{path}: not a feature memory measurement ({exc!r})") from None
    if min(keys, size, users, demo) <= 0:
        raise StreamConfigError(f"{path}: keys, bytes, users and demo_users must be positive")
    return keys, size, round(demo * keys / users)


def _commit() -> str:
    out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    return out.stdout.strip() or "unknown"


def measure(
    settings: Settings,
    stream: StreamSettings,
    feature_memory: tuple[int, int, int],
    events: int = THROUGHPUT_EVENTS,
    cluster: Settings | None = None,
    progress: Progress = print,
) -> Measured:
    """Every input of the plan; `feature_memory` is (keys measured, their bytes, demo keys)."""
    reset_stream(settings, FlinkJob(settings, name="flink-capacity"))
    pre = preload(settings, events, progress)
    single = read_all_and_checkpoint(settings, pre, progress)
    part = partition_rate(settings, pre.sample)
    progress(f"one partition: {part.events_per_s:,.0f} records/s, {part.bytes_per_s / 1e6:,.1f} MB/s")
    cluster_rate = None
    if cluster is not None:  # up only now, so its idle JVMs do not share the single run's cores
        with manager.started(cluster, progress=progress):
            reset_stream(cluster, FlinkJob(cluster, name="flink-capacity"))
            on_cluster = read_all_and_checkpoint(cluster, preload(cluster, events, progress), progress)
        cluster_rate = on_cluster.events_per_s
    keys, redis_bytes, demo_keys = feature_memory
    return Measured(
        cores=os.cpu_count() or 1,
        events_per_s=single.events_per_s,
        cluster_events_per_s=cluster_rate,
        event_bytes=pre.value_bytes / pre.records,
        live_keys=pre.unique,
        state_bytes=single.checkpoint.state_bytes,
        checkpoint_ms=float(single.busiest.duration_ms),
        checkpointed_bytes=single.busiest.checkpointed_bytes,
        redis_feature_keys=keys,
        redis_bytes=redis_bytes,
        partition_bytes_per_s=part.bytes_per_s,
        partition_events_per_s=part.events_per_s,
        demo_events_per_s=stream.demo_rate_per_s,
        demo_feature_keys=demo_keys,
        state_ttl_s=stream.state_ttl_ms / 1000,
        measured_at=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        host=f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores, "
        f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB",
        git_commit=_commit(),
    )
