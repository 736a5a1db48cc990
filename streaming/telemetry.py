"""What a streaming run measures as it goes, for Prometheus and for the evidence.

Backs story 3's "SLO-based alerting (freshness, consumer lag) and a runbook"
and its end-to-end latency figure. Two consumers of the same observations:

- Prometheus scrapes the run's `/metrics` (announced by file_sd with the
  label `run=<run id>`): the newest event time in the *committed* output
  (freshness is `time() - that`, computed by the rule `slo:stream_freshness_seconds`
  in `streaming/slo.yaml`), when committed output first appeared, output rows,
  and the end-to-end latency as a histogram. Consumer lag comes from the
  stack's lag exporter. The alerts (`FreshnessSLOBreach`, `ConsumerLagHigh`)
  are Prometheus rules; Alertmanager notifies starlab's receiver.
- The evidence keeps what Prometheus cannot give exactly: every output row's
  latency (now - the produce time of the newest event in it), exact to the
  millisecond rather than interpolated inside a histogram bucket, and the
  lag the harness itself waits on before verifying.

Freshness is read at the consumer's end on purpose: only committed output
(read_committed) is what a reader can see, so a job that processes but never
commits a checkpoint is stale, as it should be.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from confluent_kafka import Consumer, TopicPartition
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from starlab.kafka_io import consumer, end_offsets
from starlab.observability.targets import MetricsEndpoint, serve_metrics
from starlab.settings import Settings

__all__ = ["LATENCY_BUCKETS_S", "Sample", "StreamTelemetry", "consumer_lag"]

LATENCY_BUCKETS_S = (0.5, 1, 2, 5, 10, 15, 20, 30, 60, 120, 300)
"""End-to-end latency is bounded below by the checkpoint interval (output is
visible at checkpoints, 5 s by default): the buckets resolve 1-30 s finely."""


def consumer_lag(settings: Settings, group: str, topic: str) -> dict[int, int]:
    """Per-partition lag of `group` on `topic`, from the broker's offsets."""
    ends = end_offsets(settings, topic)
    c = Consumer(
        {"bootstrap.servers": settings.kafka_bootstrap, "group.id": group, "enable.auto.commit": False}
    )
    try:
        committed = c.committed([TopicPartition(topic, p) for p in ends], timeout=10)
    finally:
        c.close()
    lag = {}
    for tp in committed:
        done = tp.offset if tp.offset >= 0 else 0
        lag[tp.partition] = max(0, ends[tp.partition] - done)
    return lag


def _ts_s(iso: str) -> float:
    dt = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()


@dataclass(frozen=True)
class Sample:
    at: float
    freshness_s: float | None
    consumer_lag: int


