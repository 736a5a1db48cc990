"""The stack's Redis is a real server: writes, reads, TTLs, and the LFU policy."""

from __future__ import annotations

import time
import uuid

import pytest
import redis

from starlab.settings import Settings

pytestmark = pytest.mark.integration


def test_write_read_and_ttl(stack: Settings) -> None:
    r = redis.Redis.from_url(stack.redis_url, decode_responses=True)
    key = f"test:{uuid.uuid4().hex}"
    # One MULTI: the server runs the four commands at one instant, so a slow client cannot
    # let the 300 ms pass between the write and the reads.
    pipe = r.pipeline(transaction=True)
    pipe.hset(key, mapping={"ctr": "0.12", "clicks": "7"})
    pipe.pexpire(key, 300)
    pipe.hgetall(key)
    pipe.pttl(key)
    _, _, values, pttl = pipe.execute()
    assert values == {"ctr": "0.12", "clicks": "7"}
    assert 0 < pttl <= 300
    time.sleep(0.4)
    assert r.exists(key) == 0


def test_configured_eviction_policy(stack: Settings) -> None:
    r = redis.Redis.from_url(stack.redis_url, decode_responses=True)
    assert r.config_get("maxmemory-policy")["maxmemory-policy"] == stack.redis_maxmemory_policy
