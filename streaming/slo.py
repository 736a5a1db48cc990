"""SLO monitor of story 3: freshness, consumer lag, end-to-end latency, alert rules.

"Established SLO-based alerting (freshness, consumer lag) and a runbook":

- freshness = now - newest event time in the committed output (metrics topic,
  read_committed), the story's "now() - max(ingest_timestamp)" taken at the
  consumer's end, where it matters;
- consumer lag = log end offset - the offset the Flink job committed, per
  partition, read from the broker (Flink commits offsets on checkpoints);
- end-to-end latency = when an output row became readable - the produce time
  of the newest input event it contains.

Rules in `slo_rules.yaml` fire after the condition holds for `for_s` and
clear when it no longer holds; every transition is logged with its runbook.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import yaml
from confluent_kafka import Consumer, TopicPartition

from starlab.kafka_io import consumer, end_offsets
from starlab.settings import ROOT, Settings
from streaming.errors import StreamConfigError

RULES_PATH = ROOT / "streaming" / "slo_rules.yaml"


@dataclass(frozen=True)
class Rule:
    name: str
    metric: str
    threshold: float
    for_s: float
    runbook: str
    summary: str = ""
    clear_for_s: float = 0.0
    """Hysteresis: resolve only after the condition has been clear this long,
    so a recovering job that commits its backlog in steps does not flap."""


def load_rules(path: Path = RULES_PATH, overrides: dict[str, dict[str, float]] | None = None) -> list[Rule]:
    """Rules from YAML; `overrides` maps rule name -> fields to replace (tests, demos)."""
    try:
        raw = yaml.safe_load(path.read_text())
        rules = [Rule(**r) for r in raw["rules"]]
    except (OSError, KeyError, TypeError, yaml.YAMLError) as exc:
        raise StreamConfigError(f"{path}: cannot read SLO rules: {exc}") from None
    if overrides:
        rules = [Rule(**{**r.__dict__, **overrides.get(r.name, {})}) for r in rules]
    return rules


@dataclass
class AlertState:
    rule: Rule
    since: float | None = None
    clear_since: float | None = None
    firing: bool = False


@dataclass(frozen=True)
class AlertEvent:
    at: float
    rule: str
    state: str  # "firing" or "resolved"
    value: float
    threshold: float
    runbook: str


class AlertEvaluator:
    """Pending -> firing after `for_s`; resolved once clear for `clear_for_s`."""

    def __init__(self, rules: list[Rule], on_event: Callable[[AlertEvent], None] | None = None):
        self.states = {r.name: AlertState(r) for r in rules}
        self.events: list[AlertEvent] = []
        self._on_event = on_event

    def observe(self, metrics: dict[str, float], now: float) -> list[AlertEvent]:
        out = []
        for st in self.states.values():
            value = metrics.get(st.rule.metric)
            if value is None:
                continue
            breached = value > st.rule.threshold
            if breached:
                st.clear_since = None
                if st.since is None:
                    st.since = now
            else:
                st.since = None
                if st.clear_since is None:
                    st.clear_since = now
            if st.firing:
                fire = not (st.clear_since is not None and now - st.clear_since >= st.rule.clear_for_s)
            else:
                fire = st.since is not None and now - st.since >= st.rule.for_s
            if fire != st.firing:
                st.firing = fire
                ev = AlertEvent(
                    now,
                    st.rule.name,
                    "firing" if fire else "resolved",
                    value,
                    st.rule.threshold,
                    st.rule.runbook,
                )
                out.append(ev)
        self.events.extend(out)
        for ev in out:
            if self._on_event:
                self._on_event(ev)
        return out

    @property
    def firing(self) -> list[str]:
        return [n for n, s in self.states.items() if s.firing]


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


def _ts_ms(iso: str) -> float:
    dt = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp() * 1000


@dataclass
class Sample:
    at: float
    freshness_s: float | None
    consumer_lag: int
    lag_by_partition: dict[int, int]


@dataclass
class SloMonitor:
    """Tails the committed metrics topic and samples lag once a second, in threads."""

    settings: Settings
    group: str = "starlab-flink"
    rules: list[Rule] = field(default_factory=load_rules)
    interval_s: float = 1.0
    log_path: Path | None = None
    latencies_ms: list[float] = field(default_factory=list)
    samples: list[Sample] = field(default_factory=list)
    newest_event_ms: float | None = None
    outputs_seen: int = 0
    alerting: bool = True
    """Turned off when a scripted run stops producing: from then on "now -
    newest event" grows by definition, which is the end of the run, not a
    stale pipeline."""
    warmup_s: float = 0.0
    """Rules are evaluated only once committed output has been flowing this long:
    a job's first checkpoints after a (re)start are slower than its steady
    state. The shipped rules' `for_s` (60 s) already rides over that; a run with
    rules compressed to seconds (tests) needs the warm-up instead."""
    first_output_at: float | None = None

    def __post_init__(self) -> None:
        self.evaluator = AlertEvaluator(self.rules, on_event=self._log_event)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def _log_event(self, ev: AlertEvent) -> None:
        line = json.dumps(ev.__dict__)
        print(
            f"ALERT {ev.state.upper()} {ev.rule} value={ev.value:.1f} "
            f"threshold={ev.threshold} runbook={ev.runbook}",
            flush=True,
        )
        if self.log_path:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            with self.log_path.open("a") as fh:
                fh.write(line + "\n")

    def start(self) -> SloMonitor:
        for target in (self._tail, self._sample_loop):
            t = threading.Thread(target=target, daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def stop(self) -> None:
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
                    now_ms = time.time() * 1000
                    row = json.loads(value)
                    with self._lock:
                        self.outputs_seen += 1
                        if self.first_output_at is None:
                            self.first_output_at = time.time()
                        if row.get("max_produce_ts"):
                            self.latencies_ms.append(now_ms - _ts_ms(row["max_produce_ts"]))
                        if row.get("max_event_ts"):
                            ev_ms = _ts_ms(row["max_event_ts"])
                            if self.newest_event_ms is None or ev_ms > self.newest_event_ms:
                                self.newest_event_ms = ev_ms
        finally:
            c.close()

    def sample(self) -> Sample:
        lag = consumer_lag(self.settings, self.group, self.settings.events_topic)
        now = time.time()
        with self._lock:
            fresh = None if self.newest_event_ms is None else now - self.newest_event_ms / 1000
        s = Sample(now, fresh, sum(lag.values()), lag)
        metrics = {"consumer_lag": float(s.consumer_lag)}
        if fresh is not None:
            metrics["freshness_s"] = fresh
        warm = self.first_output_at is not None and now - self.first_output_at >= self.warmup_s
        if self.alerting and warm:
            self.evaluator.observe(metrics, now)
        self.samples.append(s)
        return s

    def _sample_loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.sample()
            except Exception as exc:  # broker down during a fault test: keep sampling
                print(f"slo monitor: sample failed: {exc}", flush=True)
