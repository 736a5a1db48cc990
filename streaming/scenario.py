"""One end-to-end streaming run: live producer -> Flink job -> verify, with faults.

`starlab stream run` and the fault test use this. Events are produced in real
time (event time = now, paced at `rate` records/s), so freshness and
end-to-end latency are real wall-clock figures. Faults are injected from a
side thread at fractions of the run while the producer keeps going:

- `kill-job@F`: SIGKILL the job process tree, start a new one that restores
  from the newest retained checkpoint;
- `kill-broker@F`: SIGKILL the Kafka broker (on the cluster, the node leading
  the most input partitions) and start it again;
- `kill-tm@F`, `kill-jm@F` (cluster topology): SIGKILL the busiest
  TaskManager or the JobManager (`streaming.faults`); after the JobManager
  the job is resubmitted from its newest checkpoint;
- `stall@F:S`: SIGSTOP the job for S seconds (a hung job), then SIGCONT.

A restart after a crash retries with back-off while the job's dependencies
are still recovering (a job killed while its broker restarts comes back by
itself), and each fault's pause and recovery time are measured on the run.
"""

from __future__ import annotations

import os
import shutil
import signal
import threading
import time
import uuid
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from pathlib import Path

from starlab.events.generator import Generator, GeneratorConfig, Manifest
from starlab.events.model import ALLOWED_LATENESS_MS
from starlab.events.producer import EdgeProducer, ProducerCollector
from starlab.kafka_io import delete_topics, ensure_topics
from starlab.lake.events import reset_events_table
from starlab.metrics import LatencySummary
from starlab.observability.live import installed_rules, prometheus_ready
from starlab.observability.receiver import AlertRecord, read_log
from starlab.settings import Settings
from streaming.errors import CatchUpTimeout, FaultInjectionError, JobError, StreamConfigError
from streaming.faults import (
    CLUSTER_FAULTS,
    FaultImpact,
    fault_impacts,
    kill_broker,
    kill_jobmanager,
    kill_taskmanager,
)
from streaming.job import FlinkJob, JobOptions
from streaming.telemetry import PrometheusFigures, StreamTelemetry, prometheus_figures
from streaming.topics import stream_topics
from streaming.verify import VerifyReport, verify

Progress = Callable[[str], None]


FAULT_KINDS = ("kill-job", "kill-broker", *CLUSTER_FAULTS, "stall")


@dataclass(frozen=True)
class Fault:
    kind: str
    at: float
    """Fraction of the records produced when the fault starts."""
    duration_s: float = 0.0

    @classmethod
    def parse(cls, text: str) -> Fault:
        """`kill-job@0.3`, `kill-broker@0.6`, `kill-tm@0.5`, `kill-jm@0.7`, `stall@0.5:20`."""
        try:
            kind, rest = text.split("@", 1)
            at, _, dur = rest.partition(":")
            fault = cls(kind, float(at), float(dur or 0))
        except ValueError:
            raise StreamConfigError(
                f"bad fault {text!r}: use kill-job@0.3, kill-broker@0.6, kill-tm@0.5, kill-jm@0.7 "
                "or stall@0.5:20"
            ) from None
        if fault.kind not in FAULT_KINDS or not 0 <= fault.at <= 1:
            raise StreamConfigError(f"bad fault {text!r}: kind {'|'.join(FAULT_KINDS)}, position 0..1")
        return fault


@dataclass(frozen=True)
class FaultWindow:
    """When a fault began and ended (wall clock): where a dashboard draws its marks."""

    kind: str
    started_at: float
    ended_at: float


@dataclass
class RunOptions:
    events: int = 20_000
    rate: float = 2_000.0
    """Records per second sent in real time."""
    seed: int = 7
    checkpoint_interval_ms: int = 5_000
    delivery_guarantee: str = "exactly-once"
    lateness_ms: int = ALLOWED_LATENESS_MS
    late_rate: float = 0.01
    faults: list[Fault] = field(default_factory=list)
    alert_rules: Callable[[str, str], str] | None = None
    """Prometheus rules for this run only, given (run id, consumer group): installed beside
    the shipped ones for the run's duration (a test's or a demo's compressed SLOs)."""
    catch_up_timeout_s: float = 300.0
    verify_retries: int = 5
    """Re-reads while the last files and transactions land; 0 when the run is
    expected to differ from the 10-minute ground truth (other lateness)."""


