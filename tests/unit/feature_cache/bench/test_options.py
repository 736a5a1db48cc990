"""The options matrix is built from the run's measurements, never from the story's figures."""

from __future__ import annotations

from pathlib import Path

import pytest

from feature_cache.bench.options import options_matrix, render_markdown, write_matrix
from feature_cache.bench.results import DesignResult, LoadtestResult
from feature_cache.errors import FeatureCacheError
from feature_cache.settings import Design
from starlab.metrics import LatencySummary


def _lat(p95: float) -> LatencySummary:
    return LatencySummary(count=100, min=1.0, mean=p95 / 2, p50=p95 / 2, p95=p95, p99=p95 * 1.5, max=p95 * 2)


def _design(design: Design, e2e_p95: float, availability: float, cost: float) -> DesignResult:
    return DesignResult(
        design=design, qps=50, duration_s=30, requests=1500, ok=1500, errors=0, shed=0,
        availability=availability, e2e=_lat(e2e_p95), fetch=_lat(e2e_p95 / 3), redis_read=None,
        ondemand_call=None, dependencies=(), calls_per_request=4.0 if design is Design.A else 0.02,
        hit_rate=None if design is Design.A else 0.96, key_fresh_rate=None, ondemand_per_request=0.0,
        stale_served_rate=0.01, degraded_rate=0.0, cost_month_usd=cost, formula_availability=0.98,
        formula_availability_retried=0.9999, formula_fetch_p95_ms=100.0, story_cost_month_usd=9600.0,
        guardrail_trips=0, killswitch_trips=0, breaker_transitions=(), faults=(),
    )  # fmt: skip


def _loadtest(*designs: DesignResult) -> LoadtestResult:
    return LoadtestResult(
        qps=50, duration_s=30, users=5000, zipf_s=1.1, cold_share=0.04, failure_rate=0.005,
        redis_policy="allkeys-lfu", prewarm=False, dynamic_ttl=False, designs=designs,
    )  # fmt: skip


def test_rows_carry_the_measured_values(tmp_path: Path) -> None:
    lt = _loadtest(_design(Design.A, 333.0, 0.9812, 9_871.0), _design(Design.B, 122.0, 0.99991, 1_234.0))
    rows = {r.criterion: r for r in options_matrix(lt)}
    assert rows["end-to-end p95 (ms)"].a == "333" and rows["end-to-end p95 (ms)"].b == "122"
    assert rows["availability (clean run)"].a == "98.12%"
    assert rows["cost per month (USD)"].b == "1,234"
    assert rows["end-to-end p95 (ms)"].story_a == "~290"  # the story's figure stays in its own column
    text = render_markdown(list(rows.values()), lt)
    assert text.count("\n|") >= len(rows) + 1
    assert write_matrix(list(rows.values()), lt, tmp_path).read_text() == text


def test_both_designs_are_needed() -> None:
    with pytest.raises(FeatureCacheError, match="both designs"):
        options_matrix(_loadtest(_design(Design.B, 120.0, 1.0, 1_000.0)))
