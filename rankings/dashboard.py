"""Story 2's dashboard as data: the ranking API's p95 and request rate, and Redis memory.

Backs story 2's "warm cache to keep API p95 < 200 ms": the p95 panel carries
the 0.2 s threshold from `slo.yaml` and shades `RankingApiP95High`; the
request rate by status and the memory of the Redis that holds the published
rankings sit on the same time axis. Requests are read for `GET /rankings`
only, as the alert reads them. The kernel draws it:
`starlab.observability.dashboard.render(client, DASHBOARD, ...)`; `{window}`
is the rate window (default 1m, "15s" for a demo of a few minutes).
"""

from __future__ import annotations

from starlab.observability.dashboard import Dashboard, Panel

__all__ = ["DASHBOARD"]

P95_MAX_S = 0.2
"""Story 2: ranking API p95 < 200 ms; RankingApiP95High's threshold."""

_ROUTE = 'job="rankings-api", handler="/rankings"'

DASHBOARD = Dashboard(
    slug="2-rankings",
    title="Story 2: daily rankings served from Redis",
    description="Ranking API latency against its 200 ms p95 objective, request rate by status, Redis memory.",
    panels=[
        Panel(
            title="Ranking API latency p95",
            exprs=[
                (
                    "p95",
                    "histogram_quantile(0.95, sum by (le) "
                    "(rate(http_request_duration_seconds_bucket{" + _ROUTE + "}[{window}])))",
                )
            ],
            unit="s",
            thresholds=[("ranking p95 objective", P95_MAX_S)],
            alert_names=["RankingApiP95High"],
        ),
        Panel(
            title="Ranking API requests by status",
            exprs=[("requests/s", "sum by (status) (rate(http_requests_total{" + _ROUTE + "}[{window}]))")],
            unit="per s",
        ),
        Panel(
            title="Redis memory used",
            exprs=[("used", "redis_memory_used_bytes")],
            unit="bytes",
        ),
    ],
)