@dataclass
class RunResult:
    run_id: str
    manifest: Manifest
    report: VerifyReport
    produce_s: float
    produced_per_s: float
    latency_ms: LatencySummary | None
    freshness_p95_s: float | None
    freshness_max_s: float | None
    max_lag: int
    alerts: list[AlertRecord]
    """What Alertmanager delivered to the receiver for this run, oldest first."""
    group: str
    """The Flink job's consumer group (its lag series carry it)."""
    started_at: float
    """Wall-clock time the run began (before the job started)."""
    input_ended_at: float
    """Wall-clock time the producer sent its last record."""
    faults_done: list[str]
    fault_windows: list[FaultWindow]
    restored_from: list[str]
    options: RunOptions
    prometheus: PrometheusFigures | None = None
    """The run's latency and freshness as Prometheus computed them (None without Prometheus)."""
    impacts: list[FaultImpact] = field(default_factory=list)
    """Per fault: the longest pause of committed output and the time to recover."""
    topology: str = "single"
    delivery_failures: int = 0
    """Records the edge producer saw refused after retries (acks=all): must be 0."""

    def summary(self) -> dict[str, object]:
        return {
            "run_id": self.run_id,
            "events": self.report.expected_unique,
            "verify": self.report.to_dict(),
            "produced_per_s": round(self.produced_per_s),
            "latency_ms": self.latency_ms.to_dict() if self.latency_ms else None,
            "freshness_p95_s": self.freshness_p95_s,
            "max_lag": self.max_lag,
            "alerts": [asdict(a) for a in self.alerts],
            "faults": self.faults_done,
            "fault_impacts": [asdict(i) for i in self.impacts],
            "restored_from": self.restored_from,
            "topology": self.topology,
            "delivery_failures": self.delivery_failures,
        }


def reset_stream(settings: Settings, job: FlinkJob) -> None:
    """Fresh topics, events table and checkpoints, so a run compares with its own manifest."""
    job.stop()
    delete_topics(settings, [t.name for t in stream_topics(settings)])
    reset_events_table(settings)
    shutil.rmtree(job.base, ignore_errors=True)


def _signal_job(job: FlinkJob, sig: signal.Signals) -> None:
    pid = job.proc.pid()
    if pid is not None:
        os.killpg(pid, sig)


def _resubmit(job: FlinkJob) -> Path | None:
    """After the JobManager's SIGKILL: end the driver, whose job died with the JobManager
    (no job is left to cancel), and submit the job again from its newest checkpoint."""
    job.proc.kill()
    return job.restart(new_jobmanager=True)


