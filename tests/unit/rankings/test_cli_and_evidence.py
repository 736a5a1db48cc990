"""The CLI group (help with examples) and the claims built from a bench result (story 2)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from typer.testing import CliRunner

from rankings.bench.baseline import ConstComparison
from rankings.bench.incremental import IncrementalCost, ModelTimes
from rankings.bench.run import Arrivals, ChangeTally, LakeInput, RankingsBench
from rankings.bench.switch import Switched, SwitchTimeline, SwitchUnderLoad
from rankings.evidence import STORY, claims_from_bench
from rankings.publish.results import PublishMetrics
from starlab.cli import app
from starlab.metrics import LatencySummary

runner = CliRunner()


@pytest.mark.parametrize("command", ["run", "rollback", "status", "serve", "bench", "generate"])
def test_every_command_has_help_with_an_example(command: str) -> None:
    result = runner.invoke(app, ["rankings", command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Example" in result.output


def _latency(p50: float, p95: float, p99: float) -> LatencySummary:
    return LatencySummary(count=20_000, min=1.0, mean=p50, p50=p50, p95=p95, p99=p99, max=p99 * 2)


def _switch(failed: int, p95: float, publish: PublishMetrics | None) -> SwitchUnderLoad:
    return SwitchUnderLoad(
        latency_ms=_latency(10.0, p95, 80.0),
        requests=20_000,
        throughput_rps=5_000.0,
        failed=failed,
        mixed=0,
        stale_after_flip=0,
        old_build="a",
        new_build="b",
        responses_old=10_000,
        responses_new=10_000,
        flip_started_ms=100.0,
        flip_s=0.05,
        switched=Switched(new_build="b"),
        timeline=SwitchTimeline([], [], [], (0.0, 0.0)),
        publish=publish,
    )


def _times(data_s: float) -> ModelTimes:
    return ModelTimes(models_s={"rankings": data_s}, data_models_s=data_s, all_models_s=data_s, process_s=5.0)


def bench_result(bad: int = 0, p95: float = 40.0, ratio: float = 0.05) -> RankingsBench:
    publish = PublishMetrics(
        build_id="b", color="green", ranking_date="2026-03-10", as_of_date=None, served_at="",
        max_ingested_at=None, freshness_at_publish_s=90.0, duplicate_rate=0.0, rows=60, served_rows=60,
        full_refresh=False, dbt_wall_s=5.0, dbt_model_s={}, top20_overlap_with_previous=None,
    )  # fmt: skip
    return RankingsBench(
        requests=20_000,
        concurrency=32,
        arrivals=Arrivals(part="arr", rows=2_000, newest_ingest_at=""),
        flip=_switch(bad, p95, publish),
        rollback=_switch(0, p95, None),
        lake_input=LakeInput(rows=100, distinct_event_ids=98, duplicate_rate_pct=2.0),
        changes=ChangeTally(attempted=3, refused=1, published=2, rolled_back=0, reached_users_bad=0),
        comparison=ConstComparison(
            concurrency=8,
            requests_each=20_000,
            rankings_ms=_latency(1.0, 2.0, 3.0),
            const_ms=_latency(1.0, 1.5, 2.0),
            healthz_ms=_latency(1.0, 1.5, 2.0),
            per_round_p99_ms=[],
        ),
        incremental=IncrementalCost(
            events_history=10_000_000,
            lake_rows=10_000_000,
            events_per_day=333_333,
            synth_s=1.0,
            repeats=2,
            full_30d=_times(5.0),
            incremental_1d=_times(ratio * 5.0),
            full_refresh_31d=_times(5.0),
            incremental_3d=_times(ratio * 10.0),
        ),
    )


def test_claims_pass_on_a_good_run_and_fail_on_a_bad_one() -> None:
    good = {c.metric: c for c in claims_from_bench(bench_result(), "starlab rankings bench")}
    assert all(c.story == STORY for c in good.values())
    assert {m: str(c.status) for m, c in good.items()} == {
        "freshness_at_publish": "pass",
        "duplicate_rate": "pass",
        "api_p95": "pass",
        "bad_responses_during_switch": "pass",
        "change_failure_rate": "pass",
        "rollback_switch_s": "pass",
        "incremental_cost_ratio": "pass",
        "api_p99_vs_constant": "pass",
    }
    assert good["freshness_at_publish"].measured == 1.5  # minutes
    bad = {c.metric: c for c in claims_from_bench(bench_result(bad=3, p95=250, ratio=0.2), "x")}
    assert str(bad["bad_responses_during_switch"].status) == "fail"
    assert bad["bad_responses_during_switch"].measured == 3
    assert str(bad["api_p95"].status) == "fail" and str(bad["incremental_cost_ratio"].status) == "fail"


def test_a_skipped_measurement_is_not_measured_not_missing() -> None:
    r = replace(bench_result(), incremental=None)
    claims = {c.metric: c for c in claims_from_bench(r, "x")}
    assert str(claims["incremental_cost_ratio"].status) == "not measured"
