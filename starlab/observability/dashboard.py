"""Static "show the metric" dashboards: Prometheus range queries drawn into one self-contained HTML page.

Backs issue 11's dashboards (docs/research/issue-11-observability.md, section 4).
Grafana cannot be installed here, so each story declares its panels as data
(`<story>/dashboard.py`), and `render` draws them after a run into
`reports/latest/dashboards/<slug>.html`, next to the evidence, where they
survive `starlab down`. Each panel shows:

- one PNG (matplotlib, Agg, embedded as base64: no network, no JavaScript);
- its thresholds as dashed lines, and the firing periods of its alerts shaded,
  read from `ALERTS{alertname="...", alertstate="firing"}` over the same range;
- the run's fault markers ("stall start", "stall end") as vertical lines;
- under the picture, each PromQL query in a <pre> block with a link to
  Prometheus' classic graph page for it, so "show me the metric" is one click.

`<slug>.json` keeps the queries and every fetched series, so
`render_from_json` redraws the page offline and a unit test can run without
Prometheus. The kernel knows no story; the stories import `Panel` and
`Dashboard` from here.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import re
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlab.atomic import write_json_atomic, write_text_atomic
from starlab.errors import ConfigError
from starlab.evidence.store import latest_dir
from starlab.observability.query import (
    PromClient,
    PrometheusError,
    PrometheusUnavailable,
    Series,
    Timestamp,
    graph_url,
    unix_seconds,
)

if TYPE_CHECKING:
    from starlab.settings import Settings

__all__ = [
    "DEFAULT_WINDOW",
    "JSON_FORMAT",
    "NO_DATA",
    "OFF_SCALE",
    "WINDOW_FIELD",
    "AlertResult",
    "Dashboard",
    "DashboardData",
    "Panel",
    "QueryResult",
    "alerts_expr",
    "apply_window",
    "dashboards_dir",
    "fetch",
    "firing_intervals",
    "load_json",
    "off_scale",
    "panel_png",
    "render",
    "render_from_json",
    "render_html",
    "render_run",
    "to_json",
]

DEFAULT_WINDOW = "1m"
"""Rate window of the story dashboards; a demo of a few minutes at 1 s scrapes passes "15s"."""
WINDOW_FIELD = "{window}"
"""Placeholder in a panel's PromQL replaced by the rate window (only this token: label matchers keep
their braces, which `str.format` would have needed doubled)."""
NO_DATA = "no data for this range"
JSON_FORMAT = 1
MAX_POINTS = 11_000
"""Prometheus refuses a range query of more points per series than this ("exceeded maximum resolution")."""

_DURATION = re.compile(r"(?:\d+(?:ms|s|m|h|d|w|y))+")
_ALERT_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_SLUG = re.compile(r"[a-z0-9][a-z0-9-]*")
# Consecutive range-query points are `step` apart; Prometheus rounds times to the millisecond,
# so "next point" means "within 1.5 steps" and one missing point already splits an interval.
_GAP_STEPS = 1.5
_LEGEND_CHARS = 38  # wrap width of a legend entry, so it fits the panel's right margin
OFF_SCALE = 4.0
"""A threshold more than this many times the panel's highest value is named in the legend, not drawn."""
_ALERT_COLORS = ("#f0883e", "#d1242f", "#8250df", "#bf8700", "#1a7f37")


# --- model ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Panel:
    """One graph: its PromQL queries (legend, expr), unit, threshold lines and the alerts it shades."""

    title: str
    exprs: Sequence[tuple[str, str]]
    """(legend label, PromQL); `{window}` in the PromQL becomes the dashboard's rate window."""
    unit: str = ""
    """Y-axis label; "ratio" draws percent and "bytes" engineering units (KB, MB)."""
    thresholds: Sequence[tuple[str, float]] = ()
    """(label, value): dashed horizontal lines, e.g. ("SLO 300 s", 300)."""
    alert_names: Sequence[str] = ()
    """Alerting rules whose firing periods are shaded on this panel."""

    def __post_init__(self) -> None:
        # Stored as tuples so a module-level DASHBOARD cannot be changed by accident.
        object.__setattr__(self, "exprs", tuple((str(lg), str(e)) for lg, e in self.exprs))
        object.__setattr__(self, "thresholds", tuple((str(lb), float(v)) for lb, v in self.thresholds))
        object.__setattr__(self, "alert_names", tuple(str(a) for a in self.alert_names))
        if not self.exprs:
            raise ConfigError(f"panel {self.title!r} has no query")
        for name in self.alert_names:
            if not _ALERT_NAME.fullmatch(name):
                raise ConfigError(f"panel {self.title!r}: {name!r} is not a valid alert name")


