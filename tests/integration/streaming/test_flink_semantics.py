"""Dedup, watermark and late capture on a small scripted stream with exact outputs.

One partition and parallelism 1, so the order the job reads is the order
written here and every expectation below is exact.
"""

from __future__ import annotations

import json

import pytest

from starlab.kafka_io import read_all
from starlab.settings import Settings
from streaming.verify import lake_ids, read_metrics

from .conftest import MIN, T0

pytestmark = pytest.mark.integration


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
