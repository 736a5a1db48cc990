"""A small typed client over Prometheus' HTTP API: instant and range queries, alerts, targets.

Backs the stories' "show the metric" answers: the static dashboards
(`starlab.observability.dashboard`) and the scrape-health and alert tests read
Prometheus through this one client, so a failure means the same thing
everywhere. `PrometheusUnavailable` is transient (connection refused, a
timeout, 503 while Prometheus is still starting): retry it. `PrometheusError`
is terminal (bad PromQL, an unknown parameter): it carries Prometheus' own
message, and retrying would give the same answer.

`graph_url` builds the classic-UI link that the dashboards put under every
panel: Debian's Prometheus 2.42 serves the classic UI at `/classic/graph`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import TracebackType
from typing import Any
from urllib.parse import quote

import httpx

from starlab.errors import StarlabError, TransientError

__all__ = [
    "Alert",
    "PromClient",
    "PrometheusError",
    "PrometheusUnavailable",
    "Sample",
    "Series",
    "Target",
    "Timestamp",
    "graph_url",
    "unix_seconds",
]

Timestamp = float | datetime
"""Unix seconds, or a timezone-aware datetime."""

# Prometheus' errorType values that say "the server, not the query, is the problem".
_TRANSIENT_ERROR_TYPES = frozenset({"timeout", "canceled", "unavailable"})
# 503 is what every API endpoint answers until the TSDB has loaded; 502/504 come from a proxy.
_TRANSIENT_STATUS = frozenset({502, 503, 504})
# Go's zero time: Prometheus reports it for "never" (a target not scraped yet, an alert never active).
_GO_ZERO_YEAR = 1


class PrometheusError(StarlabError):
    """Prometheus refused or could not answer a request; terminal unless a `PrometheusUnavailable`."""


class PrometheusUnavailable(PrometheusError, TransientError):
    """Prometheus is not reachable or not ready yet (connection refused, timeout, 503): retry."""


@dataclass(frozen=True, slots=True)
class Sample:
    """One point of an instant query: the series' labels and its value `v` at time `t` (unix s)."""

    labels: dict[str, str]
    t: float
    v: float

    @property
    def name(self) -> str:
        """The metric name (`__name__`), empty for an expression's result."""
        return self.labels.get("__name__", "")


@dataclass(frozen=True, slots=True)
class Series:
    """One series of a range query: labels and (t unix s, v) points; v may be NaN or +-inf."""

    labels: dict[str, str]
    values: list[tuple[float, float]] = field(default_factory=list)

    @property
    def name(self) -> str:
        """The metric name (`__name__`), empty for an expression's result."""
        return self.labels.get("__name__", "")


@dataclass(frozen=True, slots=True)
class Alert:
    """An alerting rule's active alert (`/api/v1/alerts`): pending or firing."""

    name: str
    labels: dict[str, str]
    state: str
    """"pending" (its `for` has not elapsed yet) or "firing"."""
    active_at: datetime | None
    value: float
    """The value of the rule's expression at its last evaluation."""
    annotations: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Target:
    """One active scrape target (`/api/v1/targets`)."""

    job: str
    instance: str
    scrape_url: str
    health: str
    """"up", "down" or "unknown" (not scraped yet)."""
    last_error: str
    last_scrape: datetime | None
    labels: dict[str, str] = field(default_factory=dict)


def unix_seconds(t: Timestamp) -> float:
    """Unix seconds from a float or an aware datetime; a naive datetime is refused (which zone?)."""
    if isinstance(t, datetime):
        if t.tzinfo is None:
            raise PrometheusError(f"naive datetime {t.isoformat()}: give a timezone (UTC) or unix seconds")
        return t.timestamp()
    return float(t)


def _time(text: object) -> datetime | None:
    """Prometheus' RFC 3339 time (nanoseconds allowed) as an aware datetime; None for Go's zero time."""
    if not isinstance(text, str) or not text:
        return None
    parsed = datetime.fromisoformat(text)
    return None if parsed.year == _GO_ZERO_YEAR else parsed.astimezone(UTC)


def _labels(raw: object) -> dict[str, str]:
    if not isinstance(raw, dict):
        raise TypeError(f"labels must be an object, got {type(raw).__name__}")
    return {str(k): str(v) for k, v in raw.items()}


def _point(raw: Any) -> tuple[float, float]:
    # Values arrive as strings so that "NaN", "+Inf" and "-Inf" survive JSON; float() reads all three.
    t, v = raw
    return float(t), float(v)


