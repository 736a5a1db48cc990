"""The replay's bar chart: breakages, failed runs and pages per arm, for the evidence report.

Backs story 1's "schema-related breakages fell from 4/quarter to 0" and "on-call
pages fell 60%" with one picture of what the replay measured, saved through
`starlab.evidence.save_plot` so the HTML report shows it under story 1.
"""

from __future__ import annotations

from pathlib import Path

from contracts.replay.model import ReplayResult

PLOT_NAME = "1-contracts-replay-breakages"
COLORS = {"without_gate": "#c0504d", "with_gate": "#4f81bd"}


def plot_breakages(result: ReplayResult, reports_dir: Path | None = None) -> Path:
    """Grouped bars (breakages, failed DAG runs, pages, retries) per arm; returns the PNG's path."""
    from matplotlib.figure import Figure  # heavy: only when a plot is asked for

    from starlab.evidence import save_plot

    metrics = ("breakages", "failed DAG runs", "pages", "retries")
    fig = Figure(figsize=(7.5, 3.6))
    ax = fig.add_subplot()
    width = 0.8 / max(1, len(result.arms))
    for i, arm in enumerate(result.arms):
        values = (len(arm.breakages), arm.failed_runs, arm.pages, arm.retries)
        xs = [m + i * width for m in range(len(metrics))]
        bars = ax.bar(xs, values, width, label=arm.arm.label, color=COLORS.get(arm.arm.value))
        ax.bar_label(bars, padding=2, fontsize=8)
    ax.set_xticks([m + width * (len(result.arms) - 1) / 2 for m in range(len(metrics))], metrics)
    ax.set_ylabel("count in the replayed quarter")
    ax.set_title(f"Story 1: {result.changes} upstream changes replayed, without and with the contract gate")
    ax.legend(frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    return save_plot(fig, PLOT_NAME, reports_dir)


__all__ = ["PLOT_NAME", "plot_breakages"]
