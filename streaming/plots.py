"""Story 3's plots in the evidence report: the fault run as Prometheus saw it, and drift before/after.

Backs three of the report's pictures: freshness and consumer lag over the
run with the SLO thresholds, the alert's firing period and the fault marked
(the freshness/lag SLO alerting claim); rows out of Flink over the same run
with the kill marked and verify's verdict in the title (the exactly-once
claim: the output pauses, resumes, and nothing is lost or doubled); and the
batch-vs-stream drift per minute before and after the backfill (the
reconciliation claim).

The first two are panels of the run's dashboard (streaming/dashboard.py),
redrawn with a title from the JSON `render_run` saved, so the report and the
dashboard page show the same data.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from starlab.evidence import save_plot, save_png
from starlab.observability.dashboard import load_json, panel_png
from streaming.evidence import STORY

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from streaming.reconcile import Reconciliation
    from streaming.verify import VerifyReport

__all__ = ["drift_figure", "save_drift_plot", "save_fault_run_plots"]

# Panels of streaming/dashboard.py's DASHBOARD, by title prefix (robust to reordering).
_FRESHNESS, _LAG, _THROUGHPUT = "Freshness", "Consumer lag", "Throughput"


def _panel_index(titles: list[str], prefix: str) -> int:
    for i, t in enumerate(titles):
        if t.startswith(prefix):
            return i
    raise LookupError(f"the stream dashboard has no panel starting {prefix!r}: {titles}")


def save_fault_run_plots(
    dashboard_json: Path, fault: str, report: VerifyReport, reports_dir: Path
) -> list[Path]:
    """Freshness, lag and output of the run with the fault, as PNGs named `3-streaming-fault-run-*`."""
    data = load_json(dashboard_json)
    titles = [p.title for p in data.dashboard.panels]
    verdict = (
        f"verify: {report.lost} lost, {report.duplicated} duplicated, "
        f"late {report.late_captured}/{report.expected_late} captured"
    )
    wanted = [
        ("freshness", _FRESHNESS, f"Freshness during the run with {fault}, SLO threshold and alert"),
        ("lag", _LAG, f"Consumer lag during the run with {fault}"),
        ("output", _THROUGHPUT, f"Exactly-once under {fault}: rows in and out over time ({verdict})"),
    ]
    return [
        save_png(
            panel_png(data, _panel_index(titles, prefix), title),
            f"{STORY}-fault-run-{name}",
            reports_dir,
        )
        for name, prefix, title in wanted
    ]


def drift_figure(before: Reconciliation, after: Reconciliation) -> Figure:
    """Events by which batch and stream disagree, per minute, before and after the backfill."""
    from matplotlib.figure import Figure

    def per_minute(r: Reconciliation) -> Counter[int]:
        c: Counter[int] = Counter()
        for d in r.drifting:
            c[d.window_start_ms] += abs(d.events_diff)
        return c

    b, a = per_minute(before), per_minute(after)
    minutes = sorted(set(b) | set(a))
    fig = Figure(figsize=(10.0, 3.2), dpi=100)
    ax = fig.add_subplot()
    if minutes:
        xs = range(len(minutes))
        ax.bar([x - 0.2 for x in xs], [b[m] for m in minutes], width=0.4, color="#d1242f", label="before")
        ax.bar([x + 0.2 for x in xs], [a[m] for m in minutes], width=0.4, color="#1a7f37", label="after")
        labels = [datetime.fromtimestamp(m / 1000, UTC).strftime("%H:%M") for m in minutes]
        step = max(1, len(labels) // 20)
        ax.set_xticks(list(xs)[::step], labels[::step], fontsize=8)
        ax.legend(fontsize=8, frameon=False)
    else:
        ax.text(0.5, 0.5, "no window drifted", transform=ax.transAxes, ha="center", va="center")
    ax.set_ylabel("events of difference", fontsize=8)
    ax.set_xlabel("minute window (UTC), all items", fontsize=8)
    ax.set_title(
        f"Batch vs stream drift per minute: {before.drift_windows} (item, minute) windows before the "
        f"backfill, {after.drift_windows} after",
        fontsize=9.5,
        loc="left",
    )
    ax.grid(axis="y", alpha=0.25)
    return fig


def save_drift_plot(before: Reconciliation, after: Reconciliation, reports_dir: Path) -> Path:
    """`drift_figure` as `3-streaming-drift.png` in the report's plots."""
    return save_plot(drift_figure(before, after), f"{STORY}-drift", reports_dir)
