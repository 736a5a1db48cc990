"""Rate limiting of low-value request types under overload, on `limits` 5.8 (`limits.aio`).

Backs the 004 story's mitigation "Rate-limit lowest-value notification types
to protect SLOs": when traffic doubles, design B sheds the request types
that matter least (e.g. digest or promotional notifications) so the ones
that matter keep their latency. Types without a configured limit are never
limited.

A moving window (`MovingWindowRateLimiter`): at most N requests in any
interval of the window's length, not N per calendar second, so a burst
straddling a window boundary cannot get 2N through. Storage is in memory by
default (per process); with `redis_url` the window is shared by all serving
processes (limits' Redis storage through redis-py, `implementation=
"redispy"`: the default client, coredis, is not installed, and limits'
extras pin old clients).

`engaged` is the mitigation switch: the regression scenario turns limiting
on as one step and measures what it restores; while disengaged every
request is allowed and nothing is counted.
"""

from __future__ import annotations

from dataclasses import dataclass

from limits import RateLimitItem, parse
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string
from pydantic import BaseModel, ConfigDict, Field, field_validator

from feature_cache.errors import FeatureCacheConfigError

DEFAULT_LOW_VALUE_LIMITS: dict[str, str] = {
    # Ours: the story names no types or rates. Sized for the 2-core demo's
    # QPS, not production's.
    "digest": "20/second",
    "promotional": "10/second",
}


class RateLimitConfig(BaseModel):
    """Which request types are limited, at what rate, and where the windows live."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    limits: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_LOW_VALUE_LIMITS))
    """Request type -> limit in `limits` notation ("20/second", "100 per 10 seconds")."""
    redis_url: str | None = None
    """e.g. redis://127.0.0.1:6379/0; None keeps the windows in this process's memory."""
    key_prefix: str = Field(default="starlab:features:ratelimit", min_length=1)
    engaged: bool = True

    @field_validator("limits")
    @classmethod
    def _parseable(cls, value: dict[str, str]) -> dict[str, str]:
        for request_type, spec in value.items():
            try:
                parse(spec)
            except ValueError as exc:
                raise ValueError(f"limits[{request_type!r}]: {spec!r} is not a rate limit ({exc})") from exc
        return value


@dataclass(frozen=True)
class RateDecision:
    allowed: bool
    request_type: str
    limited: bool
    """Whether a limit applies to this type at all (False: always allowed)."""
    remaining: int | None
    """Requests left in the current moving window (None when not limited)."""
    reset_at: float | None
    """Unix seconds at which the oldest request in the window leaves it."""


class LowValueRateLimiter:
    """`await limiter.check("digest")` -> RateDecision(allowed=...)."""

    def __init__(self, config: RateLimitConfig | None = None) -> None:
        self.config = config or RateLimitConfig()
        self._items: dict[str, RateLimitItem] = {t: parse(s) for t, s in self.config.limits.items()}
        if self.config.redis_url:
            url = self.config.redis_url
            if not url.startswith(("redis://", "rediss://")):
                raise FeatureCacheConfigError(f"redis_url: expected redis:// or rediss://, got {url!r}")
            storage = storage_from_string(
                f"async+{url}", implementation="redispy", key_prefix=self.config.key_prefix
            )
        else:
            storage = storage_from_string("async+memory://")
        self._limiter = MovingWindowRateLimiter(storage)
        self.engaged = self.config.engaged

    async def check(self, request_type: str, cost: int = 1) -> RateDecision:
        """Consume `cost` from the type's window if allowed; never counts a denied request."""
        item = self._items.get(request_type)
        if item is None or not self.engaged:
            return RateDecision(True, request_type, item is not None, None, None)
        allowed = await self._limiter.hit(item, request_type, cost=cost)
        stats = await self._limiter.get_window_stats(item, request_type)
        return RateDecision(allowed, request_type, True, max(0, stats.remaining), stats.reset_time)

    async def clear(self, request_type: str) -> None:
        item = self._items.get(request_type)
        if item is not None:
            await self._limiter.clear(item, request_type)


__all__ = ["DEFAULT_LOW_VALUE_LIMITS", "LowValueRateLimiter", "RateDecision", "RateLimitConfig"]
