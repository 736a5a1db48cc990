"""Admission control, the kill switch state machine and the request-type rate limiting decision.

The doorkeeper and the kill switch run on injected clocks; the rate-limit
decision runs through the app in-process (Starlette's TestClient), its
Redis pointed at a closed port so every read fails fast and degrades.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from feature_cache.errors import FeatureCacheError
from feature_cache.serving.admission import Doorkeeper
from feature_cache.serving.app import create_app
from feature_cache.serving.killswitch import KillSwitch, KillSwitchSource
from feature_cache.settings import FeatureCacheSettings
from starlab.serving.process import free_port


class Clock:
    def __init__(self) -> None:
        self.t = 1_000.0

    def __call__(self) -> float:
        return self.t


# --- admission ---------------------------------------------------------------------------------


def test_a_key_is_admitted_on_its_second_sighting_within_the_window() -> None:
    clock = Clock()
    d = Doorkeeper(window_s=60, min_sightings=2, clock=clock)
    assert not d.admit("u1")
    clock.t += 30
    assert d.admit("u1")
    assert not d.admit("u2")
    assert (d.admitted, d.rejected) == (1, 2)


def test_a_sighting_is_forgotten_after_two_windows() -> None:
    clock = Clock()
    d = Doorkeeper(window_s=10, min_sightings=2, clock=clock)
    assert not d.admit("u1")
    clock.t += 15  # one rotation: still remembered in the previous generation
    assert d.sightings("u1") == 1
    clock.t += 25  # two windows with no sighting: forgotten
    assert not d.admit("u1")


def test_memory_is_bounded_by_max_keys() -> None:
    d = Doorkeeper(window_s=3_600, max_keys=100, clock=Clock())
    for i in range(10_000):
        d.admit(f"u{i}")
    assert d.state().tracked_keys <= 200  # two generations of at most max_keys


def test_disabled_admission_admits_everything() -> None:
    d = Doorkeeper(enabled=False)
    assert d.admit("once") and d.state().rejected == 0


# --- kill switch -------------------------------------------------------------------------------


def test_kill_switch_state_machine() -> None:
    clock = Clock()
    ks = KillSwitch(clock)
    assert not ks.on
    assert ks.trip(KillSwitchSource.GUARDRAIL, "p95 300 ms")
    clock.t += 1
    assert not ks.trip(KillSwitchSource.ADMIN, "again")  # already on: no change, counted
    assert ks.ignored == 1 and ks.state().reason == "p95 300 ms"
    with pytest.raises(FeatureCacheError):
        ks.release(KillSwitchSource.GUARDRAIL, "window healthy")  # only an operator releases
    assert ks.on
    assert ks.release(KillSwitchSource.ADMIN, "recovered")
    assert not ks.on and not ks.release(KillSwitchSource.ADMIN, "twice")
    state = ks.state()
    assert [(e.on, e.source) for e in state.history] == [
        (True, KillSwitchSource.GUARDRAIL),
        (False, KillSwitchSource.ADMIN),
    ]
    assert state.trips == 1 and state.since == 1_001.0


# --- rate limiting decision ---------------------------------------------------------------------


def _app(**overrides: object) -> TestClient:
    cfg = FeatureCacheSettings(
        key_prefix="unit:fc",
        scoring=False,
        rate_limits={"digest": "3/minute", "promotional": "1/minute"},
        **overrides,  # type: ignore[arg-type]
    )
    # A closed port: Redis refuses at once, every read degrades (no process needed).
    return TestClient(create_app(cfg, redis_url=f"redis://127.0.0.1:{free_port()}/0"))


def test_low_value_types_are_shed_with_a_reason_when_engaged() -> None:
    with _app(rate_limit_engaged=True) as client:
        codes = [client.get("/features/u1", params={"type": "digest"}).status_code for _ in range(5)]
        assert codes == [200, 200, 200, 429, 429]
        body = client.get("/features/u1", params={"type": "digest"}).json()
        assert body["reason"] == "rate_limited" and body["request_type"] == "digest"
        # High-value types have no limit at all.
        assert all(
            client.get("/features/u1", params={"type": "transactional"}).status_code == 200 for _ in range(10)
        )
        state = client.get("/admin/state").json()
        assert state["counters"]["rate_limited"] == 3 and state["counters"]["limited_by_type"] == {
            "digest": 3
        }


def test_no_shedding_when_not_engaged_and_no_overload() -> None:
    with _app(rate_limit_engaged=False, rate_limit_on_trip=True, guardrail_min_samples=10_000) as client:
        assert all(
            client.get("/features/u1", params={"type": "promotional"}).status_code == 200 for _ in range(5)
        )
        client.post("/admin/mitigations", json={"rate_limit": True})
        codes = [client.get("/features/u1", params={"type": "promotional"}).status_code for _ in range(3)]
        assert codes == [200, 429, 429]


def test_overload_engages_the_limits_by_itself() -> None:
    # Every read fails (Redis refuses): failures > 0.5% trips the guardrail after 20 samples,
    # which engages the limits ("under overload") and trips the kill switch.
    with _app(rate_limit_on_trip=True, guardrail_min_samples=20, guardrail_eval_interval_s=0) as client:
        for _ in range(25):
            client.get("/features/u1", params={"type": "social"})
        state = client.get("/admin/state").json()
        assert state["guardrail"]["tripped"] and state["rate_limit_engaged"]
        assert state["killswitch"]["on"] and state["killswitch"]["source"] == "guardrail"
        codes = [client.get("/features/u1", params={"type": "promotional"}).status_code for _ in range(2)]
        assert codes == [200, 429]


def test_redis_refusing_degrades_and_flags_never_5xx() -> None:
    with _app() as client:
        r = client.get("/features/u1")
        assert r.status_code == 200
        body = r.json()
        assert "cache_unavailable" in body["flags"] and "degraded" in body["flags"]
        assert {g["status"] for g in body["groups"].values()} == {"degraded"}
        assert body["features"]["social"]["follower_count"] is None
