"""The serving toolkit without processes: the load spec, digests, HDR recording, the constant twin."""

from __future__ import annotations

from typing import Annotated

import pytest
from fastapi import FastAPI, Query
from fastapi.testclient import TestClient
from pydantic import ValidationError

from starlab.metrics import LatencySummary
from starlab.metrics.errors import MetricError
from starlab.serving.baseline import add_constant_twin
from starlab.serving.histogram import LatencyRecorder
from starlab.serving.load import LoadSpec, json_digest
from starlab.serving.process import ServingError


def test_a_spec_is_either_closed_or_open_loop() -> None:
    LoadSpec(base_url="http://x", paths=["/a"], requests=10)
    LoadSpec(base_url="http://x", paths=["/a"], rate_per_s=100, duration_s=2)
    with pytest.raises(ValidationError, match="either requests"):
        LoadSpec(base_url="http://x", paths=["/a"])
    with pytest.raises(ValidationError, match="either requests"):
        LoadSpec(base_url="http://x", paths=["/a"], requests=10, rate_per_s=5, duration_s=1)
    with pytest.raises(ValidationError, match="needs both"):
        LoadSpec(base_url="http://x", paths=["/a"], rate_per_s=5)
    with pytest.raises(ValidationError, match="2 weights for 1 paths"):
        LoadSpec(base_url="http://x", paths=["/a"], requests=1, weights=[1, 2])


def test_open_loop_total_is_rate_times_duration() -> None:
    assert LoadSpec(base_url="http://x", paths=["/a"], rate_per_s=250, duration_s=4).total == 1_000


def test_digest_ignores_key_order_and_spacing_but_not_values() -> None:
    assert json_digest({"a": 1, "b": [1, 2]}) == json_digest({"b": [1, 2], "a": 1})
    assert json_digest({"a": 1}) != json_digest({"a": 2})
    assert json_digest([{"x": 0.1}]) != json_digest([{"x": 0.10000001}])


def test_hdr_summary_is_within_its_precision_of_the_exact_one() -> None:
    samples_ms = [0.05 * (i % 997) + 0.01 * i for i in range(20_000)]
    rec = LatencyRecorder()
    for ms in samples_ms:
        rec.record_ms(ms)
    hdr, exact = rec.summary(), LatencySummary.from_samples(samples_ms)
    assert hdr.count == exact.count == 20_000 and hdr.method == "hdr"
    for q in ("p50", "p95", "p99"):
        # 3 significant digits, plus 1 us of recording resolution
        assert getattr(hdr, q) == pytest.approx(getattr(exact, q), rel=2e-3, abs=2e-3)


def test_hdr_histograms_merge_exactly_and_survive_encoding() -> None:
    a, b = LatencyRecorder(), LatencyRecorder()
    for ms in range(1, 101):
        a.record_ms(ms)
        b.record_ms(ms + 100)
    merged = LatencyRecorder.decode(a.encode())
    merged.merge(LatencyRecorder.decode(b.encode()))
    assert merged.count == 200
    assert merged.percentile_ms(50) == pytest.approx(100, rel=1e-3)
    assert merged.summary().max == pytest.approx(200, rel=1e-3)


def test_an_empty_recorder_has_no_percentiles() -> None:
    with pytest.raises(MetricError):
        LatencyRecorder().summary()


def _app() -> FastAPI:
    app = FastAPI()

    @app.get("/real")
    async def real(
        limit: Annotated[int, Query(ge=1, le=10)] = 5, tag: str | None = None
    ) -> dict[str, object]:
        return {"limit": limit, "tag": tag}

    return app


def test_the_constant_twin_validates_like_the_real_route_and_answers_its_body() -> None:
    app = _app()
    add_constant_twin(app, "/real", "/twin", b'{"const":true}')
    client = TestClient(app)
    ok = client.get("/twin?limit=3&tag=x")
    assert ok.status_code == 200 and ok.json() == {"const": True}
    assert client.get("/twin?limit=11").status_code == 422  # the real route's bound, applied to the twin
    assert client.get("/real?limit=11").status_code == 422
    assert "/twin" not in client.get("/openapi.json").json()["paths"]


def test_twinning_a_missing_route_is_an_error() -> None:
    with pytest.raises(ServingError, match="no GET route '/nope'"):
        add_constant_twin(_app(), "/nope", "/twin", b"{}")