class PromClient:
    """Prometheus' HTTP API over httpx; one connection pool, closed by `close()` or `with`.

    `transport` lets a unit test answer with `httpx.MockTransport`.
    """

    def __init__(
        self,
        base_url: str,
        timeout: float = 10.0,
        *,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout, transport=transport)

    def __enter__(self) -> PromClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # --- transport ---------------------------------------------------------------

    def _get(self, path: str, params: dict[str, str] | None = None) -> Any:
        """GET an `/api/v1/...` endpoint and return its `data`, or raise the right error kind."""
        what = f"{path} {params['query']!r}" if params and "query" in params else path
        try:
            resp = self._http.get(path, params=params)
        except httpx.TransportError as exc:
            raise PrometheusUnavailable(
                f"Prometheus at {self.base_url} unreachable ({type(exc).__name__}: {exc}); "
                "is the stack up (`starlab status`)?"
            ) from exc
        try:
            body = resp.json()
        except ValueError:
            body = None
        if isinstance(body, dict) and body.get("status") == "error":
            kind = str(body.get("errorType", ""))
            message = f"Prometheus {kind or 'error'} for {what}: {body.get('error', '')}"
            if kind in _TRANSIENT_ERROR_TYPES or resp.status_code in _TRANSIENT_STATUS:
                raise PrometheusUnavailable(message)
            raise PrometheusError(message)
        if resp.status_code in _TRANSIENT_STATUS:
            raise PrometheusUnavailable(
                f"Prometheus at {self.base_url} answered HTTP {resp.status_code} for {what}: "
                f"{resp.text.strip()[:200]}"
            )
        if resp.status_code != 200 or not isinstance(body, dict) or body.get("status") != "success":
            raise PrometheusError(
                f"unexpected answer from Prometheus for {what}: HTTP {resp.status_code} "
                f"{resp.text.strip()[:200]}"
            )
        return body.get("data")

    # --- queries -------------------------------------------------------------------

    def query(self, expr: str, at: Timestamp | None = None) -> list[Sample]:
        """Evaluate `expr` at `at` (default: now); a scalar result is one sample with no labels."""
        params = {"query": expr}
        if at is not None:
            params["time"] = repr(unix_seconds(at))
        data = self._get("/api/v1/query", params)
        try:
            kind = data["resultType"]
            result = data["result"]
            if kind == "vector":
                samples = []
                for item in result:
                    t, v = _point(item["value"])
                    samples.append(Sample(_labels(item["metric"]), t, v))
                return samples
            if kind == "scalar":
                t, v = _point(result)
                return [Sample({}, t, v)]
        except (KeyError, TypeError, ValueError) as exc:
            raise PrometheusError(f"malformed answer from Prometheus for {expr!r}: {exc!r}") from exc
        raise PrometheusError(
            f"{expr!r} returns a {kind}, not an instant vector or scalar "
            "(a range selector needs a function such as rate(), or use query_range)"
        )

    def query_range(self, expr: str, start: Timestamp, end: Timestamp, step: float) -> list[Series]:
        """Evaluate `expr` every `step` seconds from `start` to `end` (both inclusive)."""
        if step <= 0 or not math.isfinite(step):
            raise PrometheusError(f"step must be a positive number of seconds, got {step}")
        params = {
            "query": expr,
            "start": repr(unix_seconds(start)),
            "end": repr(unix_seconds(end)),
            "step": repr(float(step)),
        }
        data = self._get("/api/v1/query_range", params)
        try:
            if data["resultType"] != "matrix":
                raise ValueError(f"resultType {data['resultType']!r}, expected matrix")
            return [
                Series(_labels(item["metric"]), [_point(p) for p in item.get("values") or ()])
                for item in data["result"]
            ]
        except (KeyError, TypeError, ValueError) as exc:
            raise PrometheusError(f"malformed answer from Prometheus for {expr!r}: {exc!r}") from exc

    # --- state -----------------------------------------------------------------------

    def alerts(self) -> list[Alert]:
        """Every pending or firing alert Prometheus holds now."""
        data = self._get("/api/v1/alerts")
        try:
            alerts = []
            for item in data["alerts"]:
                labels = _labels(item["labels"])
                alerts.append(
                    Alert(
                        name=labels.get("alertname", ""),
                        labels=labels,
                        state=str(item["state"]),
                        active_at=_time(item.get("activeAt")),
                        value=float(item.get("value", "NaN")),
                        annotations=_labels(item.get("annotations") or {}),
                    )
                )
            return alerts
        except (KeyError, TypeError, ValueError) as exc:
            raise PrometheusError(f"malformed answer from Prometheus for /api/v1/alerts: {exc!r}") from exc

    def targets(self) -> list[Target]:
        """Every active scrape target with its health and last scrape error."""
        data = self._get("/api/v1/targets", {"state": "active"})
        try:
            targets = []
            for item in data["activeTargets"]:
                labels = _labels(item.get("labels") or {})
                targets.append(
                    Target(
                        job=labels.get("job", str(item.get("scrapePool", ""))),
                        instance=labels.get("instance", ""),
                        scrape_url=str(item.get("scrapeUrl", "")),
                        health=str(item["health"]),
                        last_error=str(item.get("lastError", "")),
                        last_scrape=_time(item.get("lastScrape")),
                        labels=labels,
                    )
                )
            return targets
        except (KeyError, TypeError, ValueError) as exc:
            raise PrometheusError(f"malformed answer from Prometheus for /api/v1/targets: {exc!r}") from exc

    def ready(self) -> bool:
        """True once Prometheus serves queries (`/-/ready` answers 200); False if down or starting."""
        try:
            return self._http.get("/-/ready").status_code == 200
        except httpx.TransportError:
            return False


def _minute_ceiling(t: float) -> datetime:
    return datetime.fromtimestamp(math.ceil(t / 60) * 60, UTC)


def graph_url(base_url: str, expr: str, range_s: float, end: Timestamp | None = None) -> str:
    """The classic UI's graph page for `expr` over the last `range_s` seconds (or up to `end`).

    `end` pins the graph to a past run: the UI takes its end to the minute
    (UTC), so it is rounded up and the range widened to still cover
    `end - range_s`.
    """
    seconds = max(1, math.ceil(range_s))
    params = [("g0.expr", expr), ("g0.tab", "0")]
    if end is None:
        params.append(("g0.range_input", f"{seconds}s"))
    else:
        end_unix = unix_seconds(end)
        pinned = _minute_ceiling(end_unix)
        widened = seconds + math.ceil(pinned.timestamp() - end_unix)
        params += [("g0.range_input", f"{widened}s"), ("g0.end_input", pinned.strftime("%Y-%m-%d %H:%M"))]
    # The UI splits on "=" and "&" before decoding, so both must be escaped: quote everything.
    query = "&".join(f"{k}={quote(v, safe='')}" for k, v in params)
    return f"{base_url.rstrip('/')}/classic/graph?{query}"
