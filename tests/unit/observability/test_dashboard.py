"""Static dashboards from canned range queries: page content, alert shading, offline re-render.

No Prometheus: `httpx.MockTransport` answers from
`fixtures/stall_query_range.json`, a 5-minute stall demo keyed by the PromQL sent.
"""

from __future__ import annotations

import html
import json
import math
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import yaml

from starlab.errors import ConfigError, TransientError
from starlab.observability.dashboard import (
    NO_DATA,
    Dashboard,
    Panel,
    alerts_expr,
    apply_window,
    fetch,
    firing_intervals,
    load_json,
    off_scale,
    render,
    render_from_json,
)
from starlab.observability.query import PromClient, PrometheusUnavailable, Series, graph_url

FIXTURE = Path(__file__).parent / "fixtures" / "stall_query_range.json"
REPO = Path(__file__).resolve().parents[3]
PROM = "http://127.0.0.1:9190"
CANNED: dict[str, Any] = json.loads(FIXTURE.read_text())
START, END, STEP, WINDOW = CANNED["start"], CANNED["end"], CANNED["step"], CANNED["window"]
STALL_START, STALL_END = CANNED["stall"]["start"], CANNED["stall"]["end"]
BROKEN_PANEL = "Broken query"
EMPTY_PANEL = "Flink restarts"

DASHBOARD = Dashboard(
    slug="3-streaming",
    title="Stall demo <test>",
    panels=[
        Panel(
            "Freshness (s) & its SLO",
            [("freshness", "slo:stream_freshness_seconds")],
            unit="s",
            thresholds=[("demo SLO", 30)],
            alert_names=["FreshnessSLOBreach"],
        ),
        Panel(
            "Consumer lag",
            [("lag", "slo:consumer_lag_records")],
            unit="records",
            thresholds=[("ConsumerLagHigh", 5000)],
            alert_names=["ConsumerLagHigh"],
        ),
        Panel(
            "End-to-end p95",
            [
                (
                    "p95",
                    "histogram_quantile(0.95, sum by (le) "
                    "(rate(starlab_stream_end_to_end_latency_seconds_bucket[{window}])))",
                )
            ],
            unit="s",
            alert_names=["FreshnessSLOBreach"],
        ),
        Panel(
            "Throughput in/out",
            [
                (
                    "in",
                    'sum(rate(kafka_server_brokertopicmetrics_messagesin_total{topic="events"}[{window}]))',
                ),
                ("out", "sum(rate(starlab_stream_output_rows_total[{window}]))"),
            ],
            unit="per s",
        ),
        Panel("Breakers", [("open", "max by (dependency) (starlab_feature_breaker_open)")], unit="state"),
        Panel(EMPTY_PANEL, [("restarts", "flink_jobmanager_job_numRestarts")]),
        Panel(BROKEN_PANEL, [("out", "sum(rate(starlab_stream_output_rows_total[{window}])")]),
    ],
)


def canned_transport(calls: list[str] | None = None) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/api/v1/query_range"
        params = request.url.params
        assert (float(params["start"]), float(params["end"]), float(params["step"])) == (START, END, STEP)
        expr = params["query"]
        if calls is not None:
            calls.append(expr)
        canned = CANNED["responses"].get(expr)
        if canned is None:
            body = {"status": "success", "data": {"resultType": "matrix", "result": []}}
            return httpx.Response(200, json=body)
        return httpx.Response(canned["status_code"], json=canned["body"])

    return httpx.MockTransport(handler)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, list[str]]:
    """The canned stall rendered once (drawing takes a second or two); tests only read it."""
    tmp_path = tmp_path_factory.mktemp("dashboards")
    calls: list[str] = []
    board = DASHBOARD.with_markers([(STALL_START, "stall start"), (STALL_END, "stall end")])
    with PromClient(PROM, transport=canned_transport(calls)) as client:
        page = render(client, board, START, END, STEP, tmp_path, window=WINDOW)
    return page, tmp_path / "3-streaming.json", calls


