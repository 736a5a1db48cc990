"""PromClient: parsing Prometheus' answers and telling terminal from transient failures.

`httpx.MockTransport` answers as Prometheus 2.42 does; the integration tests
use the real Prometheus. One test connects to a closed local port for a real
"connection refused".
"""

from __future__ import annotations

import math
import socket
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from starlab.errors import StarlabError, TransientError
from starlab.observability.query import (
    PromClient,
    PrometheusError,
    PrometheusUnavailable,
    Sample,
    Series,
    graph_url,
)

PROM = "http://127.0.0.1:9190"


def client_answering(status: int, body: Any, seen: list[httpx.Request] | None = None) -> PromClient:
    def handler(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        if isinstance(body, str):
            return httpx.Response(status, text=body)
        return httpx.Response(status, json=body)

    return PromClient(PROM, timeout=2.0, transport=httpx.MockTransport(handler))


def success(data: Any) -> dict[str, Any]:
    return {"status": "success", "data": data}


# --- queries ----------------------------------------------------------------------------------


def test_query_range_parses_labels_values_nan_and_inf() -> None:
    seen: list[httpx.Request] = []
    data = {
        "resultType": "matrix",
        "result": [
            {
                "metric": {"__name__": "slo:stream_freshness_seconds", "job": "stream"},
                "values": [
                    [1733083200, "3.5"],
                    [1733083205.5, "NaN"],
                    [1733083211, "+Inf"],
                    [1733083216, "-Inf"],
                ],
            },
            {"metric": {}, "values": [[1733083200, "1e+05"]]},
        ],
    }
    with client_answering(200, success(data), seen) as client:
        series = client.query_range("slo:stream_freshness_seconds", 1733083200, 1733083500, 5)
    first, second = series
    assert first.name == "slo:stream_freshness_seconds"
    assert first.labels == {"__name__": "slo:stream_freshness_seconds", "job": "stream"}
    assert first.values[0] == (1733083200.0, 3.5)
    assert math.isnan(first.values[1][1])
    assert first.values[2][1] == math.inf and first.values[3][1] == -math.inf
    assert second == Series({}, [(1733083200.0, 100000.0)])
    (request,) = seen
    assert request.url.path == "/api/v1/query_range"
    params = request.url.params
    assert params["query"] == "slo:stream_freshness_seconds"
    assert (float(params["start"]), float(params["end"]), float(params["step"])) == (
        1733083200,
        1733083500,
        5,
    )


def test_query_range_takes_aware_datetimes_and_refuses_naive_ones() -> None:
    seen: list[httpx.Request] = []
    start = datetime(2024, 12, 1, 20, 0, tzinfo=UTC)
    with client_answering(200, success({"resultType": "matrix", "result": []}), seen) as client:
        assert client.query_range("up", start, start + timedelta(minutes=5), 1) == []
        with pytest.raises(PrometheusError, match="naive"):
            client.query_range("up", datetime(2024, 12, 1), datetime(2024, 12, 2), 60)
        with pytest.raises(PrometheusError, match="step"):
            client.query_range("up", 0, 10, 0)
    assert float(seen[0].url.params["start"]) == 1733083200.0


def test_query_parses_vector_and_scalar() -> None:
    vector = {
        "resultType": "vector",
        "result": [
            {
                "metric": {"__name__": "up", "job": "redis", "instance": "127.0.0.1:9122"},
                "value": [1733083200.1, "1"],
            },
            {
                "metric": {"__name__": "up", "job": "kafka-jmx", "instance": "127.0.0.1:9404"},
                "value": [1733083200.1, "0"],
            },
        ],
    }
    seen: list[httpx.Request] = []
    with client_answering(200, success(vector), seen) as client:
        samples = client.query("up", at=1733083200.1)
    assert [(s.labels["job"], s.v) for s in samples] == [("redis", 1.0), ("kafka-jmx", 0.0)]
    assert samples[0].name == "up" and samples[0].t == 1733083200.1
    assert float(seen[0].url.params["time"]) == 1733083200.1
    with client_answering(200, success({"resultType": "scalar", "result": [1733083200, "42"]})) as client:
        assert client.query("scalar(42)") == [Sample({}, 1733083200.0, 42.0)]


def test_query_of_a_range_selector_is_a_terminal_error() -> None:
    matrix = {"resultType": "matrix", "result": [{"metric": {}, "values": [[1, "1"]]}]}
    with (
        client_answering(200, success(matrix)) as client,
        pytest.raises(PrometheusError, match="rate") as err,
    ):
        client.query("up[5m]")
    assert not isinstance(err.value, TransientError)


def test_malformed_answer_is_a_terminal_error() -> None:
    malformed = success({"resultType": "matrix", "result": [{"values": []}]})  # no "metric"
    with client_answering(200, malformed) as client, pytest.raises(PrometheusError, match="malformed") as err:
        client.query_range("up", 0, 10, 1)
    assert not isinstance(err.value, TransientError)


# --- errors -----------------------------------------------------------------------------------


def test_promql_error_is_terminal_with_prometheus_message() -> None:
    body = {
        "status": "error",
        "errorType": "bad_data",
        "error": 'invalid parameter "query": 1:11: parse error: unclosed left parenthesis',
    }
    with client_answering(400, body) as client, pytest.raises(PrometheusError) as err:
        client.query_range("sum(rate(x", 0, 10, 1)
    assert isinstance(err.value, StarlabError)
    assert not isinstance(err.value, TransientError)
    assert "unclosed left parenthesis" in str(err.value)
    assert "sum(rate(x" in str(err.value)


def test_execution_error_is_terminal() -> None:
    body = {
        "status": "error",
        "errorType": "execution",
        "error": "found duplicate series for the match group",
    }
    with client_answering(422, body) as client, pytest.raises(PrometheusError) as err:
        client.query("a / on() b")
    assert not isinstance(err.value, PrometheusUnavailable)


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (
            503,
            {"status": "error", "errorType": "timeout", "error": "query timed out in expression evaluation"},
        ),
        (503, {"status": "error", "errorType": "unavailable", "error": "TSDB not ready"}),
        (503, "Service Unavailable"),  # every endpoint while the TSDB is still loading
        (502, "Bad Gateway"),
    ],
)
def test_server_side_failures_are_transient(status: int, body: Any) -> None:
    with client_answering(status, body) as client, pytest.raises(PrometheusUnavailable) as err:
        client.query("up")
    assert isinstance(err.value, TransientError) and isinstance(err.value, PrometheusError)


