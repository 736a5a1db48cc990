"""Shared fixtures: settings isolated per test, and the real stack for integration tests.

Integration tests never mock the stack: the `stack` fixture uses the running
local stack (`make test` starts it) and starts it itself when it is not up,
stopping it again at the end of the session in that case.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from starlab.settings import Settings, get_settings


@pytest.fixture(scope="session")
def stack() -> Iterator[Settings]:
    from starlab.stack import manager

    settings = get_settings()
    wanted = ["kafka", "schema-registry", "redis"]
    health = {h.name: h for h in manager.status(settings)}
    missing = [n for n in wanted if not health[n].healthy]
    if missing:
        manager.up(settings, missing, progress=lambda m: None)
    yield settings
    if missing:
        manager.down(settings, missing, progress=lambda m: None)


@pytest.fixture
def isolated(stack: Settings) -> Settings:
    """Stack settings with topic names unique to this test."""
    tag = uuid.uuid4().hex[:8]
    return stack.model_copy(
        update={
            "events_topic": f"t{tag}.events",
            "dlq_topic": f"t{tag}.events.dlq",
            "late_topic": f"t{tag}.events.late",
            "metrics_topic": f"t{tag}.metrics",
        }
    )
