"""Batch (dbt over the lake) vs stream drift is found per window and repaired idempotently."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from starlab.events.model import Event
from starlab.lake.events import events_state, write_lake_events
from starlab.settings import Settings
from streaming.reconcile import backfill, reconcile
from streaming.verify import read_metrics

from .conftest import MIN, T0

pytestmark = pytest.mark.integration


def test_late_events_drift_then_backfill_repairs(scripted: Settings) -> None:
    before = reconcile(scripted)
    # The stream left the late events e5 (A, 00:02) and e7 (A, 00:00) out of
    # closed minutes; the batch counts them. Exactly those windows drift.
    drift = {(d.item_id, d.window_start_ms): d.events_diff for d in before.drifting}
    assert drift == {("A", T0): 1, ("A", T0 + 2 * MIN): 1}
    assert before.batch_late_events == 2

    lo = datetime.fromtimestamp(T0 / 1000, UTC)
    hi = datetime.fromtimestamp((T0 + 30 * MIN) / 1000, UTC)
    first = backfill(scripted, lo, hi, run_dbt=False)
    assert first.windows == 5  # every batch window in the range: A@0, B@1, A@2, D@12, C@20
    after = reconcile(scripted, run_dbt=False)
    assert after.drift_windows == 0
    state = read_metrics(scripted)

    backfill(scripted, lo, hi, run_dbt=False)  # idempotent: same final state
    assert read_metrics(scripted) == state
    assert reconcile(scripted, run_dbt=False).drift_windows == 0
    assert state[("A", T0)]["events"] == 3  # e1, e2 and the late e7

    # The repair names the lake snapshot it was computed from.
    assert before.lake_snapshot_id is not None
    assert first.lake_snapshot_id == before.lake_snapshot_id


def test_reconciliation_reads_the_lake_as_of_a_snapshot(scripted: Settings) -> None:
    pinned = reconcile(scripted)
    assert pinned.lake_snapshot_id == events_state(scripted).snapshot_id
    # A later commit to the lake (a batch writer's correction for A at 00:00) ...
    extra = Event("x1", "u1", "A", "click", T0 + 30_000, T0 + 40 * MIN, "web", "s1", None)
    write_lake_events([extra], scripted)
    latest = reconcile(scripted)
    assert latest.lake_snapshot_id != pinned.lake_snapshot_id
    drift = {(d.item_id, d.window_start_ms): d.events_diff for d in latest.drifting}
    assert drift[("A", T0)] == 2  # e7 and the correction
    # ... is not in the table as of the first snapshot: the same comparison again.
    again = reconcile(scripted, snapshot_id=pinned.lake_snapshot_id)
    assert again.lake_snapshot_id == pinned.lake_snapshot_id
    assert {(d.item_id, d.window_start_ms): d.events_diff for d in again.drifting} == {
        (d.item_id, d.window_start_ms): d.events_diff for d in pinned.drifting
    }
