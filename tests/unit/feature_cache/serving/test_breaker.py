"""The purgatory breaker around the on-demand call: CLOSED -> OPEN -> HALF_OPEN -> CLOSED."""

from __future__ import annotations

import asyncio

import pytest

from feature_cache.errors import DependencyError, FeatureCacheError, FeatureCacheTransientError
from feature_cache.serving.breaker import (
    BreakerConfig,
    BreakerState,
    CallSource,
    OnDemandBreaker,
    StateChange,
)

RECOVERY_S = 0.5
"""purgatory reads time.time() itself, so real (short) recovery times instead of a fake clock;
0.5 s, not less: a loaded 2-core box can stall a process for a few hundred ms, which must not
half-open the circuit before the test looks at it."""


class Dependency:
    """A stand-in for the embeddings call that fails while `failing` is set."""

    def __init__(self) -> None:
        self.failing = False
        self.calls = 0
        self.seen_state: BreakerState | None = None
        self.breaker: OnDemandBreaker[str] | None = None

    async def __call__(self) -> str:
        self.calls += 1
        if self.breaker is not None:
            self.seen_state = self.breaker.state
        if self.failing:
            raise DependencyError("embeddings: http_5xx")
        return "live"


async def _fallback(error: FeatureCacheTransientError) -> str:
    return "batch-only"


def _breaker(threshold: int = 3) -> tuple[OnDemandBreaker[str], Dependency, list[StateChange]]:
    changes: list[StateChange] = []
    breaker = OnDemandBreaker(
        BreakerConfig(failure_threshold=threshold, recovery_s=RECOVERY_S),
        fallback=_fallback,
        on_state_change=changes.append,
    )
    dep = Dependency()
    dep.breaker = breaker
    return breaker, dep, changes


def test_full_cycle_closed_open_half_open_closed() -> None:
    async def scenario() -> None:
        breaker, dep, changes = _breaker(threshold=3)
        assert breaker.state is BreakerState.CLOSED
        dep.failing = True
        for _i in range(3):
            result = await breaker.call(dep)
            assert result.source is CallSource.FALLBACK_ERROR and result.value == "batch-only"
            assert result.degraded
        assert breaker.state is BreakerState.OPEN and dep.calls == 3
        # open: refused without calling the dependency
        result = await breaker.call(dep)
        assert result.source is CallSource.FALLBACK_OPEN and dep.calls == 3
        assert breaker.effective_state is BreakerState.OPEN
        await asyncio.sleep(RECOVERY_S * 1.5)
        assert breaker.effective_state is BreakerState.HALF_OPEN
        dep.failing = False
        result = await breaker.call(dep)  # the trial call
        assert dep.seen_state is BreakerState.HALF_OPEN  # visible during the trial
        assert result.source is CallSource.LIVE and not result.degraded
        assert breaker.state is BreakerState.CLOSED
        assert [(c.old, c.new) for c in changes] == [
            (BreakerState.CLOSED, BreakerState.OPEN),
            (BreakerState.OPEN, BreakerState.HALF_OPEN),
            (BreakerState.HALF_OPEN, BreakerState.CLOSED),
        ]

    asyncio.run(scenario())


def test_failed_trial_reopens() -> None:
    async def scenario() -> None:
        breaker, dep, changes = _breaker(threshold=1)
        dep.failing = True
        await breaker.call(dep)
        assert breaker.state is BreakerState.OPEN
        await asyncio.sleep(RECOVERY_S * 1.5)
        result = await breaker.call(dep)
        assert result.source is CallSource.FALLBACK_ERROR
        assert breaker.state is BreakerState.OPEN
        assert [c.new for c in changes] == [BreakerState.OPEN, BreakerState.HALF_OPEN, BreakerState.OPEN]
        # and it refuses again right away
        assert (await breaker.call(dep)).source is CallSource.FALLBACK_OPEN

    asyncio.run(scenario())


def test_a_success_resets_the_consecutive_failure_count() -> None:
    async def scenario() -> None:
        breaker, dep, _ = _breaker(threshold=3)
        for _ in range(5):
            dep.failing = True
            await breaker.call(dep)
            await breaker.call(dep)
            dep.failing = False
            await breaker.call(dep)
        assert breaker.state is BreakerState.CLOSED  # never 3 in a row

    asyncio.run(scenario())


def test_terminal_errors_propagate_and_do_not_count() -> None:
    async def scenario() -> None:
        breaker, _, changes = _breaker(threshold=1)

        async def bad_request() -> str:
            raise FeatureCacheError("embeddings: http_4xx")

        for _ in range(3):
            with pytest.raises(FeatureCacheError, match="http_4xx"):
                await breaker.call(bad_request)
        assert breaker.state is BreakerState.CLOSED and changes == []

    asyncio.run(scenario())


def test_without_fallback_the_transient_error_reaches_the_caller() -> None:
    async def scenario() -> None:
        breaker: OnDemandBreaker[str] = OnDemandBreaker(BreakerConfig(failure_threshold=1, recovery_s=10))
        dep = Dependency()
        dep.failing = True
        with pytest.raises(DependencyError):
            await breaker.call(dep)
        with pytest.raises(FeatureCacheTransientError, match="open"):
            await breaker.call(dep)

    asyncio.run(scenario())
