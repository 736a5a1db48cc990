"""Rate limiting of low-value request types (limits 5.8, moving window, in memory)."""

from __future__ import annotations

import asyncio

import pytest

from feature_cache.serving.limits import LowValueRateLimiter, RateLimitConfig


def test_limited_type_is_cut_at_its_rate_and_others_pass() -> None:
    async def scenario() -> None:
        limiter = LowValueRateLimiter(RateLimitConfig(limits={"digest": "5/second"}))
        decisions = [await limiter.check("digest") for _ in range(8)]
        assert [d.allowed for d in decisions] == [True] * 5 + [False] * 3
        assert [d.remaining for d in decisions[:5]] == [4, 3, 2, 1, 0]
        assert all(d.limited for d in decisions)
        critical = [await limiter.check("security_alert") for _ in range(100)]
        assert all(d.allowed and not d.limited and d.remaining is None for d in critical)

    asyncio.run(scenario())


def test_moving_window_frees_capacity_after_the_window() -> None:
    async def scenario() -> None:
        limiter = LowValueRateLimiter(RateLimitConfig(limits={"promotional": "2/second"}))
        assert (await limiter.check("promotional")).allowed
        assert (await limiter.check("promotional")).allowed
        assert not (await limiter.check("promotional")).allowed
        await asyncio.sleep(1.05)  # limits' granularity is the second; one window is the shortest wait
        assert (await limiter.check("promotional")).allowed

    asyncio.run(scenario())


def test_denied_requests_do_not_consume_the_window() -> None:
    async def scenario() -> None:
        limiter = LowValueRateLimiter(RateLimitConfig(limits={"digest": "3/second"}))
        for _ in range(3):
            await limiter.check("digest")
        for _ in range(50):
            assert not (await limiter.check("digest")).allowed
        await limiter.clear("digest")
        assert (await limiter.check("digest")).remaining == 2

    asyncio.run(scenario())


def test_disengaged_limiter_allows_everything() -> None:
    async def scenario() -> None:
        limiter = LowValueRateLimiter(RateLimitConfig(limits={"digest": "1/second"}, engaged=False))
        assert all([(await limiter.check("digest")).allowed for _ in range(20)])
        limiter.engaged = True
        assert (await limiter.check("digest")).allowed
        assert not (await limiter.check("digest")).allowed

    asyncio.run(scenario())


def test_bad_limit_strings_are_refused_with_the_type_named() -> None:
    with pytest.raises(ValueError, match="digest"):
        RateLimitConfig(limits={"digest": "lots per day"})
