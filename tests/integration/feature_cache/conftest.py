"""Fixtures of the feature-cache integration tests: a Redis key prefix of their own."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import redis

from feature_cache.bench.rig import delete_prefix
from starlab.settings import Settings


@pytest.fixture
def prefix(stack: Settings) -> Iterator[str]:
    """A key prefix unique to the test on the shared Redis; its keys are deleted afterwards."""
    p = f"t{uuid.uuid4().hex[:8]}:fc"
    yield p
    client = redis.Redis.from_url(stack.redis_url)
    delete_prefix(client, p)
    client.close()
