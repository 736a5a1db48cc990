"""Figures of the feature-cache benches, saved through the evidence store (`starlab.evidence.save_plot`).

Backs the 004 story's "showed side-by-side measurements" in the design
review: end-to-end latency histograms of A and B with the story's 290 /
205 ms and the 250 ms SLO marked, the fetch stage's distribution from the
app's HDR histograms, and timelines of latency and errors with the injected
faults, kill-switch trips and (for the regression) the phase boundaries and
the hit rate marked. Figures are built with `matplotlib.figure.Figure`
(no pyplot state, no display needed).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from feature_cache.bench.results import DesignRun, FaultKind, Timeline
from starlab.evidence import save_plot
from starlab.serving.histogram import LatencyRecorder

__all__ = ["per_second", "plot_histograms", "plot_timeline"]

STORY_E2E_MS = {"A": 290.0, "B": 205.0}
SLO_MS = 250.0
_COLORS = {"A": "#c0392b", "B": "#2471a3"}


def per_second(
    timeline: Timeline, width_s: float = 1.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Bucket start (s), p95 latency (ms), error count and request count per bucket."""
    t = (np.asarray(timeline.start_ns, dtype=np.int64) - timeline.started_ns) / 1e9
    lat = np.asarray(timeline.latency_ms)
    status = np.asarray(timeline.status)
    if t.size == 0:
        empty = np.zeros(0)
        return empty, empty, empty, empty
    edges = np.arange(0.0, float(t.max()) + width_s, width_s)
    idx = np.clip(np.digitize(t, edges) - 1, 0, len(edges) - 1)
    p95 = np.full(len(edges), np.nan)
    errs = np.zeros(len(edges))
    count = np.zeros(len(edges))
    for i in range(len(edges)):
        sel = idx == i
        if sel.any():
            p95[i] = np.percentile(lat[sel], 95)
            errs[i] = np.count_nonzero((status[sel] != 200) & (status[sel] != 429))
            count[i] = np.count_nonzero(sel)
    return edges, p95, errs, count


def plot_histograms(runs: Sequence[DesignRun], name: str, reports_dir: Path | None = None) -> Path:
    fig = Figure(figsize=(11, 4.2))
    ax1, ax2 = fig.subplots(1, 2)
    hi = max((max(r.timeline.latency_ms) for r in runs if r.timeline.latency_ms), default=500.0)
    bins = np.linspace(0, min(hi, 800.0), 80)
    for r in runs:
        d = r.result.design.value
        ax1.hist(
            np.clip(r.timeline.latency_ms, 0, bins[-1]),
            bins=bins,
            alpha=0.55,
            color=_COLORS[d],
            label=f"{d}: p95 {r.result.e2e.p95:.0f} ms (story ~{STORY_E2E_MS[d]:.0f})",
        )
        ax1.axvline(r.result.e2e.p95, color=_COLORS[d], ls="--", lw=1)
        hist = r.state.fetch_ms.histogram if r.state.fetch_ms else None
        if hist:
            rec = LatencyRecorder.decode(hist)
            qs = np.linspace(1, 99.9, 300)
            ax2.plot([rec.percentile_ms(q) for q in qs], qs, color=_COLORS[d], label=f"{d} fetch stage")
    ax1.axvline(SLO_MS, color="black", lw=1.2, label="SLO 250 ms")
    ax1.set_xlabel("end-to-end latency (ms, client side, open loop)")
    ax1.set_ylabel("requests")
    ax1.set_title("End to end: A vs B")
    ax1.legend(fontsize=8)
    ax2.axvline(50.0, color="black", lw=1, ls=":", label="story 4: serving p95 < 50 ms")
    ax2.set_xscale("log")
    ax2.set_xlabel("fetch stage (ms, server side, HDR)")
    ax2.set_ylabel("percentile")
    ax2.set_title("Fetch stage CDF")
    ax2.legend(fontsize=8)
    fig.tight_layout()
    return save_plot(fig, name, reports_dir)


def _mark_events(ax: object, timeline: Timeline) -> None:
    from matplotlib.axes import Axes

    assert isinstance(ax, Axes)
    for f in timeline.faults:
        start = (f.mono_ns - timeline.started_ns) / 1e9
        color = "#f5b041" if f.kind is FaultKind.SPIKE else "#7f8c8d"
        ax.axvspan(
            start, start + f.duration_s, color=color, alpha=0.25, label=f"{f.kind.value} {f.dependency.value}"
        )
    for ns in timeline.killswitch_ns:
        ax.axvline((ns - timeline.started_ns) / 1e9, color="purple", ls="--", lw=1.2, label="kill switch on")


def plot_timeline(runs: Sequence[DesignRun], name: str, reports_dir: Path | None = None) -> Path:
    fig = Figure(figsize=(11, 3.4 * len(runs)))
    axes = fig.subplots(len(runs), 1, squeeze=False)[:, 0]
    for ax, r in zip(axes, runs, strict=True):
        d = r.result.design.value
        tl = r.timeline
        t = (np.asarray(tl.start_ns) - tl.started_ns) / 1e9
        ax.scatter(t, tl.latency_ms, s=2, color=_COLORS[d], alpha=0.25)
        edges, p95, errs, _ = per_second(tl)
        ax.plot(edges, p95, color="black", lw=1.2, label="p95 per second")
        ax.axhline(SLO_MS, color="red", lw=0.8, ls=":", label="SLO 250 ms")
        _mark_events(ax, tl)
        ax.set_ylabel("latency (ms)")
        ax.set_title(
            f"Design {d}: availability {r.result.availability:.3%}, p95 {r.result.e2e.p95:.0f} ms"
            + (f", hit rate {r.result.hit_rate:.1%}" if r.result.hit_rate is not None else "")
        )
        twin = ax.twinx()
        twin.bar(edges, errs, width=0.9, align="edge", color="red", alpha=0.35)
        twin.set_ylabel("errors / s", color="red")
        handles, labels = ax.get_legend_handles_labels()
        uniq = dict(zip(labels, handles, strict=True))
        ax.legend(uniq.values(), uniq.keys(), fontsize=7, loc="upper left")
    axes[-1].set_xlabel("seconds since the load started")
    fig.tight_layout()
    return save_plot(fig, name, reports_dir)
