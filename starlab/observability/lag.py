"""Consumer lag per group, topic and partition, for Prometheus.

Backs story 3's "SLO-based alerting on freshness and consumer lag". Kafka 4's
broker exposes no per-group offsets over JMX, and neither kminion nor
kafka_exporter can be installed here (research notes of issue 11), so this
is the one exporter starlab writes: about 100 lines over confluent-kafka's
AdminClient.

Every `interval_s` a thread lists the consumer groups, their committed
offsets (one request per group, all in flight together) and the log-start
and log-end offsets of every partition of the topics they commit to; a
scrape serves the latest snapshot, so a slow broker never makes a scrape
time out. A partition a group has not committed yet counts as lagging by
everything retained in it (end - log start), never 0: a job that never
checkpointed is the worst case, not the best.
"""

from __future__ import annotations

import argparse
import re
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

__all__ = ["GroupLag", "LagCollector", "main", "snapshot"]


@dataclass(frozen=True)
class GroupLag:
    group: str
    topic: str
    partition: int
    committed: int
    """-1 when the group has no committed offset for this partition."""
    log_start: int
    log_end: int

    @property
    def lag(self) -> int:
        done = self.committed if self.committed >= 0 else self.log_start
        return max(0, self.log_end - done)


def snapshot(bootstrap: str, group_pattern: str = ".*", timeout_s: float = 5.0) -> list[GroupLag]:
    """One pass over the cluster: every matching group's lag on every partition it consumes."""
    from confluent_kafka import ConsumerGroupTopicPartitions, TopicPartition
    from confluent_kafka.admin import AdminClient, OffsetSpec

    admin = AdminClient({"bootstrap.servers": bootstrap})
    wanted = re.compile(group_pattern)
    listing = admin.list_consumer_groups(request_timeout=timeout_s).result()
    groups = [g.group_id for g in listing.valid if wanted.fullmatch(g.group_id)]
    futures = {
        g: admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(g)], request_timeout=timeout_s)[g]
        for g in groups
    }
    committed: dict[str, dict[tuple[str, int], int]] = {}
    for g, fut in futures.items():
        try:
            res = fut.result()
        except Exception:  # the group went away between listing and asking
            continue
        committed[g] = {(tp.topic, tp.partition): tp.offset for tp in res.topic_partitions or []}
    topics = {t for offs in committed.values() for (t, _p) in offs}
    if not topics:
        return []
    md = admin.list_topics(timeout=timeout_s)
    parts = [TopicPartition(t, p) for t in topics if t in md.topics for p in md.topics[t].partitions]
    if not parts:
        return []
    ends = admin.list_offsets({tp: OffsetSpec.latest() for tp in parts}, request_timeout=timeout_s)
    starts = admin.list_offsets({tp: OffsetSpec.earliest() for tp in parts}, request_timeout=timeout_s)
    end_at = {(tp.topic, tp.partition): f.result().offset for tp, f in ends.items()}
    start_at = {(tp.topic, tp.partition): f.result().offset for tp, f in starts.items()}
    out = []
    for g, offs in committed.items():
        for topic in {t for (t, _p) in offs}:
            for key in sorted(k for k in end_at if k[0] == topic):
                out.append(GroupLag(g, topic, key[1], offs.get(key, -1), start_at[key], end_at[key]))
    return out


@dataclass(eq=False)  # registered in a set by prometheus_client: hash by identity
class LagCollector(Collector):
    """Refreshes a snapshot in a thread; `collect` serves the newest one."""

    bootstrap: str
    group_pattern: str = ".*"
    interval_s: float = 1.0
    _rows: list[GroupLag] = field(default_factory=list)
    _took_s: float = 0.0
    _errors: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)

    def refresh(self) -> None:
        t0 = time.perf_counter()
        try:
            self._rows = snapshot(self.bootstrap, self.group_pattern)
        except Exception as exc:  # broker down in a fault test: keep the last rows, count it
            self._errors += 1
            print(f"lag exporter: refresh failed: {exc}", flush=True)
        self._took_s = time.perf_counter() - t0

    def start(self) -> LagCollector:
        def loop() -> None:
            while not self._stop.is_set():
                self.refresh()
                self._stop.wait(self.interval_s)

        threading.Thread(target=loop, daemon=True, name="lag-refresh").start()
        return self

    def collect(self) -> Iterable[GaugeMetricFamily]:
        lbl = ["group", "topic", "partition"]
        lag = GaugeMetricFamily("starlab_kafka_consumergroup_lag", "Records behind the log end.", labels=lbl)
        com = GaugeMetricFamily(
            "starlab_kafka_consumergroup_committed_offset", "Committed offset; -1 if none yet.", labels=lbl
        )
        end = GaugeMetricFamily(
            "starlab_kafka_topic_end_offset",
            "Log-end offset of the partition.",
            labels=["topic", "partition"],
        )
        ends_done: set[tuple[str, int]] = set()
        for r in self._rows:
            labels = [r.group, r.topic, str(r.partition)]
            lag.add_metric(labels, r.lag)
            com.add_metric(labels, r.committed)
            if (r.topic, r.partition) not in ends_done:
                ends_done.add((r.topic, r.partition))
                end.add_metric([r.topic, str(r.partition)], r.log_end)
        took = GaugeMetricFamily(
            "starlab_kafka_lag_exporter_refresh_seconds", "Duration of the last refresh."
        )
        took.add_metric([], self._took_s)
        errs = GaugeMetricFamily("starlab_kafka_lag_exporter_errors", "Refreshes that failed since start.")
        errs.add_metric([], self._errors)
        yield from (lag, com, end, took, errs)


def main(argv: list[str] | None = None) -> None:
    from prometheus_client import REGISTRY, start_http_server

    p = argparse.ArgumentParser(
        prog="python -m starlab.observability.lag",
        description="Prometheus exporter of Kafka consumer lag per group, topic and partition.",
        epilog="example: python -m starlab.observability.lag --bootstrap 127.0.0.1:9092 --port 9309",
    )
    p.add_argument("--bootstrap", default="127.0.0.1:9092")
    p.add_argument("--port", type=int, default=9309)
    p.add_argument("--groups", default=".*", help="regular expression of the groups to export")
    p.add_argument("--interval", type=float, default=1.0, help="seconds between refreshes")
    a = p.parse_args(argv)
    REGISTRY.register(LagCollector(a.bootstrap, a.groups, a.interval).start())
    _server, thread = start_http_server(a.port, addr="127.0.0.1")
    print(f"lag exporter on 127.0.0.1:{a.port}, groups {a.groups!r}", flush=True)
    thread.join()


if __name__ == "__main__":
    main()
