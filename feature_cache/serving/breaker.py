"""Circuit breaker around design B's on-demand embeddings call, on `purgatory` 3.0.1.

Backs the 004 story's "circuit-breaker fallback" ("Enable circuit breaker to
fall back to batch-only features for overloaded segments"): when the
embeddings service keeps failing, stop calling it for a while and serve
degraded features instead of failing or waiting.

States (purgatory's, shown as `BreakerState`):
- CLOSED: calls pass; `failure_threshold` consecutive transient failures open
  it (a success resets the count: purgatory counts consecutive failures).
- OPEN: calls are refused at once (no network) and go to the fallback, for
  `recovery_s` seconds.
- HALF_OPEN: the first call after `recovery_s` is a trial: success closes,
  failure re-opens. purgatory moves OPEN -> HALF_OPEN lazily, on that first
  call, and lets concurrent calls through while half-open (no single-probe
  limit); `state` reports what purgatory holds, `effective_state` what the
  next call will meet.

Only `FeatureCacheTransientError` counts as a failure (a timeout, a 5xx, a
reset): a terminal error (a 4xx, an off-schema answer) proves the service is
up, so purgatory is told to treat it as a success for the breaker's count,
and it is re-raised to the caller rather than hidden by the fallback. A
call cancelled from outside (the request's own deadline) counts as a
failure and the cancellation propagates: a call slow enough to be cancelled
is what a breaker guarding latency is for.

purgatory reads `time.time()` itself (no injectable clock); tests use
recovery times of tens of milliseconds. State can live in Redis
(`AsyncRedisUnitOfWork`) so several serving processes share one breaker.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Generic, Literal, TypeVar

from purgatory import AsyncCircuitBreakerFactory, AsyncInMemoryUnitOfWork, AsyncRedisUnitOfWork
from purgatory.domain.messages.base import Event
from purgatory.domain.messages.events import ContextChanged
from purgatory.domain.model import Context, OpenedState
from pydantic import BaseModel, ConfigDict, Field

from feature_cache.errors import FeatureCacheTransientError

T = TypeVar("T")


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


_FROM_PURGATORY: dict[str, BreakerState] = {
    "closed": BreakerState.CLOSED,
    "opened": BreakerState.OPEN,
    "half-opened": BreakerState.HALF_OPEN,
}


class BreakerConfig(BaseModel):
    """Breaker settings (ours: the story names the breaker, not its numbers)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(default="embeddings", min_length=1)
    failure_threshold: int = Field(default=5, ge=1, le=10_000)
    """Consecutive transient failures that open the circuit. At the story's 0.5%
    failure rate, 5 in a row happens with probability 3e-12 per call: a breaker
    that opens means an outage, not noise."""
    recovery_s: float = Field(default=10.0, gt=0, le=3_600)
    """Time the circuit stays open before a trial call."""
    redis_url: str | None = None
    """Share the breaker's state across processes through Redis (None: in memory)."""


class CallSource(StrEnum):
    LIVE = "live"
    """The protected call answered."""
    FALLBACK_OPEN = "fallback_open"
    """The circuit was open: the call was not attempted."""
    FALLBACK_ERROR = "fallback_error"
    """The call failed transiently; the fallback answered."""


@dataclass(frozen=True)
class BreakerResult(Generic[T]):
    """The value served and where it came from; `degraded` flags a fallback for the response."""

    value: T
    source: CallSource
    state_after: BreakerState
    error: str | None = None

    @property
    def degraded(self) -> bool:
        return self.source is not CallSource.LIVE


@dataclass(frozen=True)
class StateChange:
    at: float
    """Unix seconds (purgatory's clock)."""
    old: BreakerState
    new: BreakerState


class _NoFallback(FeatureCacheTransientError):
    """Raised to the caller when the circuit refuses or the call fails and no fallback is set."""


class OnDemandBreaker(Generic[T]):
    """`await breaker.call(fetch)` -> live value, or the fallback's when open or failing.

    `fallback(error)` receives the transient error (or the open-circuit
    refusal) and returns the degraded value, e.g. batch-only features.
    """

    def __init__(
        self,
        config: BreakerConfig | None = None,
        *,
        fallback: Callable[[FeatureCacheTransientError], Awaitable[T]] | None = None,
        on_state_change: Callable[[StateChange], None] | None = None,
    ) -> None:
        self.config = config or BreakerConfig()
        self._fallback = fallback
        self._on_state_change = on_state_change
        uow = (
            AsyncRedisUnitOfWork(self.config.redis_url)
            if self.config.redis_url
            else AsyncInMemoryUnitOfWork()
        )
        self._factory = AsyncCircuitBreakerFactory(
            default_threshold=self.config.failure_threshold,
            default_ttl=self.config.recovery_s,
            # A terminal error means the service answered: not a breaker failure.
            exclude=[(Exception, lambda exc: not isinstance(exc, FeatureCacheTransientError))],
            uow=uow,
        )
        self._factory.add_listener(self._hook)
        self._initialized = False
        self._context: Context | None = None
        self._state = BreakerState.CLOSED  # last state published by purgatory's events
        self.transitions: list[StateChange] = []

    def _hook(
        self,
        name: str,
        event_name: Literal["circuit_breaker_created", "state_changed", "failed", "recovered"],
        event: Event,
    ) -> None:
        if event_name != "state_changed" or not isinstance(event, ContextChanged):
            return
        new = _FROM_PURGATORY[event.state]
        change = StateChange(at=time.time(), old=self._state, new=new)
        self._state = new
        self.transitions.append(change)
        if self._on_state_change is not None:
            self._on_state_change(change)

    @property
    def state(self) -> BreakerState:
        """The state purgatory holds (OPEN stays OPEN until a call arrives after recovery_s).

        Read from purgatory's context, so it is HALF_OPEN during the trial call
        itself; purgatory publishes its events (and `transitions`) only when
        that call ends.
        """
        if self._context is None:
            return BreakerState.CLOSED
        return _FROM_PURGATORY[self._context.state]

    @property
    def effective_state(self) -> BreakerState:
        """The state the next call meets: OPEN past its recovery time reads HALF_OPEN."""
        state = self.state
        opened_at = self._context.opened_at if self._context is not None else None
        if (
            state is BreakerState.OPEN
            and opened_at is not None
            and time.time() > opened_at + self.config.recovery_s
        ):
            return BreakerState.HALF_OPEN
        return state

    async def call(self, fn: Callable[[], Awaitable[T]]) -> BreakerResult[T]:
        """Run `fn` through the breaker; transient failures and refusals go to the fallback."""
        if not self._initialized:
            await self._factory.initialize()
            self._initialized = True
        breaker = await self._factory.get_breaker(self.config.name)
        self._context = breaker.context
        try:
            async with breaker:
                value = await fn()
        except OpenedState as refused:
            return await self._degrade(
                CallSource.FALLBACK_OPEN, _NoFallback(f"circuit {self.config.name} is open"), str(refused)
            )
        except FeatureCacheTransientError as exc:
            return await self._degrade(CallSource.FALLBACK_ERROR, exc, str(exc))
        return BreakerResult(value, CallSource.LIVE, self.state)

    async def _degrade(
        self, source: CallSource, error: FeatureCacheTransientError, detail: str
    ) -> BreakerResult[T]:
        if self._fallback is None:
            raise error
        value = await self._fallback(error)
        return BreakerResult(value, source, self.state, detail)


__all__ = [
    "BreakerConfig",
    "BreakerResult",
    "BreakerState",
    "CallSource",
    "OnDemandBreaker",
    "StateChange",
]
