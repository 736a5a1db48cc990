"""The load test and the regression scenario, end to end at small scale.

Backs the commands behind the 004 story's serving claims
(`starlab features loadtest`, `starlab features regression`): the same
machinery as the full runs, shortened (a few seconds per design or phase)
so the test checks that every figure is produced and consistent with its
source (the dependencies' /stats, the app's counters, Redis's own
counters), not the story's values, which need the full-length runs.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from feature_cache.bench.loadtest import DEFAULT_FAULTS, run_loadtest
from feature_cache.bench.regression import Mitigation, RegressionConfig, run_regression
from feature_cache.evidence import claims
from feature_cache.settings import Design, FeatureCacheSettings
from starlab.evidence import Status
from starlab.settings import Settings

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_loadtest_a_vs_b_produces_every_figure(stack: Settings, tmp_path: Path) -> None:
    cfg = FeatureCacheSettings(qps=40, duration_s=8, users=1_000)
    result = run_loadtest(cfg, stack.redis_url, faults=DEFAULT_FAULTS, reports_dir=tmp_path)
    a, b = result.of(Design.A), result.of(Design.B)
    assert a is not None and b is not None
    assert result.redis_policy == "allkeys-lfu"  # the stack's setting, read with CONFIG GET
    assert a.requests == b.requests == 320
    # A calls all four services per request, up to 3 attempts each; B only on a miss.
    assert 3.0 <= a.calls_per_request <= 12.0
    # The services' own count (what the cost is charged on) lies between what A's app answered
    # and what it sent. An attempt abandoned in flight (timed out, or cancelled by fail-fast) may
    # never reach a service: on a starved CI machine a third of them did not (1,054 of 1,539).
    run_a = next(r for r in result.runs if r.result.design is Design.A)
    counters = run_a.state.counters
    served = sum(d.calls for d in a.dependencies)
    assert 0 < counters.dependency_calls_answered <= served <= counters.dependency_calls
    print(
        f"\nA: {counters.dependency_calls} calls sent, {served} served, "
        f"{counters.dependency_calls_answered} answered"
    )
    assert b.calls_per_request < 0.5 and b.hit_rate is not None and b.hit_rate > 0.8
    assert {d.name.value for d in a.dependencies} == {"social", "embeddings", "geo", "abuse"}
    assert b.fetch.p95 < a.fetch.p95
    assert b.availability == 1.0  # degraded answers are answers: B never fails a request here
    assert 0 < a.formula_availability <= a.formula_availability_retried <= 1
    assert b.cost_month_usd >= cfg.redis_fixed_monthly_usd
    assert len(result.plots) == 2 and all(Path(p).exists() for p in result.plots)
    by = {c.metric: c for c in claims(loadtest=result)}
    assert by["b_fetch_p95_ms"].measured == round(b.fetch.p95, 2)
    assert by["hit_rate_steady"].status is Status.NOT_MEASURED  # from the bench, not given here


def test_regression_runs_every_phase_and_each_mitigation_acts(tmp_path: Path) -> None:
    cfg = FeatureCacheSettings(qps=30, users=1_000, prewarm_top_n=200)
    # Short phases; the lag barely passes the fast group's slack, so this checks the mechanics.
    rc = RegressionConfig(phase_s=4.0, spike_lag_s=5.0)
    result = run_regression(cfg, rc, reports_dir=tmp_path)
    phases = {p.mitigation: p for p in result.phases}
    assert list(phases) == list(Mitigation)
    assert phases[Mitigation.SPIKE].qps == 60 and result.spike_users == 1_250
    assert phases[Mitigation.KILL_SWITCH].killswitch_on
    assert phases[Mitigation.KILL_SWITCH].ondemand_per_request == 0.0  # no call under the kill switch
    assert not phases[Mitigation.BREAKER].killswitch_on
    assert phases[Mitigation.RATE_LIMIT].shed > 0 and phases[Mitigation.SPIKE].shed == 0
    assert sum(p.evicted_keys for p in result.phases) > 0  # the memory cap bites during the spike
    assert all(p.availability == 1.0 for p in result.phases)
    assert result.plot is not None and Path(result.plot).exists()
