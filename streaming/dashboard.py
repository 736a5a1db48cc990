"""Story 3's dashboard as data: freshness, consumer lag, end-to-end latency, throughput, checkpoints.

Backs story 3's "<5-minute freshness", "SLO-based alerting (freshness,
consumer lag)" and "p95 end-to-end < 3 min": each SLO panel carries its
threshold from `slo.yaml` (300 s, 100000 records, 180 s) and shades the
firing periods of the alert on it, so the page shows the stall, the alert and
the recovery on one time axis. `slo:stream_freshness_seconds` and
`slo:consumer_lag_records` are `slo.yaml`'s recording rules, so the line and
the alert read the same series. The kernel draws it:
`starlab.observability.dashboard.render(client, DASHBOARD, ...)`; `{window}`
is the rate window (default 1m, "15s" for a demo of a few minutes).
"""

from __future__ import annotations

from dataclasses import replace

from starlab.observability.dashboard import Dashboard, Panel

__all__ = ["DASHBOARD", "for_run"]

FRESHNESS_SLO_S = 300
"""Story 3: output at most 5 minutes behind; FreshnessSLOBreach's threshold."""
CONSUMER_LAG_MAX_RECORDS = 100_000
"""ConsumerLagHigh's threshold: about 20 s of peak input at 5k events/s."""
END_TO_END_P95_MAX_S = 180
"""Story 3: p95 end-to-end < 3 min; EndToEndLatencyHigh's threshold."""

DASHBOARD = Dashboard(
    slug="3-streaming",
    title="Story 3: Kafka -> Flink SQL streaming",
    description=(
        "Freshness, lag and end-to-end latency against their SLO thresholds, with the alerts' "
        "firing periods shaded; throughput and Flink checkpoint health on the same time axis."
    ),
    panels=[
        Panel(
            title="Freshness: age of the newest committed output",
            exprs=[("freshness", "slo:stream_freshness_seconds")],
            unit="s",
            thresholds=[("freshness SLO", FRESHNESS_SLO_S)],
            alert_names=["FreshnessSLOBreach"],
        ),
        Panel(
            title="Consumer lag of the Flink job",
            # the Flink jobs' groups only: other consumers (tests, tools) commit offsets too
            exprs=[("lag", 'slo:consumer_lag_records{group=~"starlab-flink.*"}')],
            unit="records",
            thresholds=[("ConsumerLagHigh", CONSUMER_LAG_MAX_RECORDS)],
            alert_names=["ConsumerLagHigh"],
        ),
        Panel(
            title="End-to-end latency p95 (event produced -> row readable)",
            exprs=[
                (
                    "p95",
                    "histogram_quantile(0.95, sum by (le) "
                    "(rate(starlab_stream_end_to_end_latency_seconds_bucket[{window}])))",
                )
            ],
            unit="s",
            thresholds=[("p95 objective", END_TO_END_P95_MAX_S)],
            alert_names=["EndToEndLatencyHigh"],
        ),
        Panel(
            title="Throughput: events into Kafka and rows out of Flink",
            exprs=[
                (
                    "in (Kafka messages/s)",
                    "sum(rate(kafka_server_brokertopicmetrics_messagesin_total[{window}]))",
                ),
                ("out (rows/s)", "sum(rate(starlab_stream_output_rows_total[{window}]))"),
            ],
            unit="per s",
        ),
        # Two panels, not one: seconds and a restart count on one y-axis would flatten one of them.
        Panel(
            title="Flink: seconds since the last completed checkpoint",
            exprs=[
                (
                    "since last checkpoint",
                    # Flink reports milliseconds, and -1 before the first checkpoint: drop that.
                    "time() - max by (job_name) (flink_jobmanager_job_lastCheckpointCompletedTimestamp > 0)"
                    " / 1000",
                )
            ],
            unit="s",
        ),
        Panel(
            title="Flink: job restarts",
            exprs=[("restarts", "max by (job_name) (flink_jobmanager_job_numRestarts)")],
            unit="restarts",
        ),
    ],
)


def for_run(run_id: str, group: str, alert_threshold_s: float | None = None) -> Dashboard:
    """`DASHBOARD` narrowed to one run: its freshness, latency and rows by `run`, its lag by
    its consumer group; with the threshold of the run's own freshness alert drawn beside
    the SLO's when the run installed one (`streaming/alerts.py`)."""
    run, grp = f'run="{run_id}"', f'group="{group}"'
    e2e = "starlab_stream_end_to_end_latency_seconds_bucket"
    scoped = {
        "slo:stream_freshness_seconds": f"slo:stream_freshness_seconds{{{run}}}",
        'slo:consumer_lag_records{group=~"starlab-flink.*"}': f"slo:consumer_lag_records{{{grp}}}",
        f"{e2e}[": f"{e2e}{{{run}}}[",
        "starlab_stream_output_rows_total[": f"starlab_stream_output_rows_total{{{run}}}[",
    }
    panels = []
    for p in DASHBOARD.panels:
        exprs = []
        for legend, expr in p.exprs:
            for old, new in scoped.items():
                expr = expr.replace(old, new)
            exprs.append((legend, expr))
        thresholds = list(p.thresholds)
        if alert_threshold_s is not None and "FreshnessSLOBreach" in p.alert_names:
            thresholds.insert(0, ("this run's alert", alert_threshold_s))
        panels.append(replace(p, exprs=exprs, thresholds=thresholds))
    return replace(DASHBOARD, panels=panels, title=f"{DASHBOARD.title} (run {run_id})")
