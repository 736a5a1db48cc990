"""The CLI group (help with examples) and the claims built from a bench result (story 2)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from rankings.evidence import STORY, claims_from_bench
from starlab.cli import app

runner = CliRunner()


@pytest.mark.parametrize("command", ["run", "rollback", "status", "serve", "bench", "generate"])
def test_every_command_has_help_with_an_example(command: str) -> None:
    result = runner.invoke(app, ["rankings", command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Example" in result.output


def bench_result(bad: int = 0, p95: float = 40.0, ratio: float = 0.05) -> dict:
    switch = {"failed": bad, "mixed": 0, "stale_after_flip": 0, "flip_s": 0.05, "requests": 20_000}
    return {
        "concurrency": 32,
        "flip_under_load": {
            **switch,
            "latency_ms": {"p50": 10.0, "p95": p95, "p99": 80.0},
            "responses_old": 10_000,
            "responses_new": 10_000,
            "publish": {"freshness_at_publish_s": 90.0, "duplicate_rate": 0.0},
        },
        "rollback_under_load": {**switch, "failed": 0, "result": {}},
        "changes": {"attempted": 3, "refused": 1, "published": 2, "rolled_back": 0, "reached_users_bad": 0},
        "const_comparison": {"p99_ratio": 1.5, "rankings_ms": {"p99": 3}, "healthz_ms": {"p99": 2}},
        "redis_round_trips": {"get": {"p50": 30, "p99": 90}},
        "incremental_vs_full": {"incremental_over_full": ratio, "repeats": 2},
        "lake_input": {"duplicate_rate_pct": 2.0},
    }


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
    r = bench_result()
    del r["incremental_vs_full"]
    claims = {c.metric: c for c in claims_from_bench(r, "x")}
    assert str(claims["incremental_cost_ratio"].status) == "not measured"
