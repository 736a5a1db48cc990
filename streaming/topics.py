"""The topics of story 3's path: the edge's two, plus the Flink job's late-events and metrics outputs.

Created before anything produces (auto-creation is off on the broker) and
deleted together when a run starts over, so every run's counts compare with
its own ground-truth manifest.
"""

from __future__ import annotations

from starlab.events.producer import edge_topics
from starlab.kafka_io import TopicSpec
from starlab.settings import Settings


def stream_topics(settings: Settings) -> list[TopicSpec]:
    p = settings.kafka_partitions
    return [*edge_topics(settings), TopicSpec(settings.late_topic, p), TopicSpec(settings.metrics_topic, p)]


__all__ = ["stream_topics"]
