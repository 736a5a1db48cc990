"""ensure_topics returns only once the new topics show all their partitions."""

from __future__ import annotations

from concurrent.futures import Future
from types import SimpleNamespace
from typing import Any

import pytest

from starlab import kafka_io
from starlab.errors import StackError
from starlab.kafka_io import TopicSpec
from starlab.settings import Settings


class _LaggingAdmin:
    """Creates topics the metadata shows only after `lag` more list calls."""

    def __init__(self, lag: int) -> None:
        self.lag = lag
        self.topics: dict[str, int] = {}
        self.pending: dict[str, int] = {}

    def list_topics(self, timeout: float) -> SimpleNamespace:
        for name in list(self.pending):
            self.pending[name] -= 1
            if self.pending[name] < 0:
                del self.pending[name]
        shown = {
            name: SimpleNamespace(partitions=dict.fromkeys(range(n)), error=None)
            for name, n in self.topics.items()
            if name not in self.pending
        }
        return SimpleNamespace(topics=shown)

    def create_topics(self, new: list[Any], operation_timeout: float) -> dict[str, Future[None]]:
        out: dict[str, Future[None]] = {}
        for t in new:
            self.topics[t.topic] = t.num_partitions
            self.pending[t.topic] = self.lag
            fut: Future[None] = Future()
            fut.set_result(None)
            out[t.topic] = fut
        return out


def test_new_topics_are_visible_when_ensure_topics_returns(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = _LaggingAdmin(lag=3)
    monkeypatch.setattr(kafka_io, "admin", lambda settings: fake)
    created = kafka_io.ensure_topics(Settings(), [TopicSpec("a", partitions=2), TopicSpec("b")])
    assert created == ["a", "b"]
    assert fake.pending == {}  # every topic was listed before returning


def test_a_topic_that_never_shows_is_an_error_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = _LaggingAdmin(lag=10**6)
    monkeypatch.setattr(kafka_io, "admin", lambda settings: fake)
    with pytest.raises(StackError, match="topics a not visible"):
        kafka_io.ensure_topics(Settings(), [TopicSpec("a")], timeout_s=0.3)
