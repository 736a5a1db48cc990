"""Freshness as the run harness measures it: stale from the input's start until the first commit."""

from __future__ import annotations

from datetime import UTC, datetime

from starlab.settings import Settings
from streaming.telemetry import StreamTelemetry


def _row(event_s: float) -> dict[str, object]:
    iso = datetime.fromtimestamp(event_s, UTC).isoformat()
    return {"max_event_ts": iso, "max_produce_ts": iso}


def test_freshness_counts_from_the_first_input_event_until_the_job_commits() -> None:
    t = StreamTelemetry(Settings(), run_id="r", group="g")
    assert t.freshness_at(1_000.0) is None  # no input yet: nothing to be fresh about
    t.input_started(1_000.0)
    # nothing committed 30 s into the input: 30 s stale, not "not measured"
    assert t.freshness_at(1_030.0) == 30.0
    t._observe(_row(1_025.0), now=1_031.0)
    assert t.freshness_at(1_031.0) == 6.0  # from the newest committed event time
    t._observe(_row(1_010.0), now=1_032.0)  # an older minute updated: the newest stays
    assert t.freshness_at(1_032.0) == 7.0