@dataclass(frozen=True, slots=True)
class Dashboard:
    """A story's page: its panels, and the run's fault markers as (time, label) vertical lines."""

    slug: str
    """File name of the page (`<slug>.html`), e.g. "3-streaming"."""
    title: str
    panels: Sequence[Panel]
    markers: Sequence[tuple[float, str]] = ()
    """(unix s, label), e.g. (t0, "stall start"), sorted; set per run with `with_markers`."""
    description: str = ""

    def __post_init__(self) -> None:
        if not _SLUG.fullmatch(self.slug):
            raise ConfigError(f"dashboard slug {self.slug!r} must match {_SLUG.pattern} (it names a file)")
        object.__setattr__(self, "panels", tuple(self.panels))
        markers = tuple((unix_seconds(t), str(label)) for t, label in self.markers)
        object.__setattr__(self, "markers", tuple(sorted(markers)))

    @property
    def alert_names(self) -> tuple[str, ...]:
        """Every alert any panel shades, once each, in panel order."""
        return tuple(dict.fromkeys(a for p in self.panels for a in p.alert_names))

    def with_markers(self, markers: Sequence[tuple[Timestamp, str]]) -> Dashboard:
        """A copy with this run's fault markers (unix seconds or aware datetimes)."""
        return replace(self, markers=tuple((unix_seconds(t), label) for t, label in markers))

    def with_window(self, window: str) -> Dashboard:
        """A copy whose PromQL has `{window}` replaced by `window` (a PromQL duration: "15s", "1m")."""
        panels = [
            replace(p, exprs=[(legend, apply_window(expr, window)) for legend, expr in p.exprs])
            for p in self.panels
        ]
        return replace(self, panels=panels)


def apply_window(expr: str, window: str) -> str:
    """`expr` with every `{window}` replaced by `window`; refuses anything but a PromQL duration."""
    if not _DURATION.fullmatch(window):
        raise ConfigError(f"rate window {window!r} is not a PromQL duration such as 15s, 1m or 1h30m")
    return expr.replace(WINDOW_FIELD, window)


def alerts_expr(alert_name: str) -> str:
    """The PromQL of an alert's firing series, as Prometheus records it in `ALERTS`."""
    if not _ALERT_NAME.fullmatch(alert_name):
        raise ConfigError(f"{alert_name!r} is not a valid alert name")
    return f'ALERTS{{alertname="{alert_name}", alertstate="firing"}}'


def dashboards_dir(reports_dir: Path | None = None) -> Path:
    """`<reports_dir>/latest/dashboards`, where the story pages go next to the evidence."""
    return latest_dir(reports_dir) / "dashboards"


# --- fetched data -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class QueryResult:
    """One panel query as it ran: the series Prometheus returned, or its error message."""

    legend: str
    expr: str
    series: list[Series] = field(default_factory=list)
    error: str | None = None

    @property
    def has_data(self) -> bool:
        return any(math.isfinite(v) for s in self.series for _, v in s.values)


@dataclass(frozen=True, slots=True)
class AlertResult:
    """An alert's `ALERTS` series over the range and the firing intervals computed from them."""

    name: str
    expr: str
    series: list[Series] = field(default_factory=list)
    intervals: list[tuple[float, float]] = field(default_factory=list)
    error: str | None = None


@dataclass(frozen=True, slots=True)
class DashboardData:
    """Everything a page is drawn from; `to_json` / `load_json` round-trip it."""

    dashboard: Dashboard
    """With the rate window already applied to its PromQL."""
    prometheus_url: str
    start: float
    end: float
    step: float
    window: str
    generated_at: str
    results: list[list[QueryResult]]
    """Per panel, per query, in the dashboard's order."""
    alerts: dict[str, AlertResult]


