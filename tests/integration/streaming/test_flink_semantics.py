"""Dedup, watermark and late capture on a small scripted stream with exact outputs.

One partition and parallelism 1, so the order the job reads is the order
written here and every expectation below is exact.
"""

from __future__ import annotations

import json

import duckdb
import pytest

from starlab.kafka_io import read_all
from starlab.lake.events import events_sql
from starlab.settings import Settings
from streaming.verify import lake_ids, read_metrics

from .conftest import MIN, T0

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