def sections(page_html: str) -> dict[str, str]:
    """Panel title -> that panel's <section> HTML."""
    out = {}
    for chunk in page_html.split('<section class="panel"')[1:]:
        title = chunk.split("<h2>", 1)[1].split("</h2>", 1)[0]
        out[html.unescape(title)] = chunk.split("</section>", 1)[0]
    return out


class Resources(HTMLParser):
    """Every tag and every URL-bearing attribute of a page."""

    URL_ATTRS = frozenset({"src", "href", "srcset", "data", "poster", "action", "background", "formaction"})

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.urls: list[tuple[str, str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        for name, value in attrs:
            if name in self.URL_ATTRS and value is not None:
                self.urls.append((tag, name, value))


# --- the page -----------------------------------------------------------------------------


def test_page_has_every_title_query_and_graph_link(rendered: tuple[Path, Path, list[str]]) -> None:
    page, _, _ = rendered
    text = page.read_text()
    assert page.name == "3-streaming.html"
    assert f"<h1>{html.escape(DASHBOARD.title)}</h1>" in text
    parser = Resources()
    parser.feed(text)
    hrefs = {v for tag, name, v in parser.urls if tag == "a" and name == "href"}
    for panel in DASHBOARD.with_window(WINDOW).panels:
        assert f"<h2>{html.escape(panel.title)}</h2>" in text
        for _, expr in panel.exprs:
            assert "{window}" not in expr
            assert f"<pre>{html.escape(expr)}</pre>" in text
            assert graph_url(PROM, expr, END - START, END) in hrefs
    # the shading's own query is shown and one click away too
    for name in DASHBOARD.alert_names:
        assert f"<pre>{html.escape(alerts_expr(name))}</pre>" in text
        assert graph_url(PROM, alerts_expr(name), END - START, END) in hrefs


def test_every_query_is_canned(rendered: tuple[Path, Path, list[str]]) -> None:
    """Guards the fixture: a query it does not know would silently render as no data."""
    _, _, calls = rendered
    assert set(calls) <= set(CANNED["responses"])
    assert CANNED["responses"]["flink_jobmanager_job_numRestarts"]["body"]["data"]["result"] == []


def test_graph_links_open_the_classic_ui_on_the_runs_range(rendered: tuple[Path, Path, list[str]]) -> None:
    doc = json.loads(rendered[1].read_text())
    for q in (q for p in doc["panels"] for q in p["queries"]):
        url = urlsplit(q["graph_url"])
        assert f"{url.scheme}://{url.netloc}" == PROM
        assert url.path == "/classic/graph"
        params = parse_qs(url.query)
        assert params["g0.expr"] == [q["expr"]]
        assert params["g0.tab"] == ["0"]
        # end pinned to the minute after the range's end (UI takes minutes), range widened to cover start
        assert params["g0.end_input"] == ["2024-12-01 20:05"]
        assert params["g0.range_input"] == [f"{int(END - START)}s"]


def test_page_loads_nothing_from_the_network(rendered: tuple[Path, Path, list[str]]) -> None:
    text = rendered[0].read_text()
    parser = Resources()
    parser.feed(text)
    assert not {"script", "link", "iframe", "object", "embed"} & set(parser.tags)
    assert "url(" not in text and "@import" not in text
    imgs = [v for tag, name, v in parser.urls if tag == "img"]
    assert len(imgs) == len(DASHBOARD.panels)
    assert all(v.startswith("data:image/png;base64,") for v in imgs)
    remote = [(tag, name) for tag, name, v in parser.urls if v.startswith(("http://", "https://", "//"))]
    assert remote and all(r == ("a", "href") for r in remote)


def test_empty_result_says_no_data_and_broken_query_says_why(rendered: tuple[Path, Path, list[str]]) -> None:
    by_title = sections(rendered[0].read_text())
    assert NO_DATA in by_title[EMPTY_PANEL]
    assert [t for t, s in by_title.items() if NO_DATA in s] == [EMPTY_PANEL]
    assert "query failed" in by_title[BROKEN_PANEL]
    assert "unclosed left parenthesis" in by_title[BROKEN_PANEL]
    # the broken panel did not stop the others
    assert "<img" in by_title["Breakers"]


def test_firing_alerts_are_shaded_from_alerts_series(rendered: tuple[Path, Path, list[str]]) -> None:
    page, json_path, calls = rendered
    doc = json.loads(json_path.read_text())
    alerts = {a["name"]: a for a in doc["alerts"]}
    assert alerts["FreshnessSLOBreach"]["firing_intervals"] == [[START + 110, START + 165]]
    # two label sets: [120, 160] and [150, 170] merge, [230, 235] stays apart
    assert alerts["ConsumerLagHigh"]["firing_intervals"] == [
        [START + 120, START + 170],
        [START + 230, START + 235],
    ]
    # one ALERTS query per alert, though FreshnessSLOBreach shades two panels
    assert sum(c.startswith("ALERTS{") for c in calls) == 2
    by_title = sections(page.read_text())
    for title in ("Freshness (s) & its SLO", "End-to-end p95"):
        assert "FreshnessSLOBreach firing (shaded): 20:01:50 to 20:02:45 UTC (60 s)" in by_title[title]
    assert "ConsumerLagHigh firing (shaded)" in by_title["Consumer lag"]
    assert "did not fire" not in page.read_text()
    assert "stall start" in page.read_text()


def test_json_keeps_queries_and_series_without_bare_nan(rendered: tuple[Path, Path, list[str]]) -> None:
    def refuse(name: str) -> None:
        raise AssertionError(f"bare {name} in JSON")

    doc = json.loads(rendered[1].read_text(), parse_constant=refuse)
    assert (doc["start"], doc["end"], doc["step"], doc["window"]) == (START, END, STEP, WINDOW)
    assert [m["label"] for m in doc["markers"]] == ["stall start", "stall end"]
    p95 = doc["panels"][2]["queries"][0]
    values = [v for _, v in p95["series"][0]["values"]]
    assert "NaN" in values and "+Inf" in values
    assert "(1 infinite points not drawn)" in sections(rendered[0].read_text())["End-to-end p95"]
    assert doc["panels"][5]["queries"][0]["series"] == []
    assert doc["panels"][6]["queries"][0]["error"].startswith("Prometheus bad_data")


def test_render_from_json_redraws_the_same_page(
    rendered: tuple[Path, Path, list[str]], tmp_path: Path
) -> None:
    page, json_path, _ = rendered
    again = render_from_json(json_path, tmp_path / "offline")
    assert again == tmp_path / "offline" / "3-streaming.html"
    assert again.read_text() == page.read_text()


def test_load_json_recomputes_intervals_instead_of_trusting_them(
    rendered: tuple[Path, Path, list[str]], tmp_path: Path
) -> None:
    doc = json.loads(rendered[1].read_text())
    for a in doc["alerts"]:
        a["firing_intervals"] = [[0, 1]]
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps(doc))
    data = load_json(tampered)
    assert data.alerts["FreshnessSLOBreach"].intervals == [(START + 110, START + 165)]


def test_nan_and_inf_points_are_parsed(rendered: tuple[Path, Path, list[str]]) -> None:
    data = load_json(rendered[1])
    p95 = [v for _, v in data.results[2][0].series[0].values]
    assert any(math.isnan(v) for v in p95)
    assert math.inf in p95


def test_unreachable_prometheus_raises_transient(tmp_path: Path) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)

    with (
        PromClient(PROM, transport=httpx.MockTransport(refuse)) as client,
        pytest.raises(PrometheusUnavailable) as err,
    ):
        render(client, DASHBOARD, START, END, STEP, tmp_path, window=WINDOW)
    assert isinstance(err.value, TransientError)
    assert not list(tmp_path.iterdir())


