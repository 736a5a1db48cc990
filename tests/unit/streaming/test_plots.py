"""Story 3's report plots: the fault run's panels from a saved dashboard JSON, and drift before/after."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from starlab.observability.dashboard import DashboardData, QueryResult, to_json
from starlab.observability.query import Series
from streaming.dashboard import for_run
from streaming.plots import _panel_index, drift_figure, save_drift_plot, save_fault_run_plots
from streaming.reconcile import Reconciliation, WindowDrift
from streaming.verify import VerifyReport

T0 = 1_764_000_000.0


def _dashboard_json(tmp_path: Path) -> Path:
    dash = for_run("r1", "starlab-flink-r1", 30).with_markers([(T0 + 30, "kill-job")])
    results = [
        [
            QueryResult(legend, expr, [Series({}, [(T0 + i, float(i)) for i in range(60)])])
            for legend, expr in p.exprs
        ]
        for p in dash.panels
    ]
    data = DashboardData(dash, "http://127.0.0.1:9190", T0, T0 + 60, 1.0, "15s", "now", results, {})
    path = tmp_path / "3-streaming.json"
    path.write_text(json.dumps(to_json(data)))
    return path


def _report(lost: int = 0) -> VerifyReport:
    return VerifyReport(
        expected_unique=100,
        lake_rows=100 - lost,
        lake_distinct=100 - lost,
        lost=lost,
        unexpected=0,
        expected_late=3,
        late_captured=3,
        late_distinct=3,
        late_missing=0,
        late_unexpected=0,
        metric_keys_expected=1,
        metric_keys_found=1,
        metric_mismatches=0,
        lake_snapshot_id=1,
        lake_snapshots=1,
        lake_files=1,
        examples={},
    )


def test_the_fault_run_gives_three_titled_pngs_under_story_3(tmp_path: Path) -> None:
    paths = save_fault_run_plots(_dashboard_json(tmp_path), "kill-job@0.3", _report(), tmp_path / "rep")
    assert [p.name for p in paths] == [
        "3-streaming-fault-run-freshness.png",
        "3-streaming-fault-run-lag.png",
        "3-streaming-fault-run-output.png",
    ]
    for p in paths:
        assert p.read_bytes().startswith(b"\x89PNG")


def test_a_dashboard_without_the_panel_is_an_error() -> None:
    with pytest.raises(LookupError, match="Throughput"):
        _panel_index(["Freshness: age", "Consumer lag"], "Throughput")


def _drift(minutes: int, diff: int) -> list[WindowDrift]:
    start = 1_764_000_000_000
    return [
        WindowDrift(f"i{m}", start + 60_000 * m, {"events": 5}, {"events": 5 + diff}) for m in range(minutes)
    ]


def test_drift_bars_count_events_per_minute_before_and_after() -> None:
    fig = drift_figure(Reconciliation(10, _drift(4, 2)), Reconciliation(10))
    ax = fig.axes[0]
    heights = [round(b.get_height()) for b in ax.patches]
    assert heights == [2, 2, 2, 2, 0, 0, 0, 0]  # four minutes drift by 2 events before, none after
    assert "4 (item, minute) windows before the backfill, 0 after" in ax.get_title(loc="left")


def test_no_drift_says_so_and_still_saves(tmp_path: Path) -> None:
    path = save_drift_plot(Reconciliation(10), Reconciliation(10), tmp_path)
    assert path.name == "3-streaming-drift.png"
    assert "no window drifted" in [
        t.get_text() for t in drift_figure(Reconciliation(1), Reconciliation(1)).axes[0].texts
    ]