@dataclass
class StreamTelemetry:
    """Tails the committed metrics topic and samples lag once a second, in threads."""

    settings: Settings
    run_id: str
    group: str
    interval_s: float = 1.0
    latencies_ms: list[float] = field(default_factory=list)
    samples: list[Sample] = field(default_factory=list)
    newest_event_s: float | None = None
    input_started_s: float | None = None
    """Event time of the run's first input event (`input_started`): until the job has
    committed anything, the output is stale by the time since then."""
    first_output_at: float | None = None
    output_times: list[float] = field(default_factory=list)
    """Wall-clock arrival time of each committed output row (a fault's pause is read from it)."""

    def __post_init__(self) -> None:
        # A registry per run: two runs in one process (tests) never share a series.
        self.registry = CollectorRegistry()
        # The two time gauges are created at the first output row: a gauge
        # exports 0 until set, and "newest event at 1970" would read as 56
        # years of staleness before the job has committed anything.
        self._event_time: Gauge | None = None
        self._freshness_open = True
        self._rows = Counter(
            "starlab_stream_output_rows", "Committed output rows read.", registry=self.registry
        )
        self._latency = Histogram(
            "starlab_stream_end_to_end_latency_seconds",
            "Readable-at minus the produce time of the newest input event in the row.",
            buckets=LATENCY_BUCKETS_S,
            registry=self.registry,
        )
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self.endpoint: MetricsEndpoint | None = None

    def start(self) -> StreamTelemetry:
        self.endpoint = serve_metrics(
            self.settings, "starlab-stream", {"run": self.run_id, "group": self.group}, self.registry
        )
        for target in (self._tail, self._sample_loop):
            t = threading.Thread(target=target, daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def stop_exporting(self) -> None:
        """The input has ended: from here "now - newest event" grows by definition, which
        is the end of the run, not a stale pipeline. The event-time gauge leaves the
        scrape (Prometheus marks its series stale, so freshness alerts resolve instead of
        firing on the run's end); latency and row counts keep flowing until `stop`."""
        with self._lock:
            self._freshness_open = False
            if self._event_time is not None:
                self.registry.unregister(self._event_time)
                self._event_time = None

    def stop(self) -> None:
        self.stop_exporting()
        if self.endpoint is not None:
            self.endpoint.close()
            self.endpoint = None
        self._stop.set()
        for t in self._threads:
            t.join(timeout=10)

    def _tail(self) -> None:
        c = consumer(self.settings)
        c.subscribe([self.settings.metrics_topic])
        try:
            while not self._stop.is_set():
                for msg in c.consume(num_messages=2000, timeout=0.2):
                    value = msg.value()
                    if msg.error() or not value:
                        continue
                    self._observe(json.loads(value), time.time())
        finally:
            c.close()

    def _observe(self, row: dict[str, object], now: float) -> None:
        with self._lock:
            if self.first_output_at is None:
                self.first_output_at = now
                Gauge(
                    "starlab_stream_output_started_time_seconds",
                    "When committed output first appeared (unix seconds).",
                    registry=self.registry,
                ).set(now)
            self._rows.inc()
            self.output_times.append(now)
            if row.get("max_produce_ts"):
                latency_s = now - _ts_s(str(row["max_produce_ts"]))
                self.latencies_ms.append(latency_s * 1000)
                self._latency.observe(latency_s)
            if row.get("max_event_ts"):
                ev = _ts_s(str(row["max_event_ts"]))
                if self.newest_event_s is None or ev > self.newest_event_s:
                    self.newest_event_s = ev
                    if self._event_time is None and self._freshness_open:
                        self._event_time = Gauge(
                            "starlab_stream_output_event_time_seconds",
                            "Newest event time in the committed output (unix seconds).",
                            registry=self.registry,
                        )
                    if self._event_time is not None:
                        self._event_time.set(ev)

    def input_started(self, event_time_s: float) -> None:
        """The first input event's time: freshness is measured from here on.

        Without it, a job that committed nothing while the input flowed (a slow
        start on the cluster topology) had no freshness at all and read as
        "not measured" rather than as the staleness it was.
        """
        with self._lock:
            self.input_started_s = event_time_s

    def freshness_at(self, now: float) -> float | None:
        """Now minus the newest committed event time, or minus the input's start before any."""
        with self._lock:
            newest = self.newest_event_s if self.newest_event_s is not None else self.input_started_s
        return None if newest is None else max(0.0, now - newest)

    def sample(self) -> Sample:
        lag = consumer_lag(self.settings, self.group, self.settings.events_topic)
        now = time.time()
        fresh = self.freshness_at(now)
        s = Sample(now, fresh, sum(lag.values()))
        self.samples.append(s)
        return s

    def _sample_loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.sample()
            except Exception as exc:  # broker down during a fault test: keep sampling
                print(f"stream telemetry: sample failed: {exc}", flush=True)


@dataclass(frozen=True)
class PrometheusFigures:
    """The same run as Prometheus saw it: what an on-call dashboard would have shown.

    Beside the exact figures, not instead of them: `e2e_p95_s` is
    `histogram_quantile` over the run's buckets (linear between bucket edges),
    `freshness_p95_s` is over 1 s evaluations of the freshness rule.
    """

    e2e_p95_s: float | None
    freshness_p95_s: float | None
    window_s: int
    e2e_query: str
    freshness_query: str


def prometheus_figures(
    settings: Settings, run_id: str, start: float, fresh_end: float, end: float
) -> PrometheusFigures | None:
    """Query the live Prometheus for the run: latency over [start, end], freshness over
    [start, fresh_end] (while input flowed); None when Prometheus is not answering."""
    from starlab.errors import StarlabError
    from starlab.observability.query import PromClient

    window = max(int(end - start), 1)
    fresh_window = max(int(fresh_end - start), 1)
    e2e = (
        "histogram_quantile(0.95, sum by (le) "
        f'(increase(starlab_stream_end_to_end_latency_seconds_bucket{{run="{run_id}"}}[{window}s])))'
    )
    fresh = f'quantile_over_time(0.95, slo:stream_freshness_seconds{{run="{run_id}"}}[{fresh_window}s])'

    def one(client: PromClient, expr: str, at: float) -> float | None:
        rows = client.query(expr, at=at)
        value = rows[0].v if rows else None
        return None if value is None or value != value else value  # NaN: no data

    try:
        with PromClient(settings.prometheus_url) as client:
            return PrometheusFigures(one(client, e2e, end), one(client, fresh, fresh_end), window, e2e, fresh)
    except StarlabError as exc:
        print(f"stream telemetry: Prometheus figures unavailable: {exc}", flush=True)
        return None