def run_stream(settings: Settings, opts: RunOptions, progress: Progress = print) -> RunResult:
    run_id = uuid.uuid4().hex[:8]
    cluster_only = [f"{f.kind}@{f.at}" for f in opts.faults if f.kind in CLUSTER_FAULTS]
    if cluster_only and not settings.clustered:
        raise StreamConfigError(
            f"{', '.join(cluster_only)} need the cluster topology (STARLAB_TOPOLOGY=cluster)"
        )
    job = FlinkJob(
        settings,
        JobOptions(
            checkpoint_interval_ms=opts.checkpoint_interval_ms,
            lateness_ms=opts.lateness_ms,
            delivery_guarantee=opts.delivery_guarantee,
            group_id=f"starlab-flink-{run_id}",
        ),
    )
    reset_stream(settings, job)
    ensure_topics(settings, stream_topics(settings))
    producer = EdgeProducer(settings)
    progress(f"run {run_id}: starting the Flink job (checkpoints every {opts.checkpoint_interval_ms} ms)")
    observed = prometheus_ready(settings)
    if not observed:
        if opts.alert_rules is not None:
            raise StreamConfigError(
                f"this run has alert rules but Prometheus is not answering at {settings.prometheus_url}; "
                "`starlab up` starts it"
            )
        progress("Prometheus is not running: no SLO alerts for this run (`starlab up` starts it)")
    with ExitStack() as scope:  # the run's own rules leave Prometheus however the run ends
        group = job.options.group_id
        if opts.alert_rules is not None:
            scope.enter_context(installed_rules(settings, run_id, opts.alert_rules(run_id, group)))
        run_started = time.time()
        job.start()
        job.wait_ready()
        monitor = StreamTelemetry(settings, run_id=run_id, group=group)
        monitor.registry.register(ProducerCollector(producer))  # the edge's counts beside the output's
        monitor.start()

        cfg = GeneratorConfig(
            seed=opts.seed,
            events=opts.events,
            start_ms=int(time.time() * 1000),
            rate_per_s=opts.rate,
            late_rate=opts.late_rate,
        )
        gen = Generator(cfg)
        emissions = list(gen.emissions())  # ground truth is complete before we start
        total = len(emissions)
        faults = sorted(opts.faults, key=lambda f: f.at)
        faults_done: list[str] = []
        fault_windows: list[FaultWindow] = []
        restored: list[str] = []
        fault_threads: list[threading.Thread] = []
        errors: list[BaseException] = []
        # One fault at a time acts on the job process: a second kill-job that
        # fires while the first restart is still under way waits for it (two
        # threads restarting one job killed each other's new process, seen
        # here). A broker fault does not wait: the job must survive that overlap.
        job_lock = threading.Lock()

        def inject(f: Fault) -> None:
            try:
                t0, wall0 = time.monotonic(), time.time()
                if f.kind in ("kill-job", "kill-jm"):
                    with job_lock:
                        if f.kind == "kill-jm":
                            jm = kill_jobmanager(settings, lambda: _resubmit(job))
                            restored.append(str(jm.restored_from))
                            progress(
                                f"kill-jm: JobManager on REST after {jm.rest_up_s:.1f}s, job resubmitted "
                                f"after {jm.resubmitted_s:.1f}s, all slots back after {jm.slots_s:.1f}s"
                            )
                        else:
                            job.kill()
                            restored.append(str(job.restart()))
                elif f.kind == "kill-broker":
                    kill_broker(settings)
                elif f.kind == "kill-tm":
                    kill_taskmanager(settings)  # Flink restarts the job on the slots left
                elif f.kind == "stall":
                    with job_lock:
                        _signal_job(job, signal.SIGSTOP)
                        time.sleep(f.duration_s)
                        _signal_job(job, signal.SIGCONT)
                faults_done.append(f"{f.kind}@{f.at} took {time.monotonic() - t0:.1f}s")
                fault_windows.append(FaultWindow(f.kind, wall0, time.time()))
                progress(f"fault {f.kind}@{f.at} done in {time.monotonic() - t0:.1f}s")
            except BaseException as exc:  # surfaced after the run
                errors.append(exc)

        monitor.input_started(cfg.start_ms / 1000)
        t_start = time.monotonic()
        for i, emission in enumerate(emissions):
            # Real-time pacing: emission i is due at t_start + i / rate.
            due = t_start + i / opts.rate
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            while faults and i >= faults[0].at * total:
                f = faults.pop(0)
                progress(f"fault {f.kind}@{f.at} at record {i:,}")
                th = threading.Thread(target=inject, args=(f,), daemon=True)
                th.start()
                fault_threads.append(th)
            producer.send(emission.raw)
            if i and i % 50_000 == 0:
                progress(f"{i:,}/{total:,} records sent")
        stats = producer.flush(timeout_s=120)
        produce_s = time.monotonic() - t_start
        produce_end_wall = time.time()
        monitor.stop_exporting()  # the input has ended; staleness from here on is by design
        for th in fault_threads:
            th.join(timeout=180)
        if errors:
            job.stop()
            monitor.stop()
            raise FaultInjectionError(f"fault injection failed: {errors[0]}")
        if stats.delivery_failures:
            progress(f"WARNING: {stats.delivery_failures} delivery failures {dict(stats.failure_errors)}")
        progress(f"produced {total:,} records in {produce_s:.1f}s; waiting for the job to catch up")

        deadline = time.monotonic() + opts.catch_up_timeout_s
        while True:
            s = monitor.samples[-1] if monitor.samples else None
            if s is not None and s.consumer_lag == 0 and s.at > time.time() - 2:
                break
            if not job.running():
                raise JobError(f"the Flink job died; see {job.proc.log_file}")
            if time.monotonic() > deadline:
                raise CatchUpTimeout(f"job did not catch up within {opts.catch_up_timeout_s:.0f}s (lag {s})")
            time.sleep(1)
        # Offsets are committed when a checkpoint completes; the same checkpoint
        # commits the output transactions. One more interval for the last files.
        time.sleep(opts.checkpoint_interval_ms / 1000 + 2)
        report = verify(settings, gen.manifest)
        for _ in range(opts.verify_retries):
            if report.ok:
                break
            time.sleep(opts.checkpoint_interval_ms / 1000)
            report = verify(settings, gen.manifest)
        monitor.stop()
        job.stop()
        # What Prometheus raised for this run, as the receiver got it: freshness is
        # evaluated per run, lag per consumer group (each run has its own).
        alerts = [
            a
            for a in read_log(settings.alerts_log, run_started)
            if a.labels.get("run") == run_id or a.labels.get("group") == group
        ]  # the log is in the order the receiver got them

        # Freshness while data flows: once the producer stops, "now - newest event"
        # grows by definition and says nothing about the pipeline.
        window_end = produce_end_wall + opts.checkpoint_interval_ms / 1000
        fault_windows.sort(key=lambda w: w.started_at)  # appended as each ended
        impacts = fault_impacts(
            [(w.kind, w.started_at) for w in fault_windows],
            time.time(),
            monitor.output_times,
            [(x.at, x.consumer_lag) for x in monitor.samples],
            slack_records=int(opts.rate * opts.checkpoint_interval_ms / 1000),
        )
        fresh = [x.freshness_s for x in monitor.samples if x.freshness_s is not None and x.at <= window_end]
        from starlab.metrics import percentile

        return RunResult(
            run_id=run_id,
            manifest=gen.manifest,
            report=report,
            produce_s=produce_s,
            produced_per_s=total / produce_s,
            latency_ms=LatencySummary.from_samples(monitor.latencies_ms, unit="ms")
            if monitor.latencies_ms
            else None,
            freshness_p95_s=percentile(fresh, 95) if fresh else None,
            freshness_max_s=max(fresh) if fresh else None,
            max_lag=max((x.consumer_lag for x in monitor.samples), default=0),
            alerts=alerts,
            group=group,
            started_at=run_started,
            input_ended_at=produce_end_wall,
            prometheus=(
                prometheus_figures(settings, run_id, run_started, window_end, time.time())
                if observed
                else None
            ),
            faults_done=faults_done,
            fault_windows=fault_windows,
            restored_from=restored,
            options=opts,
            impacts=impacts,
            topology=settings.topology,
            delivery_failures=stats.delivery_failures,
        )
