"""The RFC's measuring step: the same day of events through the stream and through the nightly batch.

Backs story 3's cost claims ("reduced batch compute by 40%; net cost -18%
after Kafka costs"): the model (`streaming/rfc/model.py`) needs what each
option costs per event on real components, so this step measures, in one
run on this machine:

- **stream**: the Flink job's process tree (the JVM of the mini-cluster)
  from its start to its stop, while a live run produces `events` events at
  `rate` into Kafka and the job dedups, aggregates and commits them to the
  Iceberg table (`streaming.scenario.run_stream`, verified exactly-once);
  on the cluster topology, the JobManager and both TaskManagers over the
  run (the job runs inside them; the submitting client is measured too);
- **kafka**: the broker's process over the same window, apart, because
  option A pays for the brokers whatever the job does (on the cluster, the
  three nodes: replication factor 3 is part of what the stream costs there);
- **batch**: the status quo's nightly recompute of the same day: a dbt full
  refresh of the engagement metrics from the lake snapshot the stream just
  committed (the process tree of this process, i.e. the dbt subprocess).

CPU-seconds come from the kernel's accounting (psutil), memory is RSS
integrated over time (GB-hours). The measurements go to a JSON file that
`starlab stream rfc` reads.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from starlab.settings import Settings
from starlab.stack import manager
from starlab.stack.components import Kafka
from starlab.stack.process import ManagedProcess
from streaming.errors import BenchError
from streaming.reconcile import run_dbt_batch
from streaming.rfc.measure import HostInfo, Measurement, MeasurementSet, ResourceMeter
from streaming.scenario import Progress, RunOptions, RunResult, run_stream

JOB_NAME = "flink-job"
"""The process name `run_stream`'s job runs under (its pid file)."""


def _pids(settings: Settings, names: list[str], what: str) -> list[int]:
    """The running pids of the named components; a BenchError names the ones that are down."""
    procs = {c.name: getattr(c, "proc", None) for c in manager.components(settings, names, False)}
    pids = {name: p.pid() if p is not None else None for name, p in procs.items()}
    down = sorted(name for name, pid in pids.items() if pid is None)
    if down:
        raise BenchError(f"{what} is not running ({', '.join(down)}): starlab up; it is measured apart")
    return [pid for pid in pids.values() if pid is not None]


def kafka_pids(settings: Settings) -> list[int]:
    """The brokers of the settings' topology: the one broker, or the cluster's three nodes."""
    if settings.clustered:
        from starlab.stack.cluster import NODES

        return _pids(settings, [f"kafka-{i}" for i in NODES], "the Kafka cluster")
    return _pids(settings, [Kafka.name], "the Kafka broker")


def flink_cluster_pids(settings: Settings) -> list[int]:
    """The session cluster's JVMs (JobManager, TaskManagers); none on the single topology."""
    if not settings.clustered:
        return []
    names = [
        n for n in manager.registry(settings)[0] if n.startswith(("flink-jobmanager", "flink-taskmanager"))
    ]
    return _pids(settings, names, "the Flink session cluster")


class _JobMeter:
    """Starts a `ResourceMeter` on the Flink job as soon as its process exists.

    On the cluster topology the job's process is only the client that
    submitted it; the JVMs that run it are `cluster_pids`, metered with it.
    """

    def __init__(self, settings: Settings) -> None:
        self.proc = ManagedProcess(JOB_NAME, settings.run_dir, settings.logs_dir)
        self.cluster_pids = flink_cluster_pids(settings)
        self.meter: ResourceMeter | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="rfc-job-meter", daemon=True)

    def _watch(self) -> None:
        while not self._stop.is_set():
            pid = self.proc.pid()
            if pid is not None:
                self.meter = ResourceMeter("stream", [pid, *self.cluster_pids]).start()
                return
            self._stop.wait(0.05)

    def __enter__(self) -> _JobMeter:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def result(self, events: int) -> Measurement:
        if self.meter is None:
            raise BenchError("the Flink job never started, so the stream was not measured")
        return self.meter.stop(events)


@dataclass(frozen=True)
class Measured:
    """The measurements, and the stream run they were taken on (its latency and verification)."""

    measurements: MeasurementSet
    run: RunResult


def measure(
    settings: Settings,
    events: int = 100_000,
    rate: float = 2_500.0,
    progress: Progress = print,
    checkpoint_interval_ms: int = 5_000,
) -> Measured:
    """Run the stream over `events` and the batch over the same day; returns what both consumed."""
    kafka = ResourceMeter("kafka", kafka_pids(settings)).start()
    with _JobMeter(settings) as job:
        opts = RunOptions(events=events, rate=rate, checkpoint_interval_ms=checkpoint_interval_ms)
        run = run_stream(settings, opts, progress)
        # the job process has stopped (savepoint taken): its tree's last sample is final
        stream = job.result(run.report.expected_unique)
    kafka_m = kafka.stop(run.report.expected_unique)
    if not run.report.ok:
        raise BenchError(f"the measured stream run was not exactly-once: {run.report.to_dict()}")
    progress(
        f"stream: {stream.cpu_s:.1f} CPU-s over {stream.wall_s:.0f} s for {stream.events:,} events; "
        f"kafka {kafka_m.cpu_s:.1f} CPU-s"
    )
    t0 = time.monotonic()
    with ResourceMeter("batch", [os.getpid()]) as meter:
        run_dbt_batch(settings, snapshot_id=run.report.lake_snapshot_id, full_refresh=True)
    batch = meter.stop(run.report.lake_rows)
    progress(f"batch: dbt full refresh, {batch.cpu_s:.1f} CPU-s in {time.monotonic() - t0:.0f} s")
    p95 = run.latency_ms.p95 / 1000 if run.latency_ms else None
    measurements = MeasurementSet(
        measured_at=datetime.now(UTC),
        host=HostInfo.this_machine(),
        batch=batch,
        stream=stream,
        kafka=kafka_m,
        stream_e2e_p95_s=p95,
        notes=(
            f"starlab stream rfc --measure ({settings.topology} topology): {events:,} events at "
            f"{rate:,.0f}/s through Kafka, Flink and "
            f"the Iceberg sink (verified exactly-once), then a dbt full refresh of the engagement "
            f"metrics over the same lake snapshot ({run.report.lake_snapshot_id})."
        ),
    )
    return Measured(measurements, run)


def default_measurements_path(settings: Settings) -> Path:
    return settings.reports_dir / "latest" / "stream" / "rfc-measurements.json"


__all__ = ["Measured", "default_measurements_path", "flink_cluster_pids", "kafka_pids", "measure"]