def test_unexpected_answer_is_terminal() -> None:
    with client_answering(404, "404 page not found") as client, pytest.raises(PrometheusError) as err:
        client.query("up")
    assert not isinstance(err.value, TransientError)
    assert "404" in str(err.value)


@pytest.mark.parametrize(
    "exc", [httpx.ConnectError("[Errno 111] Connection refused"), httpx.ReadTimeout("timed out")]
)
def test_transport_failures_are_transient(exc: httpx.TransportError) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc

    with PromClient(PROM, transport=httpx.MockTransport(handler)) as client:
        with pytest.raises(PrometheusUnavailable, match="unreachable") as err:
            client.query("up")
        assert isinstance(err.value, TransientError)
        assert client.ready() is False


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_connection_refused_is_transient() -> None:
    with PromClient(f"http://127.0.0.1:{closed_port()}", timeout=2.0) as client:
        with pytest.raises(PrometheusUnavailable) as err:
            client.query_range("up", 0, 10, 1)
        assert isinstance(err.value, TransientError)
        assert client.ready() is False


# --- alerts, targets, ready -----------------------------------------------------------------


def test_alerts_parses_state_time_and_value() -> None:
    data = {
        "alerts": [
            {
                "labels": {"alertname": "FreshnessSLOBreach", "severity": "page", "slo": "freshness"},
                "annotations": {"runbook_url": "docs/runbooks/freshness-slo-breach.md"},
                "state": "firing",
                "activeAt": "2024-12-01T20:01:41.123456789Z",
                "value": "4.1e+01",
            },
            {
                "labels": {"alertname": "ConsumerLagHigh", "group": "starlab-stream"},
                "annotations": {},
                "state": "pending",
                "activeAt": "2024-12-01T20:02:00Z",
                "value": "1.2e+05",
            },
        ]
    }
    with client_answering(200, success(data)) as client:
        firing, pending = client.alerts()
    assert (firing.name, firing.state, firing.value) == ("FreshnessSLOBreach", "firing", 41.0)
    assert firing.active_at == datetime(2024, 12, 1, 20, 1, 41, 123456, tzinfo=UTC)
    assert firing.annotations["runbook_url"].endswith(".md")
    assert firing.labels["severity"] == "page"
    assert (pending.name, pending.state, pending.value) == ("ConsumerLagHigh", "pending", 120000.0)


