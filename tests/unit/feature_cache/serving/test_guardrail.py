"""The auto-rollback guardrail on synthetic samples and an injected clock."""

from __future__ import annotations

import pytest

from feature_cache.serving.guardrail import Guardrail, GuardrailConfig, GuardrailVerdict, TripReason


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _guardrail(
    **overrides: float,
) -> tuple[Guardrail, FakeClock, list[GuardrailVerdict], list[GuardrailVerdict]]:
    clock = FakeClock()
    trips: list[GuardrailVerdict] = []
    resets: list[GuardrailVerdict] = []
    cfg = GuardrailConfig.model_validate({"min_samples": 100, "eval_interval_s": 0.0, **overrides})
    return Guardrail(cfg, on_trip=trips.append, on_reset=resets.append, clock=clock), clock, trips, resets


def _feed(
    g: Guardrail, clock: FakeClock, n: int, latency_ms: float, ok: bool = True, dt: float = 0.01
) -> None:
    for _ in range(n):
        clock.now += dt
        g.record(latency_ms, ok)


def test_story_thresholds_are_the_defaults() -> None:
    cfg = GuardrailConfig()
    assert cfg.p95_trip_ms == 250.0 and cfg.failure_rate_trip == 0.005


def test_healthy_traffic_never_trips() -> None:
    g, clock, trips, _ = _guardrail()
    _feed(g, clock, 2_000, 120.0)
    assert not g.tripped and trips == []
    assert g.evaluate().p95_ms == 120.0


def test_p95_just_above_250_trips_and_just_below_does_not() -> None:
    g, clock, trips, _ = _guardrail()
    # 94 fast + 6 slow: the nearest-rank p95 (95th of 100) is a slow one
    _feed(g, clock, 94, 100.0)
    _feed(g, clock, 6, 251.0)
    assert g.tripped and trips[0].reasons == (TripReason.P95,)
    assert trips[0].p95_ms == 251.0

    g2, clock2, trips2, _ = _guardrail()
    _feed(g2, clock2, 96, 100.0)
    _feed(g2, clock2, 4, 251.0)  # only 4% slow: p95 is fast
    assert not g2.tripped and trips2 == []


def test_failure_rate_above_half_a_percent_trips() -> None:
    g, clock, trips, _ = _guardrail(min_samples=400)
    _feed(g, clock, 398, 50.0)
    _feed(g, clock, 2, 50.0, ok=False)  # 2/400 = 0.5%: not above
    assert not g.tripped
    _feed(g, clock, 1, 50.0, ok=False)  # 3/401 = 0.75%
    assert g.tripped and trips[0].reasons == (TripReason.FAILURE_RATE,)
    assert trips[0].failure_rate == pytest.approx(3 / 401)


def test_no_decision_below_the_minimum_sample_count() -> None:
    g, clock, trips, _ = _guardrail(min_samples=100)
    _feed(g, clock, 99, 900.0, ok=False)
    assert not g.tripped and g.last_verdict is not None and g.last_verdict.reasons == ()
    _feed(g, clock, 1, 900.0, ok=False)
    assert g.tripped and set(trips[0].reasons) == {TripReason.P95, TripReason.FAILURE_RATE}


def test_old_samples_leave_the_window() -> None:
    g, clock, _, _ = _guardrail(window_s=10.0)
    _feed(g, clock, 100, 50.0, ok=False, dt=0.001)
    assert g.tripped
    clock.now += 10.5
    verdict = g.evaluate()
    assert verdict.samples == 0 and verdict.p95_ms is None and verdict.failure_rate is None


def test_hysteresis_needs_healthy_margin_held_before_reset() -> None:
    g, clock, trips, resets = _guardrail(window_s=10.0, reset_hold_s=5.0)
    _feed(g, clock, 200, 300.0, dt=0.05)  # 10 s of slow traffic
    assert g.tripped and len(trips) == 1
    # 230 ms: below the trip threshold but above the reset threshold (200): stays tripped
    _feed(g, clock, 400, 230.0, dt=0.05)
    assert g.tripped and resets == []
    # healthy at 150 ms; once the window holds only fast samples, the 5 s hold starts
    _feed(g, clock, 200, 150.0, dt=0.05)  # 10 s: the window is all 150 ms now
    assert g.tripped  # hold not yet served
    _feed(g, clock, 120, 150.0, dt=0.05)  # 6 s more
    assert not g.tripped and len(resets) == 1
    assert g.trips == 1


def test_a_relapse_during_the_hold_restarts_it() -> None:
    g, clock, _, resets = _guardrail(window_s=2.0, reset_hold_s=5.0, min_samples=10)
    _feed(g, clock, 50, 400.0, dt=0.05)
    assert g.tripped
    _feed(g, clock, 80, 100.0, dt=0.05)  # 4 s healthy (window 2 s)
    _feed(g, clock, 40, 400.0, dt=0.05)  # relapse
    _feed(g, clock, 80, 100.0, dt=0.05)  # 4 s healthy again: hold restarted, not served
    assert g.tripped and resets == []


def test_eval_interval_limits_how_often_record_evaluates() -> None:
    g, clock, _, _ = _guardrail(eval_interval_s=1.0)
    verdicts = []
    for _ in range(500):
        clock.now += 0.01
        v = g.record(10.0, True)
        if v is not None:
            verdicts.append(v)
    assert 4 <= len(verdicts) <= 6  # ~5 s of samples, one evaluation per second


def test_max_samples_bounds_memory_and_keeps_the_failure_count_right() -> None:
    g, clock, _, _ = _guardrail(max_samples=100, min_samples=10)
    _feed(g, clock, 100, 10.0, ok=False)
    _feed(g, clock, 100, 10.0, ok=True)  # pushes every failure out
    verdict = g.evaluate()
    assert verdict.samples == 100 and verdict.failure_rate == 0.0


def test_config_refuses_reset_thresholds_above_trip_thresholds() -> None:
    with pytest.raises(ValueError, match="hysteresis"):
        GuardrailConfig(p95_reset_ms=300.0)
    with pytest.raises(ValueError, match="hysteresis"):
        GuardrailConfig(failure_rate_reset=0.01)
