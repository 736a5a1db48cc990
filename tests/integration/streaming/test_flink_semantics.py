"""Dedup, watermark and late capture on a small scripted stream with exact outputs.

One partition and parallelism 1, so the order the job reads is the order
written here and every expectation below is exact.
"""

from __future__ import annotations

import json

import pytest

from starlab.events.model import Event
from starlab.kafka_io import read_all
from starlab.settings import Settings
from streaming.job import FlinkJob, JobOptions
from streaming.producer import EdgeProducer
from streaming.verify import lake_ids, read_metrics

pytestmark = pytest.mark.integration

T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z
MIN = 60_000


def ev(eid: str, item: str, minute: float, etype: str = "impression", ingest_min: float | None = None) -> Event:
    ts = T0 + int(minute * MIN)
    ingest = T0 + int((ingest_min if ingest_min is not None else minute) * MIN) + 500
    return Event(eid, "u1", item, etype, ts, ingest, "web", "s1", 100 if etype == "impression" else None)


SCRIPT = [
    ev("e1", "A", 0.1, "click"),
    ev("e1", "A", 0.1, "click", ingest_min=0.3),  # client retry: same id, later ingest
    ev("e2", "A", 0.5),
    ev("e3", "B", 1.2),
    ev("e4", "C", 20.0),                          # watermark -> 10:00
    ev("e6", "D", 12.0, "like", ingest_min=20.1),  # 8 min behind the newest: on time
    ev("e5", "A", 2.0, "click", ingest_min=20.2),  # 18 min behind: late
    ev("e5", "A", 2.0, "click", ingest_min=20.3),  # a late event's retry: still one late row
    ev("e7", "A", 0.7, "share", ingest_min=20.4),  # behind the watermark too
]


@pytest.fixture
def scripted(isolated: Settings, tmp_path) -> Settings:
    s = isolated.model_copy(update={"kafka_partitions": 1, "data_dir": tmp_path / "data"})
    with EdgeProducer(s) as producer:
        for e in SCRIPT:
            producer.send(e.to_json_bytes())
    assert producer.stats.delivery_failures == 0
    job = FlinkJob(s, JobOptions(bounded=True, parallelism=1, checkpoint_interval_ms=1000,
                                 group_id=f"g-{s.events_topic}"), name=f"flink-{s.events_topic}")
    job.start()
    job.wait_finished(timeout_s=240)
    return s


def test_dedup_watermark_and_late_capture(scripted: Settings) -> None:
    s = scripted
    rows, counts = lake_ids(s.lake_dir / "events")
    assert rows == 7
    assert counts == {e: 1 for e in ("e1", "e2", "e3", "e4", "e5", "e6", "e7")}

    late = [json.loads(m.value()) for m in read_all(s, s.late_topic)]
    assert sorted(x["event_id"] for x in late) == ["e5", "e7"]
    e5 = next(x for x in late if x["event_id"] == "e5")
    assert e5["watermark_ts"].startswith("2026-01-01T00:10:00")
    assert e5["behind_ms"] == 8 * MIN

    metrics = read_metrics(s)
    base = {"impressions": 0, "clicks": 0, "likes": 0, "shares": 0, "users": 1}
    assert metrics == {
        ("A", T0): {**base, "events": 2, "impressions": 1, "clicks": 1},
        ("B", T0 + MIN): {**base, "events": 1, "impressions": 1},
        ("C", T0 + 20 * MIN): {**base, "events": 1, "impressions": 1},
        ("D", T0 + 12 * MIN): {**base, "events": 1, "likes": 1},
    }