def test_targets_parses_health_and_last_error() -> None:
    seen: list[httpx.Request] = []
    data = {
        "activeTargets": [
            {
                "discoveredLabels": {"__address__": "127.0.0.1:9122", "job": "redis"},
                "labels": {"instance": "127.0.0.1:9122", "job": "redis"},
                "scrapePool": "redis",
                "scrapeUrl": "http://127.0.0.1:9122/metrics",
                "globalUrl": "http://host:9122/metrics",
                "lastError": "",
                "lastScrape": "2024-12-01T20:00:01.5Z",
                "lastScrapeDuration": 0.004,
                "health": "up",
            },
            {
                "discoveredLabels": {"__address__": "127.0.0.1:9404", "job": "kafka-jmx"},
                "labels": {"instance": "127.0.0.1:9404", "job": "kafka-jmx"},
                "scrapePool": "kafka-jmx",
                "scrapeUrl": "http://127.0.0.1:9404/metrics",
                "lastError": (
                    'Get "http://127.0.0.1:9404/metrics": '
                    "dial tcp 127.0.0.1:9404: connect: connection refused"
                ),
                "lastScrape": "0001-01-01T00:00:00Z",
                "health": "unknown",
            },
        ],
        "droppedTargets": [],
    }
    with client_answering(200, success(data), seen) as client:
        redis, kafka = client.targets()
    assert seen[0].url.path == "/api/v1/targets"
    assert (redis.job, redis.instance, redis.health, redis.last_error) == (
        "redis",
        "127.0.0.1:9122",
        "up",
        "",
    )
    assert redis.scrape_url == "http://127.0.0.1:9122/metrics"
    assert redis.last_scrape == datetime(2024, 12, 1, 20, 0, 1, 500000, tzinfo=UTC)
    assert (kafka.job, kafka.health) == ("kafka-jmx", "unknown")
    assert "connection refused" in kafka.last_error
    assert kafka.last_scrape is None  # Go's zero time: never scraped


@pytest.mark.parametrize(("status", "ready"), [(200, True), (503, False)])
def test_ready(status: int, ready: bool) -> None:
    seen: list[httpx.Request] = []
    with client_answering(status, "Prometheus Server is Ready.\n", seen) as client:
        assert client.ready() is ready
    assert seen[0].url.path == "/-/ready"


# --- graph_url --------------------------------------------------------------------------------


def test_graph_url_is_the_classic_ui_link() -> None:
    expr = 'sum(rate(http_requests_total{job="feature-api", status="5xx"}[15s])) / 2 + 1'
    url = graph_url(PROM + "/", expr, 300)
    assert url == (
        "http://127.0.0.1:9190/classic/graph?g0.expr="
        "sum%28rate%28http_requests_total%7Bjob%3D%22feature-api%22%2C%20status%3D%225xx%22%7D%5B15s%5D%29%29"
        "%20%2F%202%20%2B%201&g0.tab=0&g0.range_input=300s"
    )
    # the UI decodes "+" as a space, so a literal plus must arrive encoded
    assert parse_qs(urlsplit(url).query)["g0.expr"] == [expr]


def test_graph_url_pins_a_past_range_to_the_minute() -> None:
    end = datetime(2024, 12, 1, 20, 4, 40, tzinfo=UTC)
    params = parse_qs(urlsplit(graph_url(PROM, "up", 299.5, end)).query)
    # the UI's end is to the minute: 20:05, 20 s later, so the range grows by 20 s to still cover the start
    assert params["g0.end_input"] == ["2024-12-01 20:05"]
    assert params["g0.range_input"] == ["320s"]
