"""The dynamic TTL policy with an injected clock: update-rate EWMA, stream lag, bounds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from feature_cache.errors import FeatureCacheConfigError
from feature_cache.precompute.features import GROUP_TTLS, TtlBounds
from feature_cache.precompute.ttl import TtlPolicy

T0 = datetime(2026, 1, 1, tzinfo=UTC)
BOUNDS = {"g": TtlBounds(base_s=100, min_s=20, max_s=500)}


class Clock:
    """Epoch seconds the test sets by hand."""

    def __init__(self, at: datetime) -> None:
        self.now = at.timestamp()

    def __call__(self) -> float:
        return self.now


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_base_ttl_before_any_gap_is_seen() -> None:
    policy = TtlPolicy(BOUNDS, clock=Clock(at(0)))
    assert policy.ttl_s("g") == 100
    policy.observe("u1", "g", at(0))  # a first version has no gap yet, and no lag
    assert policy.ttl_s("g") == 100
    assert policy.state("g").gaps_seen == 0


def test_steady_updates_give_three_gaps() -> None:
    clock = Clock(at(0))
    policy = TtlPolicy(BOUNDS, clock=clock)
    for n in range(10):  # one version every 10 s, materialized the moment it happens
        clock.now = at(10 * n).timestamp()
        policy.observe("u1", "g", at(10 * n))
    state = policy.state("g")
    assert state.gap_ewma_s == pytest.approx(10.0)
    assert state.lag_ewma_s == 0.0
    assert policy.ttl_s("g") == 30


def test_the_gap_ewma_follows_a_slower_rate_gradually() -> None:
    clock = Clock(at(0))
    policy = TtlPolicy(BOUNDS, clock=clock, alpha=0.5)
    policy.observe("u1", "g", at(0))
    for t in (10, 20, 70):
        clock.now = at(t).timestamp()
        policy.observe("u1", "g", at(t))
    # gaps 10, 10, 50 with alpha 0.5: 10 -> 10 -> 30
    assert policy.state("g").gap_ewma_s == pytest.approx(30.0)
    assert policy.ttl_s("g") == 90


def test_gaps_are_per_key_not_between_users() -> None:
    policy = TtlPolicy(BOUNDS, clock=Clock(at(100)))
    policy.observe("u1", "g", at(100))
    policy.observe("u2", "g", at(100))  # another user at the same time: no gap of 0
    assert policy.state("g").gaps_seen == 0


def test_out_of_order_and_repeated_versions_say_nothing_about_the_rate() -> None:
    policy = TtlPolicy(BOUNDS, clock=Clock(at(100)))
    policy.observe("u1", "g", at(100))
    policy.observe("u1", "g", at(100))  # same event time (a replay)
    policy.observe("u1", "g", at(90))  # older than the last one
    assert policy.state("g").gaps_seen == 0
    policy.observe("u1", "g", at(110))  # measured from the newest seen (100), not from 90
    assert policy.state("g").gap_ewma_s == pytest.approx(10.0)


def test_a_lagging_stream_lengthens_the_ttl_up_to_the_max() -> None:
    clock = Clock(at(0))
    policy = TtlPolicy(BOUNDS, clock=clock, alpha=1.0)
    policy.observe("u1", "g", at(0))
    clock.now = at(10 + 60).timestamp()  # this version is materialized 60 s after it happened
    policy.observe("u1", "g", at(10))
    assert policy.state("g").lag_ewma_s == pytest.approx(60.0)
    assert policy.ttl_s("g") == 3 * 10 + 60
    clock.now = at(20 + 3_600).timestamp()  # an hour behind
    policy.observe("u1", "g", at(20))
    assert policy.ttl_s("g") == 500


def test_a_burst_of_updates_does_not_go_below_the_min() -> None:
    clock = Clock(at(0))
    policy = TtlPolicy(BOUNDS, clock=clock)
    for n in range(20):
        policy.observe("u1", "g", at(n * 0.1))
    assert policy.ttl_s("g") == 20


def test_the_default_groups_react_differently_to_the_same_updates() -> None:
    clock = Clock(at(0))
    policy = TtlPolicy(GROUP_TTLS, clock=clock)
    for n in range(30):
        clock.now = at(5 * n).timestamp()
        for group in ("activity", "realtime", "profile"):
            policy.observe("u1", group, at(5 * n))
    # 3 x 5 s = 15 s, lifted to each group's floor
    assert {g: policy.ttl_s(g) for g in ("activity", "realtime", "profile")} == {
        "activity": 60,
        "realtime": 30,
        "profile": 600,
    }


def test_tracked_keys_are_bounded() -> None:
    policy = TtlPolicy(BOUNDS, clock=Clock(at(0)), max_tracked_keys=2)
    for user in ("u1", "u2", "u3"):
        policy.observe(user, "g", at(0))
    policy.observe("u1", "g", at(10))  # u1 was evicted: no gap measured
    assert policy.state("g").gaps_seen == 0
    policy.observe("u3", "g", at(10))
    assert policy.state("g").gaps_seen == 1


def test_unknown_group_and_bad_parameters_are_config_errors() -> None:
    policy = TtlPolicy(BOUNDS)
    with pytest.raises(FeatureCacheConfigError, match="nope"):
        policy.ttl_s("nope")
    with pytest.raises(FeatureCacheConfigError, match="alpha"):
        TtlPolicy(BOUNDS, alpha=0)
    with pytest.raises(FeatureCacheConfigError, match="min_s"):
        TtlBounds(base_s=10, min_s=20, max_s=30)