def firing_intervals(series: Series | Sequence[Series], step: float) -> list[tuple[float, float]]:
    """[first, last] sample times of each run of consecutive firing points, merged across series.

    `series` is the `ALERTS{alertstate="firing"}` result of one alert (one
    series per label set) from a range query with this `step`: a point exists
    while the alert fires. Points at most 1.5 steps apart belong to one
    interval; a single point is a zero-length interval (drawn one step wide).
    """
    if step <= 0:
        raise ConfigError(f"step must be positive, got {step}")
    group = [series] if isinstance(series, Series) else list(series)
    times = sorted({t for s in group for t, v in s.values if math.isfinite(v) and v > 0})
    intervals: list[tuple[float, float]] = []
    for t in times:
        if intervals and t - intervals[-1][1] <= _GAP_STEPS * step:
            intervals[-1] = (intervals[-1][0], t)
        else:
            intervals.append((t, t))
    return intervals


def fetch(
    client: PromClient,
    dashboard: Dashboard,
    start: Timestamp,
    end: Timestamp,
    step: float,
    *,
    window: str = DEFAULT_WINDOW,
) -> DashboardData:
    """Run every panel's PromQL and every shaded alert's `ALERTS` query over [start, end].

    A query Prometheus rejects (bad PromQL, a terminal `PrometheusError`) is
    recorded on its panel and drawn as an error, so one broken panel does not
    hide the others; an unreachable Prometheus (`PrometheusUnavailable`)
    raises, since every panel would be empty.
    """
    t0, t1 = unix_seconds(start), unix_seconds(end)
    if not t1 > t0:
        raise ConfigError(f"dashboard range is empty: end {t1} is not after start {t0}")
    if step <= 0 or (t1 - t0) / step > MAX_POINTS:
        raise ConfigError(
            f"step {step} s over {t1 - t0:.0f} s gives more than {MAX_POINTS} points: use a larger step"
        )
    resolved = dashboard.with_window(window)

    def run(expr: str) -> tuple[list[Series], str | None]:
        try:
            return client.query_range(expr, t0, t1, step), None
        except PrometheusUnavailable:
            raise
        except PrometheusError as exc:
            return [], str(exc)

    results = []
    for panel in resolved.panels:
        row = []
        for legend, expr in panel.exprs:
            series, error = run(expr)
            row.append(QueryResult(legend, expr, series, error))
        results.append(row)
    alerts = {}
    for name in resolved.alert_names:
        expr = alerts_expr(name)
        series, error = run(expr)
        alerts[name] = AlertResult(name, expr, series, firing_intervals(series, step), error)
    return DashboardData(
        dashboard=resolved,
        prometheus_url=client.base_url,
        start=t0,
        end=t1,
        step=float(step),
        window=window,
        generated_at=datetime.now(UTC).isoformat(timespec="seconds"),
        results=results,
        alerts=alerts,
    )


# --- JSON -----------------------------------------------------------------------------------


def _value_json(v: float) -> float | str:
    # JSON has no NaN or infinity; Prometheus' own spelling keeps them readable and float() reads it back.
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    return v


def _series_json(series: Sequence[Series]) -> list[dict[str, Any]]:
    return [{"labels": s.labels, "values": [[t, _value_json(v)] for t, v in s.values]} for s in series]


def _series_from_json(raw: Sequence[dict[str, Any]]) -> list[Series]:
    return [
        Series(
            labels={str(k): str(v) for k, v in s["labels"].items()},
            values=[(float(t), float(v)) for t, v in s["values"]],
        )
        for s in raw
    ]