def test_bad_range_is_refused_before_querying() -> None:
    with PromClient(PROM, transport=canned_transport()) as client:
        with pytest.raises(ConfigError, match="empty"):
            fetch(client, DASHBOARD, END, START, STEP)
        with pytest.raises(ConfigError, match="11000 points"):
            fetch(client, DASHBOARD, 0, 86_400, 1)


# --- firing_intervals -----------------------------------------------------------------------


def alerts(*times: float) -> Series:
    return Series({"alertname": "X", "alertstate": "firing"}, [(t, 1.0) for t in times])


@pytest.mark.parametrize(
    ("series", "expected"),
    [
        ([], []),
        ([alerts()], []),
        ([alerts(100)], [(100, 100)]),
        ([alerts(100, 105, 110)], [(100, 110)]),
        # one missing point (115) splits
        ([alerts(100, 105, 110, 120, 125)], [(100, 110), (120, 125)]),
        # Prometheus rounds times to the millisecond: still consecutive
        ([alerts(100.0, 105.001, 109.999)], [(100.0, 109.999)]),
        # label sets overlap or touch: one band; apart: two
        ([alerts(100, 105), alerts(105, 110, 115)], [(100, 115)]),
        ([alerts(100, 105), alerts(110)], [(100, 110)]),
        ([alerts(130), alerts(100, 105)], [(100, 105), (130, 130)]),
    ],
)
def test_firing_intervals(series: list[Series], expected: list[tuple[float, float]]) -> None:
    assert firing_intervals(series, 5.0) == expected


