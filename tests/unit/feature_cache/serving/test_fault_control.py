"""Fault injection state, control commands and the simulators' answers, without a process."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from feature_cache.deps.config import DependencyName, FailureMode, ServiceConfig
from feature_cache.deps.control import (
    ControlRequest,
    FailureCause,
    FailureRateCommand,
    FaultState,
    OutageCommand,
    ResetCommand,
    SpikeCommand,
    request_uniforms,
)
from feature_cache.deps.features import (
    SESSION_INTENTS,
    abuse_features,
    embedding_features,
    geo_features,
    social_features,
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _state(
    failure_rate: float = 0.0, mode: FailureMode = FailureMode.HTTP_503
) -> tuple[FaultState, FakeClock]:
    clock = FakeClock()
    cfg = ServiceConfig(
        name=DependencyName.GEO, p50_ms=30, p95_ms=60, failure_rate=failure_rate, failure_mode=mode
    )
    return FaultState(cfg, clock), clock


def test_uniform_draws_are_deterministic_distinct_and_inside_the_unit_interval() -> None:
    assert request_uniforms(1, "r1/1") == request_uniforms(1, "r1/1")
    assert request_uniforms(1, "r1/1") != request_uniforms(1, "r1/2")  # a retry draws afresh
    assert request_uniforms(1, "r1/1") != request_uniforms(2, "r1/1")
    draws = [request_uniforms(0, f"k{i}") for i in range(20_000)]
    for a, b in draws:
        assert 0.0 < a < 1.0 and 0.0 < b < 1.0
    mean = sum(a for a, _ in draws) / len(draws)
    assert mean == pytest.approx(0.5, abs=0.01)  # sd of the mean ~0.002


def test_latency_is_the_models_quantile_at_the_uniform() -> None:
    state, _ = _state()
    d = state.decide(0.9, 0.95)
    assert d.failure is None and d.cause is None and not d.spiked
    assert d.delay_ms == pytest.approx(60.0)
    assert state.decide(0.9, 0.5).delay_ms == pytest.approx(30.0)


def test_spike_multiplies_and_adds_then_expires() -> None:
    state, clock = _state()
    s = state.apply(SpikeCommand(duration_s=10, multiply=3, add_ms=5))
    assert s.spike_remaining_s == pytest.approx(10) and s.spike_multiply == 3
    d = state.decide(0.9, 0.5)
    assert d.spiked and d.delay_ms == pytest.approx(30 * 3 + 5)
    clock.now += 10.01
    d = state.decide(0.9, 0.5)
    assert not d.spiked and d.delay_ms == pytest.approx(30.0)
    assert state.state().spike_remaining_s == 0 and state.state().spike_multiply == 1.0


@pytest.mark.parametrize("mode", list(FailureMode))
def test_outage_fails_every_call_in_its_mode_for_its_duration(mode: FailureMode) -> None:
    state, clock = _state()
    state.apply(OutageCommand(duration_s=5, mode=mode))
    for u in (0.0001, 0.5, 0.9999):
        d = state.decide(u, u)
        assert d.failure is mode and d.cause is FailureCause.OUTAGE
        assert d.delay_ms == (float("inf") if mode is FailureMode.HANG else 0.0)
    clock.now += 5.01
    assert state.decide(0.5, 0.5).failure is None
    assert state.state().outage_mode is None


def test_random_failures_follow_the_rate_after_the_sampled_latency() -> None:
    state, _ = _state(failure_rate=0.2, mode=FailureMode.RESET)
    assert state.decide(0.19, 0.5).failure is FailureMode.RESET
    assert state.decide(0.19, 0.5).cause is FailureCause.RANDOM
    assert state.decide(0.19, 0.5).delay_ms == pytest.approx(30.0)  # failed after doing the work
    assert state.decide(0.21, 0.5).failure is None


def test_failure_rate_override_with_and_without_duration_and_reset() -> None:
    state, clock = _state(failure_rate=0.0)
    s = state.apply(FailureRateCommand(failure_rate=0.5, duration_s=2))
    assert s.failure_rate == 0.5 and s.failure_rate_override_remaining_s == pytest.approx(2)
    assert state.decide(0.4, 0.5).failure is FailureMode.HTTP_503
    clock.now += 2.5
    assert state.state().failure_rate == 0.0
    assert state.decide(0.4, 0.5).failure is None
    s = state.apply(FailureRateCommand(failure_rate=1.0))  # until reset
    assert s.failure_rate_override_remaining_s is None
    clock.now += 10_000
    assert state.decide(0.99, 0.5).failure is FailureMode.HTTP_503
    state.apply(SpikeCommand(duration_s=100, multiply=2))
    state.apply(OutageCommand(duration_s=100))
    s = state.apply(ResetCommand())
    assert s.failure_rate == 0.0 and s.spike_remaining_s == 0 and s.outage_remaining_s == 0
    assert state.decide(0.99, 0.5).failure is None


def test_control_request_parses_each_action_and_rejects_bad_ones() -> None:
    cmd = ControlRequest.model_validate_json(
        '{"command": {"action": "spike", "duration_s": 3, "add_ms": 50}}'
    )
    assert isinstance(cmd.command, SpikeCommand) and cmd.command.add_ms == 50
    out = ControlRequest.model_validate_json(
        '{"command": {"action": "outage", "duration_s": 1, "mode": "reset"}}'
    )
    assert isinstance(out.command, OutageCommand) and out.command.mode is FailureMode.RESET
    assert isinstance(
        ControlRequest.model_validate_json('{"command": {"action": "reset"}}').command, ResetCommand
    )
    for bad in (
        '{"command": {"action": "explode"}}',
        '{"command": {"action": "spike", "duration_s": -1}}',
        '{"command": {"action": "failure_rate", "failure_rate": 1.5}}',
        '{"command": {"action": "outage", "duration_s": 1, "mode": "teapot"}}',
    ):
        with pytest.raises(ValidationError):
            ControlRequest.model_validate_json(bad)


def test_features_are_deterministic_per_user_and_plausible() -> None:
    assert social_features("u1") == social_features("u1")
    assert geo_features("u1") == geo_features("u1")
    assert abuse_features("u1") == abuse_features("u1")
    users = [f"u{i}" for i in range(500)]
    socials = [social_features(u) for u in users]
    assert len({s.follower_count for s in socials}) > 100  # not one value for everyone
    assert all(s.mutual_friends <= max(s.follower_count, 500) for s in socials)
    risks = sorted(abuse_features(u).risk_score for u in users)
    assert risks[len(risks) // 2] < 0.2 and risks[-1] > 0.5  # most users low risk, a thin tail
    assert len({geo_features(u).country for u in users}) >= 5


def test_session_intent_changes_with_the_period_and_says_until_when() -> None:
    emb = embedding_features("u1", now_s=100.0, intent_period_s=5.0)
    assert emb.intent_epoch == 20 and emb.intent_valid_until == 105.0
    assert emb == embedding_features("u1", now_s=104.9, intent_period_s=5.0)
    assert sum(x * x for x in emb.embedding) == pytest.approx(1.0, abs=1e-4)
    intents = {embedding_features("u1", now_s=5.0 * k, intent_period_s=5.0).session_intent for k in range(60)}
    assert len(intents) >= 3 and intents <= set(SESSION_INTENTS)
    # the embedding itself is slow-changing: the same in every period
    assert embedding_features("u1", now_s=1e6, intent_period_s=5.0).embedding == emb.embedding