def to_json(data: DashboardData) -> dict[str, Any]:
    """The `<slug>.json` document: the range, every query with its graph link and series, the alerts."""
    d = data.dashboard
    span = data.end - data.start

    def link(expr: str) -> str:
        return graph_url(data.prometheus_url, expr, span, data.end)

    return {
        "format": JSON_FORMAT,
        "slug": d.slug,
        "title": d.title,
        "description": d.description,
        "prometheus_url": data.prometheus_url,
        "start": data.start,
        "end": data.end,
        "step": data.step,
        "window": data.window,
        "generated_at": data.generated_at,
        "markers": [{"t": t, "label": label} for t, label in d.markers],
        "panels": [
            {
                "title": p.title,
                "unit": p.unit,
                "thresholds": [{"label": lb, "value": v} for lb, v in p.thresholds],
                "alert_names": list(p.alert_names),
                "queries": [
                    {
                        "legend": q.legend,
                        "expr": q.expr,
                        "graph_url": link(q.expr),
                        "error": q.error,
                        "series": _series_json(q.series),
                    }
                    for q in row
                ],
            }
            for p, row in zip(d.panels, data.results, strict=True)
        ],
        "alerts": [
            {
                "name": a.name,
                "expr": a.expr,
                "graph_url": link(a.expr),
                "error": a.error,
                "firing_intervals": [[s, e] for s, e in a.intervals],
                "series": _series_json(a.series),
            }
            for a in data.alerts.values()
        ],
    }


def load_json(json_path: Path) -> DashboardData:
    """Read a `<slug>.json` back; firing intervals are recomputed from the series, not trusted."""
    try:
        doc = json.loads(Path(json_path).read_text(encoding="utf-8"))
        if doc.get("format") != JSON_FORMAT:
            found = doc.get("format")
            raise ConfigError(f"{json_path}: dashboard JSON format {found!r}, expected {JSON_FORMAT}")
        step = float(doc["step"])
        panels, results = [], []
        for p in doc["panels"]:
            queries = [
                QueryResult(q["legend"], q["expr"], _series_from_json(q["series"]), q.get("error"))
                for q in p["queries"]
            ]
            panels.append(
                Panel(
                    title=p["title"],
                    exprs=[(q.legend, q.expr) for q in queries],
                    unit=p.get("unit", ""),
                    thresholds=[(t["label"], t["value"]) for t in p.get("thresholds", [])],
                    alert_names=p.get("alert_names", []),
                )
            )
            results.append(queries)
        alerts = {}
        for a in doc.get("alerts", []):
            series = _series_from_json(a["series"])
            alerts[a["name"]] = AlertResult(
                a["name"], a["expr"], series, firing_intervals(series, step), a.get("error")
            )
        dashboard = Dashboard(
            slug=doc["slug"],
            title=doc["title"],
            panels=panels,
            markers=[(m["t"], m["label"]) for m in doc.get("markers", [])],
            description=doc.get("description", ""),
        )
        return DashboardData(
            dashboard=dashboard,
            prometheus_url=doc["prometheus_url"],
            start=float(doc["start"]),
            end=float(doc["end"]),
            step=step,
            window=doc.get("window", DEFAULT_WINDOW),
            generated_at=doc.get("generated_at", ""),
            results=results,
            alerts=alerts,
        )
    except (OSError, KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"cannot read dashboard JSON {json_path}: {exc!r}") from exc


# --- drawing --------------------------------------------------------------------------------


def _utc(t: float) -> datetime:
    return datetime.fromtimestamp(t, UTC)


def _clock(t: float) -> str:
    return _utc(t).strftime("%H:%M:%S")


def _span(seconds: float) -> str:
    s = round(seconds)
    if s < 120:
        return f"{s} s"
    if s < 7200:
        return f"{s // 60} min {s % 60} s" if s % 60 else f"{s // 60} min"
    return f"{s / 3600:.1f} h"


def _series_label(legend: str, series: Series, group: Sequence[Series]) -> str:
    """The legend label, plus the labels that tell this series from the others of its query."""
    if len(group) < 2:
        return legend
    keys = sorted({k for s in group for k in s.labels})
    varying = [k for k in keys if len({s.labels.get(k) for s in group}) > 1]
    detail = ", ".join(f"{k}={series.labels.get(k, '')}" for k in varying)
    return f"{legend} {{{detail}}}" if detail else legend


def off_scale(threshold: float, peak: float | None) -> bool:
    """A threshold far above everything drawn (the production SLO's 300 s beside a demo run's
    20 s of freshness) would squash the data into a flat line: it is named in the legend instead."""
    return peak is not None and peak > 0 and threshold > OFF_SCALE * peak


