"""`starlab dashboards` and `starlab alerts`: "show the metric", from the live Prometheus.

Backs issue 11's "what dashboard or alert told you something was wrong":
`dashboards` draws each story's panels (its `Story.dashboard`) from Prometheus
range queries into self-contained pages next to the evidence, with the PromQL
and a link to Prometheus' graph under every panel; `alerts` lists what
Alertmanager delivered to starlab's receiver, newest last.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from starlab.settings import get_settings

console = Console()
app = typer.Typer(no_args_is_help=False)

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _seconds(text: str) -> float:
    try:
        return float(text[:-1]) * _UNITS[text[-1]]
    except (KeyError, ValueError, IndexError):
        raise typer.BadParameter(f"{text!r}: use a number and s, m, h or d, e.g. 15m") from None


def dashboards(
    story: list[str] = typer.Argument(None, help="Stories to draw (default: every story with a dashboard)."),
    since: str = typer.Option("15m", help="How far back from now: 90s, 15m, 2h."),
    window: str = typer.Option(
        "15s", help="Rate window of the panels' PromQL (15s suits a demo at 1 s scrapes)."
    ),
    out: Path = typer.Option(None, help="Output directory (default reports/latest/dashboards)."),
) -> None:
    """Draw each story's dashboard from Prometheus over the last SINCE: one HTML page per story."""
    from starlab.errors import StarlabError
    from starlab.observability.dashboard import dashboards_dir, render
    from starlab.observability.query import PromClient
    from starlab.story import by_name, registered

    settings = get_settings()
    stories = [by_name(s) for s in story] if story else [s for s in registered() if s.dashboard]
    out_dir = out or dashboards_dir(settings.reports_dir)
    end = time.time()
    start = end - _seconds(since)
    step = max(settings.scrape_interval_s, (end - start) / 600)  # at most ~600 points a series
    client = PromClient(settings.prometheus_url)
    for s in stories:
        dash = s.load_dashboard()
        if dash is None:
            console.print(f"{s.name}: no dashboard")
            continue
        try:
            page = render(client, dash, start, end, step, out_dir, window=window)
        except StarlabError as exc:
            console.print(f"[red]error:[/] {s.name}: {exc}")
            raise typer.Exit(1) from None
        console.print(f"{s.name}: {page}")


def alerts(
    since: str = typer.Option("1h", help="How far back: 90s, 15m, 2h."),
) -> None:
    """List the alerts Alertmanager delivered to starlab's receiver (firing and resolved)."""
    from starlab.observability.receiver import read_log

    settings = get_settings()
    records = read_log(settings.alerts_log, time.time() - _seconds(since))
    table = Table(title=f"alerts received in the last {since} ({settings.alerts_log})")
    for col in ("received", "status", "alert", "labels", "runbook", "action"):
        table.add_column(col)
    for r in records:
        labels = {k: v for k, v in r.labels.items() if k not in ("alertname", "severity", "story", "slo")}
        table.add_row(
            datetime.fromtimestamp(r.received_at, UTC).strftime("%H:%M:%S"),
            r.status,
            r.alertname,
            " ".join(f"{k}={v}" for k, v in sorted(labels.items())),
            r.annotations.get("runbook_url", ""),
            r.action,
        )
    console.print(table)
