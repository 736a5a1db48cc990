"""The load test's arithmetic from measured counters, the workload, the stream's schedule, the claims.

No process is started: the load run, the app's /admin/state and the
dependencies' /stats deltas are built by hand with round numbers, so each
formula can be checked against a value computed here.
"""

from __future__ import annotations

import pytest
import redis

from feature_cache.bench.loadtest import LoadRig
from feature_cache.bench.results import DesignResult
from feature_cache.bench.rig import DependencyCalls
from feature_cache.bench.stream import StreamFeeder, dynamic_bounds
from feature_cache.bench.workload import Workload
from feature_cache.deps.config import DependencyName
from feature_cache.evidence import claims, design_claims
from feature_cache.serving.app import AdminState, Counters, LatencyOut
from feature_cache.serving.cache import TtlTable
from feature_cache.settings import Design, FeatureCacheSettings
from starlab.evidence import Status
from starlab.serving.histogram import LatencyRecorder
from starlab.serving.load import LoadRun

N = 1_000


def _hist(ms: float) -> str:
    rec = LatencyRecorder()
    for _ in range(10):
        rec.record_ms(ms)
    return rec.encode()


def _state(design: Design, counters: Counters) -> AdminState:
    """An /admin/state as the app would answer it after a run, with the given counters."""
    lat = LatencyOut(count=10, p50=2.0, p95=2.0, p99=2.0, max=2.0, histogram=_hist(2.0))
    call = LatencyOut(count=10, p50=50.0, p95=50.0, p99=50.0, max=50.0, histogram=_hist(50.0))
    raw: dict[str, object] = {
        "design": design.value, "pid": 1, "uptime_s": 1.0, "since_reset_s": 1.0,
        "counters": counters.model_dump(), "hit_rate": None, "key_fresh_rate": None,
        "killswitch": {"on": False, "since": None, "source": None, "reason": None, "trips": 0,
                       "ignored": 0, "history": []},
        "guardrail": {"armed": True, "tripped": False, "trips": [], "window_p95_ms": None,
                      "window_failure_rate": None, "window_samples": 0},
        "breaker": {"enabled": True, "state": "closed", "effective_state": "closed", "transitions": []},
        "admission": {"enabled": True, "admitted": 0, "rejected": 0, "tracked_keys": 0, "window_s": 60,
                      "min_sightings": 2},
        "rate_limit_engaged": False,
        "mitigations": {"breaker": True, "rate_limit": False, "rate_limit_on_trip": True, "admission": True,
                        "guardrail_armed": True, "dynamic_ttl": False},
        "ttl_s": {}, "ttl_dynamic": False,
        "fetch_ms": lat.model_dump(), "total_ms": lat.model_dump(), "redis_ms": lat.model_dump(),
        "ondemand_ms": call.model_dump(),
    }  # fmt: skip
    return AdminState.model_validate(raw)


def _run(statuses: list[int]) -> LoadRun:
    rec = LatencyRecorder()
    for _ in statuses:
        rec.record_ms(100.0)
    n = len(statuses)
    return LoadRun(
        paths=["/x"], path_index=[0] * n, start_ns=list(range(n)), end_ns=[i + 100_000_000 for i in range(n)],
        status=statuses, captured=[None] * n, digest=[None] * n, started_ns=0, finished_ns=10**9,
        histogram=rec.encode(),
    )  # fmt: skip


@pytest.fixture
def rig() -> LoadRig:
    # Built, never entered: no process, no connection (redis-py connects lazily).
    return LoadRig(FeatureCacheSettings(), "redis://127.0.0.1:1/0")


def _result(rig: LoadRig, design: Design, statuses: list[int], counters: Counters,
            deps: tuple[DependencyCalls, ...]) -> DesignResult:  # fmt: skip
    return rig._result(
        design, 100.0, 10.0, _run(statuses), _state(design, counters), deps, (), None, False, 0.0
    )


def test_design_a_cost_and_availability_from_the_dependencies_counts(rig: LoadRig) -> None:
    # 1,000 requests; each service served 1,010 calls (10 retries) and failed 10 of them.
    deps = tuple(DependencyCalls(n, 1_010, 10, 0) for n in DependencyName)
    statuses = [200] * 998 + [503, 503]
    a = _result(rig, Design.A, statuses, Counters(requests=N), deps)
    assert a.calls_per_request == pytest.approx(4.04)
    # 8M/day x 4.04 calls x $1e-5 x 30 days, no fixed cost for A
    assert a.cost_month_usd == pytest.approx(8e6 * 4.04 * 1e-5 * 30)
    f = 10 / 1_010
    assert a.formula_availability == pytest.approx((1 - f) ** 4)
    assert a.formula_availability_retried == pytest.approx((1 - f**3) ** 4)
    assert a.availability == pytest.approx(998 / 1_000) and a.errors == 2
    assert a.story_cost_month_usd == pytest.approx(9_600.0)