def _with_gaps(values: Sequence[tuple[float, float]], step: float) -> tuple[list[float], list[float]]:
    """Points to plot: infinities become NaN and a missing step breaks the line instead of bridging it."""
    xs: list[float] = []
    ys: list[float] = []
    previous: float | None = None
    for t, v in values:
        if previous is not None and t - previous > _GAP_STEPS * step:
            xs.append((t + previous) / 2)
            ys.append(math.nan)
        xs.append(t)
        ys.append(v if math.isfinite(v) else math.nan)
        previous = t
    return xs, ys


def _alert_colors(data: DashboardData) -> dict[str, str]:
    return {name: _ALERT_COLORS[i % len(_ALERT_COLORS)] for i, name in enumerate(data.dashboard.alert_names)}


def panel_png(data: DashboardData, index: int, title: str) -> bytes:
    """One panel as PNG bytes with `title` drawn on it: for a report that shows the panel on its own."""
    return _draw_panel(data, index, title)


def _draw_panel(data: DashboardData, index: int, title: str | None = None) -> bytes:
    """One panel as PNG bytes: series, thresholds, shaded alert intervals, markers."""
    # Heavy imports on use; Figure + the Agg canvas, never pyplot (no display, no global state).
    from matplotlib import dates as mdates
    from matplotlib import ticker
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    panel = data.dashboard.panels[index]
    results = data.results[index]
    colors = _alert_colors(data)
    fig = Figure(figsize=(10.0, 2.9), dpi=100)
    FigureCanvasAgg(fig)
    # The same margins on every panel (no tight bbox), so the time axes line up down the page;
    # the right quarter holds the legend.
    # On the page the title is the <h2>, not drawn again; `panel_png` draws it for a report.
    fig.subplots_adjust(left=0.07, right=0.74, top=0.86 if title else 0.95, bottom=0.16)
    ax = fig.add_subplot()
    if title:
        ax.set_title(title, fontsize=9.5, loc="left")

    def x(t: float) -> float:
        # Matplotlib's date axis counts days since its epoch; the locator and formatter below read it as UTC.
        return float(mdates.date2num(_utc(t)))

    for q in results:
        for s in q.series:
            xs, ys = _with_gaps(s.values, data.step)
            ax.plot(
                [x(t) for t in xs],
                ys,
                lw=1.4,
                marker="o" if len(xs) == 1 else None,
                ms=3,
                label=textwrap.fill(_series_label(q.legend, s, q.series), _LEGEND_CHARS),
            )
    peak = max((v for q in results for s in q.series for _, v in s.values if math.isfinite(v)), default=None)
    for label, value in panel.thresholds:
        text = f"{label} ({value:g} {panel.unit})".strip()
        if off_scale(value, peak):
            ax.plot([], [], ls="--", lw=1.1, color="#cf222e", alpha=0.45, label=f"{text}, above the plot")
        else:
            ax.axhline(value, ls="--", lw=1.1, color="#cf222e", label=text)
    for name in panel.alert_names:
        alert = data.alerts.get(name)
        for i, (a, b) in enumerate(alert.intervals if alert else ()):
            ax.axvspan(
                x(a - data.step / 2),
                x(b + data.step / 2),
                color=colors[name],
                alpha=0.22,
                lw=0,
                label=f"{name} firing" if i == 0 else None,
            )
    for t, label in data.dashboard.markers:
        if data.start <= t <= data.end:
            ax.axvline(x(t), color="#24292f", ls=":", lw=1.2)
            ax.text(
                x(t),
                0.98,
                f" {label}",
                transform=ax.get_xaxis_transform(),
                fontsize=7,
                va="top",
                ha="left",
                color="#24292f",
            )

    errors = [q.error for q in results if q.error]
    if errors:
        ax.text(0.5, 0.5, "query failed (see below)", transform=ax.transAxes, ha="center", color="#cf222e")
    elif not any(q.has_data for q in results):
        ax.text(0.5, 0.5, NO_DATA, transform=ax.transAxes, ha="center", va="center", color="#57606a")

    ax.set_xlim(x(data.start), x(data.end))
    locator = mdates.AutoDateLocator(tz=UTC)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, tz=UTC))
    if panel.unit == "ratio":
        ax.yaxis.set_major_formatter(ticker.PercentFormatter(xmax=1.0))
    elif panel.unit == "bytes":
        ax.yaxis.set_major_formatter(ticker.EngFormatter(unit="B"))
    elif panel.unit:
        ax.set_ylabel(panel.unit, fontsize=8)
    ax.tick_params(labelsize=8)
    ax.grid(alpha=0.25)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7, frameon=False, borderaxespad=0)
    buf = io.BytesIO()
    # No "Software" text chunk: the page should carry no URL besides its graph links.
    fig.savefig(buf, format="png", metadata={"Software": None})
    return buf.getvalue()