def test_firing_intervals_ignores_nan_and_zero_and_takes_one_series() -> None:
    s = Series({}, [(100, 1.0), (105, math.nan), (110, 0.0), (115, 1.0)])
    assert firing_intervals(s, 5.0) == [(100, 100), (115, 115)]
    with pytest.raises(ConfigError):
        firing_intervals(s, 0)


# --- model ----------------------------------------------------------------------------------


def test_window_replaces_only_its_field() -> None:
    expr = 'sum(rate(x{job="a"}[{window}])) / sum(rate(y[{window}]))'
    assert apply_window(expr, "15s") == 'sum(rate(x{job="a"}[15s])) / sum(rate(y[15s]))'
    assert apply_window(expr, "1h30m") == 'sum(rate(x{job="a"}[1h30m])) / sum(rate(y[1h30m]))'
    for bad in ("", "15", "1 m", "15s]) or vector(1", "{window}"):
        with pytest.raises(ConfigError):
            apply_window(expr, bad)
    resolved = DASHBOARD.with_window("30s")
    assert "[30s]" in resolved.panels[3].exprs[0][1]
    assert "[{window}]" in DASHBOARD.panels[3].exprs[0][1]  # the original is unchanged


def test_model_validates_and_freezes() -> None:
    with pytest.raises(ConfigError):
        Panel("empty", [])
    with pytest.raises(ConfigError):
        Panel("p", [("a", "up")], alert_names=['X"} or vector(1) #'])
    with pytest.raises(ConfigError):
        Dashboard(slug="../x", title="t", panels=[])
    p = Panel("p", [["a", "up"]], thresholds=[["t", 1]])  # type: ignore[list-item]
    assert p.exprs == (("a", "up"),) and p.thresholds == (("t", 1.0),)
    d = DASHBOARD.with_markers([(200.0, "b"), (100.0, "a")])
    assert d.markers == ((100.0, "a"), (200.0, "b"))
    assert DASHBOARD.alert_names == ("FreshnessSLOBreach", "ConsumerLagHigh")


# --- the stories' dashboards ------------------------------------------------------------------


def story_dashboards() -> list[Dashboard]:
    from feature_cache.dashboard import DASHBOARD as features
    from rankings.dashboard import DASHBOARD as rankings
    from streaming.dashboard import DASHBOARD as streaming

    return [streaming, features, rankings]


