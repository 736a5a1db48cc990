"""The registry waits for a new schemas topic to show its partitions.

On the cluster topology the broker answering a metadata request right after
CreateTopics may not know the topic yet (CI saw "has 0 partitions").
"""

from __future__ import annotations

from types import SimpleNamespace

from starlab.registry.store import partition_count


class _LaggingAdmin:
    """Answers `unknown` times without the topic, then with `partitions`."""

    def __init__(self, unknown: int, partitions: int) -> None:
        self.unknown = unknown
        self.partitions = partitions
        self.calls = 0

    def list_topics(self, topic: str, timeout: float) -> SimpleNamespace:
        self.calls += 1
        if self.calls <= self.unknown:
            return SimpleNamespace(topics={topic: SimpleNamespace(partitions={}, error="UNKNOWN_TOPIC")})
        parts = {i: object() for i in range(self.partitions)}
        return SimpleNamespace(topics={topic: SimpleNamespace(partitions=parts, error=None)})


def test_a_topic_the_broker_learns_late_is_counted_once_it_knows_it() -> None:
    admin = _LaggingAdmin(unknown=3, partitions=1)
    assert partition_count(admin, "_schemas", timeout_s=5) == 1
    assert admin.calls == 4


def test_a_topic_with_two_partitions_is_reported_as_two() -> None:
    assert partition_count(_LaggingAdmin(unknown=0, partitions=2), "_schemas", timeout_s=5) == 2


def test_a_topic_that_never_shows_gives_zero_after_the_deadline() -> None:
    admin = _LaggingAdmin(unknown=10**6, partitions=1)
    assert partition_count(admin, "_schemas", timeout_s=0.3) == 0
    assert admin.calls >= 2