# --- HTML ------------------------------------------------------------------------------------

_CSS = """
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto;
       max-width: 1100px; padding: 0 1rem; color: #1f2328; }
h1 { margin-bottom: .2rem; } h2 { font-size: 1.1rem; margin: 0 0 .4rem; }
.meta { color: #57606a; }
section.panel { border: 1px solid #d0d7de; border-radius: 6px; padding: .8rem 1rem; margin: 1.2rem 0; }
section.panel img { max-width: 100%; }
pre { font: 13px ui-monospace, SFMono-Regular, Menlo, monospace; background: #f6f8fa; padding: .45rem .6rem;
      margin: .2rem 0; white-space: pre-wrap; word-break: break-all; }
.query { margin: .6rem 0; } .query .legend { font-weight: 600; font-size: 13px; }
.nodata { color: #57606a; font-style: italic; } .error { color: #cf222e; }
ul.alerts { list-style: none; padding: 0; margin: .3rem 0; font-size: 14px; }
.swatch { display: inline-block; width: .9rem; height: .9rem; vertical-align: -.1rem; margin-right: .35rem;
          border-radius: 2px; opacity: .55; }
table.markers { border-collapse: collapse; font-size: 14px; }
table.markers td { padding: .1rem .6rem .1rem 0; }
"""


def _iso(t: float) -> str:
    return _utc(t).strftime("%Y-%m-%d %H:%M:%S UTC")


def _alert_item(data: DashboardData, name: str, color: str) -> str:
    e = html.escape
    alert = data.alerts.get(name)
    swatch = f'<span class="swatch" style="background:{color}"></span>'
    if alert is None:
        return f"<li>{swatch}{e(name)}: not queried</li>"
    if alert.error:
        return f'<li>{swatch}{e(name)}: <span class="error">{e(alert.error)}</span></li>'
    if not alert.intervals:
        return f"<li>{swatch}{e(name)}: did not fire in this range</li>"
    spans = ", ".join(
        f"{_clock(a)} to {_clock(b)} UTC ({_span(b - a + data.step)})" for a, b in alert.intervals
    )
    return f"<li>{swatch}{e(name)} firing (shaded): {spans}</li>"


def _query_block(data: DashboardData, legend: str, expr: str, note: str = "") -> str:
    e = html.escape
    link = graph_url(data.prometheus_url, expr, data.end - data.start, data.end)
    return (
        f'<div class="query"><div class="legend">{e(legend)}{note}</div>'
        f"<pre>{e(expr)}</pre>"
        f'<a href="{e(link)}">show in Prometheus</a></div>'
    )


def _panel_html(data: DashboardData, index: int, png: bytes) -> str:
    e = html.escape
    panel = data.dashboard.panels[index]
    results = data.results[index]
    colors = _alert_colors(data)
    img = base64.b64encode(png).decode("ascii")
    parts = [
        f'<section class="panel" id="panel-{index + 1}"><h2>{e(panel.title)}</h2>',
        f'<img src="data:image/png;base64,{img}" alt="{e(panel.title)}">',
    ]
    if not any(q.has_data for q in results) and not any(q.error for q in results):
        parts.append(f'<p class="nodata">{NO_DATA}</p>')
    if panel.thresholds:
        lines = ", ".join(f"{e(lb)} = {v:g} {e(panel.unit)}".strip() for lb, v in panel.thresholds)
        parts.append(f'<p class="meta">Dashed line: {lines}.</p>')
    if panel.alert_names:
        items = "".join(_alert_item(data, n, colors[n]) for n in panel.alert_names)
        parts.append(f'<ul class="alerts">{items}</ul>')
    for q in results:
        note = ""
        if q.error:
            note = f' <span class="error">query failed: {e(q.error)}</span>'
        elif not q.has_data:
            note = ' <span class="nodata">(no data)</span>'
        elif infinite := sum(math.isinf(v) for s in q.series for _, v in s.values):
            # histogram_quantile answers +Inf when the quantile is above the top bucket: say so, as
            # the line cannot show it.
            note = f' <span class="nodata">({infinite} infinite points not drawn)</span>'
        parts.append(_query_block(data, q.legend, q.expr, note))
    for name in panel.alert_names:
        alert = data.alerts.get(name)
        if alert is not None:
            parts.append(_query_block(data, f"shading: {name}", alert.expr))
    parts.append("</section>")
    return "".join(parts)