@pytest.mark.parametrize("board", story_dashboards(), ids=lambda d: d.slug)
def test_story_dashboards_render_with_no_data(board: Dashboard, tmp_path: Path) -> None:
    def empty(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"status": "success", "data": {"resultType": "matrix", "result": []}})

    with PromClient(PROM, transport=httpx.MockTransport(empty)) as client:
        page = render(client, board, START, END, STEP, tmp_path, window="15s")
    by_title = sections(page.read_text())
    assert list(by_title) == [p.title for p in board.panels]
    assert all(NO_DATA in s for s in by_title.values())
    for p in board.with_window("15s").panels:
        for _, expr in p.exprs:
            assert "{window}" not in expr
            for opening, closing in ("()", "[]", "{}"):
                assert expr.count(opening) == expr.count(closing), expr


@pytest.mark.parametrize("board", story_dashboards(), ids=lambda d: d.slug)
def test_story_dashboards_shade_alerts_their_slo_file_defines(board: Dashboard) -> None:
    package = {"3-streaming": "streaming", "4-feature-store": "feature_cache", "2-rankings": "rankings"}
    slo = yaml.safe_load((REPO / package[board.slug] / "slo.yaml").read_text())
    defined = {rule["name"] for rule in slo.get("thresholds", [])}
    assert board.alert_names, "a story dashboard should shade at least one alert"
    assert set(board.alert_names) <= defined


@pytest.mark.skipif(
    shutil.which("promtool") is None, reason="promtool not installed (apt-get install prometheus)"
)
def test_story_promql_parses(tmp_path: Path) -> None:
    """promtool parses every query (the canned tests cannot catch a typo in a story's PromQL)."""
    exprs = [e for b in story_dashboards() for p in b.with_window("15s").panels for _, e in p.exprs]
    exprs += [alerts_expr(n) for b in story_dashboards() for n in b.alert_names]
    rules = [{"record": f"dashboard:check_{i}", "expr": e} for i, e in enumerate(exprs)]
    path = tmp_path / "dashboard-queries.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    result = subprocess.run(
        ["promtool", "check", "rules", str(path)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_streaming_dashboard_shades_the_slo_alerts() -> None:
    streaming = story_dashboards()[0]
    assert {"FreshnessSLOBreach", "ConsumerLagHigh"} <= set(streaming.alert_names)
    thresholds = {t for p in streaming.panels for t in p.thresholds}
    assert ("freshness SLO", 300.0) in thresholds
    assert ("ConsumerLagHigh", 100_000.0) in thresholds


def test_a_runs_dashboard_watches_that_run_only_and_draws_its_alert_threshold() -> None:
    from streaming.dashboard import for_run

    d = for_run("ab12", "starlab-flink-ab12", alert_threshold_s=20)
    exprs = [e for p in d.panels for _, e in p.exprs]
    assert 'slo:stream_freshness_seconds{run="ab12"}' in exprs
    assert 'slo:consumer_lag_records{group="starlab-flink-ab12"}' in exprs
    assert any('starlab_stream_end_to_end_latency_seconds_bucket{run="ab12"}[' in e for e in exprs)
    (fresh,) = [p for p in d.panels if "FreshnessSLOBreach" in p.alert_names]
    assert fresh.thresholds[0] == ("this run's alert", 20.0)
    assert ("freshness SLO", 300.0) in fresh.thresholds


@pytest.mark.parametrize(
    ("threshold", "peak", "named_only"),
    [
        (300.0, 22.0, True),  # the production SLO beside a demo run's freshness: legend only
        (20.0, 22.0, False),  # the run's own threshold is drawn
        (80.0, 22.0, False),  # within 4x of the data: drawn
        (300.0, None, False),  # no data: the threshold is all there is to show
        (300.0, 0.0, False),
    ],
)
def test_a_threshold_far_above_the_data_is_named_not_drawn(
    threshold: float, peak: float | None, named_only: bool
) -> None:
    assert off_scale(threshold, peak) is named_only
