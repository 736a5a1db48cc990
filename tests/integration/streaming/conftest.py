"""A small scripted stream, run through the real Flink job (bounded), for exact checks."""

from __future__ import annotations

import pytest

from starlab.events.files import write_dimensions
from starlab.events.generator import Item, User
from starlab.events.model import Event
from starlab.events.producer import EdgeProducer
from starlab.kafka_io import ensure_topics
from starlab.settings import Settings
from streaming.job import FlinkJob, JobOptions
from streaming.topics import stream_topics

T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z
MIN = 60_000


def ev(
    eid: str, item: str, minute: float, etype: str = "impression", ingest_min: float | None = None
) -> Event:
    ts = T0 + int(minute * MIN)
    ingest = T0 + int((ingest_min if ingest_min is not None else minute) * MIN) + 500
    return Event(eid, "u1", item, etype, ts, ingest, "web", "s1", 100 if etype == "impression" else None)


SCRIPT = [
    ev("e1", "A", 0.1, "click"),
    ev("e1", "A", 0.1, "click", ingest_min=0.3),  # client retry: same id, later ingest
    ev("e2", "A", 0.5),
    ev("e3", "B", 1.2),
    ev("e4", "C", 20.0),  # watermark -> 10:00
    ev("e6", "D", 12.0, "like", ingest_min=20.1),  # 8 min behind the newest: on time
    ev("e5", "A", 2.0, "click", ingest_min=20.2),  # 18 min behind: late
    ev("e5", "A", 2.0, "click", ingest_min=20.3),  # a late event's retry: still one late row
    ev("e7", "A", 0.7, "share", ingest_min=20.4),  # behind the watermark too
]


def run_scripted(s: Settings) -> Settings:
    """Produce SCRIPT to `s`'s topics and run the job over it, bounded, to its end."""
    ensure_topics(s, stream_topics(s))  # the job's late and metrics sinks write to them
    with EdgeProducer(s) as producer:
        for e in SCRIPT:
            producer.send(e.to_json_bytes())
    assert producer.stats.delivery_failures == 0
    items = [Item(i, "news", T0 - 86_400_000, 1.0) for i in "ABCD"]
    write_dimensions(items, [User("u1", "US", T0 - 86_400_000, "web")], s.lake_dir)
    job = FlinkJob(
        s,
        JobOptions(bounded=True, parallelism=1, checkpoint_interval_ms=1000, group_id=f"g-{s.events_topic}"),
        name=f"flink-{s.events_topic}",
    )
    job.start()
    job.wait_finished(timeout_s=240)
    return s


@pytest.fixture
def scripted(isolated: Settings, tmp_path) -> Settings:
    s = isolated.model_copy(
        update={"kafka_partitions": 1, "data_dir": tmp_path / "data", "duckdb_path": tmp_path / "w.duckdb"}
    )
    return run_scripted(s)