def render_html(data: DashboardData) -> str:
    """The self-contained page: inline CSS, PNGs as base64, no script; the only URLs are <a href> links."""
    e = html.escape
    d = data.dashboard
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{e(d.title)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>{e(d.title)}</h1>",
    ]
    if d.description:
        parts.append(f"<p>{e(d.description)}</p>")
    parts.append(
        f'<p class="meta">Range {e(_iso(data.start))} to {e(_iso(data.end))} '
        f"({e(_span(data.end - data.start))}), step {data.step:g} s, rate window {e(data.window)}. "
        f'Prometheus <a href="{e(data.prometheus_url)}">{e(data.prometheus_url)}</a>. '
        f"Fetched {e(data.generated_at)}.</p>"
    )
    parts.append(
        '<p class="meta">Dashed lines are thresholds, shaded bands are periods when an alert was firing '
        "(Prometheus' ALERTS series), dotted vertical lines mark the run's faults. "
        "Under each panel: its PromQL and a link to the same query in Prometheus.</p>"
    )
    if d.markers:
        rows = "".join(f"<tr><td>{e(_iso(t))}</td><td>{e(label)}</td></tr>" for t, label in d.markers)
        parts.append(f'<table class="markers"><tbody>{rows}</tbody></table>')
    for i in range(len(d.panels)):
        parts.append(_panel_html(data, i, _draw_panel(data, i)))
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


# --- entry points ---------------------------------------------------------------------------


def _write_page(data: DashboardData, out_dir: Path) -> Path:
    path = Path(out_dir) / f"{data.dashboard.slug}.html"
    write_text_atomic(path, render_html(data))
    return path


def render(
    client: PromClient,
    dashboard: Dashboard,
    start: Timestamp,
    end: Timestamp,
    step: float,
    out_dir: Path,
    *,
    window: str = DEFAULT_WINDOW,
) -> Path:
    """Query Prometheus over [start, end] and write `<out_dir>/<slug>.{json,html}`; returns the HTML path.

    `step` is seconds between points; `window` replaces `{window}` in the
    panels' PromQL (a short demo at 1 s scrapes has data with "15s").
    """
    data = fetch(client, dashboard, start, end, step, window=window)
    write_json_atomic(Path(out_dir) / f"{dashboard.slug}.json", to_json(data))
    return _write_page(data, out_dir)


def render_from_json(json_path: Path, out_dir: Path) -> Path:
    """Redraw `<out_dir>/<slug>.html` from a saved `<slug>.json`, without Prometheus."""
    return _write_page(load_json(json_path), out_dir)


def render_run(
    settings: Settings,
    dashboard: Dashboard,
    start: float,
    end: float,
    markers: Sequence[tuple[Timestamp, str]] = (),
    *,
    window: str = "15s",
) -> Path | None:
    """A story's page over one run, with its fault markers, into `reports/latest/dashboards/`.

    None (and nothing written) when Prometheus is not answering: a demo on a
    stack without it still finishes, and says so.
    """
    client = PromClient(settings.prometheus_url)
    if not client.ready():
        return None
    step = max(float(settings.scrape_interval_s), (end - start) / 600)
    try:
        return render(
            client,
            dashboard.with_markers(markers),
            start,
            end,
            step,
            dashboards_dir(settings.reports_dir),
            window=window,
        )
    except PrometheusUnavailable:
        return None
