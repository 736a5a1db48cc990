"""Who a contract change reaches: topic consumers, and the dbt lineage behind them.

Backs story 1's "mapped lineage for 8 critical tables and identified columns
at risk" and "protect downstream users": every change the gate reports
names its consumers, from two sources of truth that exist anyway: dbt's
manifest (`child_map` down to exposures) for the warehouse, and
contracts/consumers.yaml for Kafka topics. A topic whose consumer is a dbt
source (the engagement topic reaches dbt through the lake) joins the two,
so a broken event field names the Sales report it would have emptied.
"""

from __future__ import annotations

from contracts.gate.declarations import ConsumersFile
from contracts.gate.manifest import ManifestView
from contracts.gate.model import Impact, Rule, Violation


def topic_impact(topic: str, consumers: ConsumersFile, view: ManifestView | None) -> Impact:
    """Consumers of `topic`, plus the models and exposures downstream of its dbt sources."""
    labels: list[str] = []
    models: set[str] = set()
    exposures: set[str] = set()
    for consumer in consumers.consumers_of(topic):
        labels.append(consumer.label)
        if consumer.dbt_source and view is not None:
            source = view.source_id(consumer.dbt_source)
            if source is not None:
                found_models, found_exposures = view.downstream([source])
                models.update(found_models)
                exposures.update(found_exposures)
    return Impact(models=tuple(sorted(models)), exposures=tuple(sorted(exposures)), consumers=tuple(labels))


def map_violations(consumers: ConsumersFile, view: ManifestView) -> list[Violation]:
    """The map must point at dbt sources that exist, or impact silently stops at the topic."""
    out = []
    for topic, entry in sorted(consumers.topics.items()):
        for consumer in entry.consumers:
            if consumer.dbt_source and view.source_id(consumer.dbt_source) is None:
                out.append(
                    Violation(
                        Rule.MAP_INCOMPLETE,
                        "contracts/consumers.yaml",
                        f"consumer {consumer.name} of {topic}",
                        f"names dbt source '{consumer.dbt_source}', which the dbt project does not define",
                        "point dbt_source at an existing source (source_name.table) or remove the consumer",
                    )
                )
    return out


__all__ = ["map_violations", "topic_impact"]
