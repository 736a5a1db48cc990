"""Dedup, watermark and late capture on small scripted streams with exact outputs.

One partition and parallelism 1, so the order the job reads is the order
written here and every expectation below is exact.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

from starlab.events.files import write_dimensions
from starlab.events.generator import Item, User
from starlab.events.producer import EdgeProducer
from starlab.kafka_io import ensure_topics, read_all
from starlab.lake.events import events_sql
from starlab.settings import Settings
from streaming.job import FlinkJob, JobOptions
from streaming.topics import stream_topics
from streaming.verify import lake_ids, read_metrics

from .conftest import MIN, T0, ev

pytestmark = pytest.mark.integration


def test_dedup_watermark_and_late_capture(scripted: Settings) -> None:
    s = scripted
    rows, counts, lake = lake_ids(s)
    assert rows == 7
    assert counts == {e: 1 for e in ("e1", "e2", "e3", "e4", "e5", "e6", "e7")}
    # the lake is the Iceberg table: committed at checkpoints, partitioned by event date,
    # late events kept in it with is_late (they are only left out of the stream's metrics)
    assert lake.snapshot_id is not None and lake.snapshots >= 1
    assert {f.partition for f in lake.files} == {"2026-01-01"}
    sql, _ = events_sql(s)
    flagged = duckdb.sql(f"select event_id, is_late, event_date from ({sql}) order by event_id").fetchall()
    assert [(e, late) for e, late, _ in flagged] == [
        ("e1", False), ("e2", False), ("e3", False), ("e4", False),
        ("e5", True), ("e6", False), ("e7", True),
    ]  # fmt: skip

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


def test_a_late_event_read_first_after_a_restore_is_still_late(isolated: Settings, tmp_path: Path) -> None:
    """Flink does not checkpoint watermarks: the lateness rule must not depend on one.

    A late event that is the first record the restored job reads used to meet
    no watermark (CURRENT_WATERMARK NULL) and count in its closed minute.
    """
    s = isolated.model_copy(
        update={"kafka_partitions": 1, "data_dir": tmp_path / "data", "duckdb_path": tmp_path / "w.duckdb"}
    )
    ensure_topics(s, stream_topics(s))
    write_dimensions(
        [Item(i, "news", T0 - 86_400_000, 1.0) for i in "AC"],
        [User("u1", "US", T0 - 86_400_000, "web")],
        s.lake_dir,
    )
    job = FlinkJob(
        s,
        JobOptions(parallelism=1, checkpoint_interval_ms=1000, group_id=f"g-{s.events_topic}"),
        name=f"flink-{s.events_topic}",
    )
    try:
        job.start()
        job.wait_ready()
        with EdgeProducer(s) as producer:
            producer.send(ev("e1", "A", 0.1).to_json_bytes())
            producer.send(ev("e4", "C", 20.0).to_json_bytes())  # the partition's mark -> 10:00
        # Committed output means a completed checkpoint holds the offsets past e4.
        _wait_for(lambda: {("A", T0), ("C", T0 + 20 * MIN)} <= read_metrics(s).keys(), "the first minutes")
        job.kill()
        with EdgeProducer(s) as producer:
            producer.send(ev("e5", "A", 2.0, "click", ingest_min=20.2).to_json_bytes())  # 18 min behind
        job.restart()
        # e5 leaves the restored job either as a late record or counted in its minute.
        _wait_for(
            lambda: (
                bool(list(read_all(s, s.late_topic, idle_timeout_s=1)))
                or ("A", T0 + 2 * MIN) in read_metrics(s)
            ),
            "output for e5",
        )
        time.sleep(2)  # the next checkpoint, in case both outputs would come
        late = [json.loads(m.value()) for m in read_all(s, s.late_topic)]
        metrics = read_metrics(s)
    finally:
        job.stop()
    assert ("A", T0 + 2 * MIN) not in metrics, "e5 was counted in its closed minute"
    assert [x["event_id"] for x in late] == ["e5"]
    assert late[0]["behind_ms"] == 8 * MIN


def _wait_for(check: Callable[[], bool], what: str, timeout_s: float = 90) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, f"no {what} within {timeout_s:.0f} s"
        time.sleep(1)