def test_design_b_cost_counts_redis_and_only_the_calls_made(rig: LoadRig) -> None:
    deps = (DependencyCalls(DependencyName.EMBEDDINGS, 50, 0, 0),)
    counters = Counters(requests=N, lookups=N, hits=950, ondemand_calls=50, rate_limited=0)
    b = _result(rig, Design.B, [200] * N, counters, deps)
    assert b.calls_per_request == pytest.approx(0.05)
    assert b.cost_month_usd == pytest.approx(1_200 + 8e6 * 0.05 * 1e-5 * 30)  # $1,320
    assert b.story_cost_month_usd == pytest.approx(1_200 + 8e6 * 0.2 * 1e-5 * 30)  # the story's $1,680
    assert b.formula_availability == pytest.approx(1.0)
    # The story's weighted latency: cache 2 ms x 95% + (2 + 50) ms x 5%
    assert b.formula_fetch_p95_ms == pytest.approx(2.0 * 0.95 + 52.0 * 0.05, rel=1e-3)
    assert b.ondemand_per_request == pytest.approx(0.05) and b.availability == 1.0


def test_shed_requests_are_not_availability_failures(rig: LoadRig) -> None:
    b = _result(
        rig, Design.B, [200] * 900 + [429] * 100, Counters(requests=N, lookups=900, rate_limited=100), ()
    )
    assert b.shed == 100 and b.errors == 0 and b.availability == 1.0


def test_claims_hold_or_fail_from_the_numbers(rig: LoadRig) -> None:
    deps = tuple(DependencyCalls(n, 1_000, 5, 0) for n in DependencyName)
    a = _result(rig, Design.A, [200] * N, Counters(requests=N), deps)
    b = _result(rig, Design.B, [200] * N, Counters(requests=N, lookups=N, ondemand_calls=50),
                (DependencyCalls(DependencyName.EMBEDDINGS, 50, 0, 0),))  # fmt: skip
    by = {c.metric: c for c in design_claims(a, b)}
    assert by["a_availability_projected"].measured == pytest.approx(0.995**4, abs=1e-5)
    assert by["a_availability_projected"].status is Status.PASS
    assert by["b_availability"].status is Status.PASS
    assert by["cost_saving_month_usd"].measured == pytest.approx(9_600 - 1_320)
    assert by["a_e2e_p95_ms"].status is Status.FAIL  # 100 ms here: below the 250 ms the story's A breaks
    # Nothing measured is never a pass.
    assert all(c.status is Status.NOT_MEASURED for c in claims())


def test_zipf_workload() -> None:
    w = Workload.zipf(5_000, 1.1, 0.1, 0.3, seed=0)
    assert w.weights.sum() == pytest.approx(1.0) and all(w.weights[:-1] >= w.weights[1:])
    assert not set(w.ranked[:50]) & w.cold  # the top 1% is never cold
    assert 0.03 < w.cold_share() < 0.05  # ~4% of requests on cold users, whatever the seed
    assert Workload.zipf(5_000, 1.1, 0.1, 0.3, seed=7).cold_share() == pytest.approx(
        w.cold_share(), abs=0.005
    )
    paths, weights = w.paths()
    assert len(paths) == 10_000 and sum(weights) == pytest.approx(1.0)
    low = sum(wt for p, wt in zip(paths, weights, strict=True) if "digest" in p or "promotional" in p)
    assert low == pytest.approx(0.3)
    wide = w.widened(1.25, below=0.2)
    assert len(wide.ranked) == 6_250 and wide.ranked[:1_000] == w.ranked[:1_000]
    old = [u for u in wide.ranked if u in set(w.ranked)]
    assert old == list(w.ranked)  # the old users keep their relative order


def test_the_stream_emits_each_known_user_once_per_cycle_in_time_order() -> None:
    static = TtlTable.static(300.0, 60.0, ["intent"])
    users = [f"u{i}" for i in range(200)]
    feeder = StreamFeeder(redis.Redis(port=1), "p", users, static, intent_period_s=60.0, refresh_s=30.0)
    t0 = 1_000_000.0
    due = feeder._due(t0, t0 + 30.0)
    assert sorted(u for _, u in due) == sorted(users)
    times = [t for t, _ in due]
    assert times == sorted(times) and all(t0 < t <= t0 + 30.0 for t in times)
    assert len(feeder._due(t0, t0 + 90.0)) == 600  # three cycles
    assert feeder._due(t0, t0) == []


def test_dynamic_ttl_bounds_keep_the_static_ttl_as_floor() -> None:
    static = TtlTable.static(300.0, 60.0, ["intent"])
    bounds = dynamic_bounds(static)
    assert bounds["intent"].min_s == 60.0 and bounds["intent"].max_s == 180.0
    assert bounds["social"].min_s == 300.0
    from datetime import UTC, datetime

    from feature_cache.precompute.ttl import TtlPolicy

    now = [1_000_000.0]
    policy = TtlPolicy(bounds, clock=lambda: now[0])
    assert policy.ttl_s("intent") == 60  # nothing seen yet: the base, i.e. the static TTL
    for k in range(5):  # versions 30 s apart, each written 33 s after its event time
        event = 1_000_000.0 + 30 * k
        now[0] = event + 33
        policy.observe("u1", "intent", datetime.fromtimestamp(event, tz=UTC))
    assert policy.ttl_s("intent") == 3 * 30 + 33  # 3 x gap + lag, inside [60, 180]
