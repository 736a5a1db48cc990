"""Story 4's dashboard as data: feature API p95 and failures, cache hit rate, breakers and kill switch.

Backs story 4's "auto-rollback if p95 > 250 ms or failure rate > 0.5%" and
the cache hit rate: each panel carries its threshold from `slo.yaml` and
shades the alert on it (`FeatureP95High`, `FeatureFailureRateHigh`, the two
the webhook answers by tripping the kill switch, and `CacheHitRateLow`), and
the breaker and kill-switch panel shows what the service did about it on the
same time axis. Latency and errors are read for `/features/{user_id}` only,
as the alerts read them. The kernel draws it:
`starlab.observability.dashboard.render(client, DASHBOARD, ...)`; `{window}`
is the rate window (default 1m, "15s" for a demo of a few minutes).
"""

from __future__ import annotations

from starlab.observability.dashboard import Dashboard, Panel

__all__ = ["DASHBOARD"]

P95_MAX_S = 0.25
"""Fan-out p95 <= 250 ms; FeatureP95High's threshold."""
FAILURE_RATIO_MAX = 0.005
"""Auto-rollback if the failure rate > 0.5%; FeatureFailureRateHigh's threshold."""
CACHE_HIT_RATIO_MIN = 0.9
"""CacheHitRateLow's threshold (steady state is about 95%)."""

# `{user_id}` is FastAPI's route template as the instrumentator labels it, left alone by `{window}`.
_ROUTE = 'job="feature-api", handler="/features/{user_id}"'

DASHBOARD = Dashboard(
    slug="4-feature-store",
    title="Story 4: feature serving with cache, breakers and kill switch",
    description=(
        "Feature API latency and failures, the cache hit rate, and the breakers and kill switch "
        "that protect the fan-out, with the alerts' firing periods shaded."
    ),
    panels=[
        Panel(
            title="Feature API latency p95",
            exprs=[
                (
                    "p95",
                    "histogram_quantile(0.95, sum by (le) "
                    "(rate(http_request_duration_seconds_bucket{" + _ROUTE + "}[{window}])))",
                )
            ],
            unit="s",
            thresholds=[("fan-out p95", P95_MAX_S)],
            alert_names=["FeatureP95High"],
        ),
        Panel(
            title="Feature API failures",
            exprs=[
                (
                    "HTTP 5xx / all",
                    "sum(rate(http_requests_total{" + _ROUTE + ', status="5xx"}[{window}])) '
                    "/ sum(rate(http_requests_total{" + _ROUTE + "}[{window}]))",
                ),
                (
                    "error or degraded / all answers",
                    'sum(rate(starlab_feature_responses_total{outcome=~"degraded|error"}[{window}])) '
                    "/ sum(rate(starlab_feature_responses_total[{window}]))",
                ),
            ],
            unit="ratio",
            thresholds=[("rollback line", FAILURE_RATIO_MAX)],
            alert_names=["FeatureFailureRateHigh"],
        ),
        Panel(
            title="Cache hit rate",
            exprs=[
                (
                    "service lookups",
                    'sum(rate(starlab_feature_cache_lookups_total{result="hit"}[{window}])) '
                    "/ sum(rate(starlab_feature_cache_lookups_total[{window}]))",
                ),
                (
                    "Redis keyspace",
                    "sum(rate(redis_keyspace_hits_total[{window}])) "
                    "/ (sum(rate(redis_keyspace_hits_total[{window}])) "
                    "+ sum(rate(redis_keyspace_misses_total[{window}])))",
                ),
            ],
            unit="ratio",
            thresholds=[("CacheHitRateLow", CACHE_HIT_RATIO_MIN)],
            alert_names=["CacheHitRateLow"],
        ),
        Panel(
            title="Circuit breakers (1 = open) and kill switch (1 = on)",
            exprs=[
                ("breaker open", "max by (dependency) (starlab_feature_breaker_open)"),
                ("kill switch", "max(starlab_feature_kill_switch)"),
            ],
            unit="state",
        ),
    ],
)
