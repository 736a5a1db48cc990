"""`/metrics` for starlab's FastAPI services, with latency buckets that resolve the SLOs.

Backs the stories' latency claims as Prometheus sees them: ranking API p95 <
200 ms (story 2), feature p95 < 50 ms and the fan-out's 250 ms rollback line
(story 4). Each of those thresholds is a bucket edge, so "the fraction of
requests under the SLO" is one exact bucket ratio and `histogram_quantile`
interpolates only between edges a few ms apart around them.

prometheus-fastapi-instrumentator does the middleware: `http_requests_total
{handler,method,status}` (status grouped as 2xx/4xx/5xx) and
`http_request_duration_seconds{handler,method}` with these buckets. The
handler label is the route template (`/features/{user_id}`), never the raw
path, so a user id never becomes a label value.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import FastAPI

__all__ = ["SLO_BUCKETS", "instrument"]

SLO_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.25, 0.3, 0.5, 1.0, 2.5)
"""Seconds. 0.05, 0.2 and 0.25 are the stories' thresholds; the rest bound the interpolation."""


def instrument(app: FastAPI) -> None:
    """Count and time every route of `app` and serve them at `/metrics`."""
    from prometheus_fastapi_instrumentator import Instrumentator

    Instrumentator(
        should_group_status_codes=True,
        excluded_handlers=["/metrics", "/healthz"],
    ).instrument(app, latency_lowr_buckets=SLO_BUCKETS).expose(app, include_in_schema=False)
