"""The registry's KafkaStore on a real broker: state survives a restart.

Backs story 1: schema ids are written into every Avro message, so a registry
restarted on the same `_schemas` topic must hand back the same ids, versions
and compatibility levels. Uses the broker at `STARLAB_KAFKA_BOOTSTRAP` and a
fresh topic per test (deleted afterwards).
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from starlab.registry import KafkaStore, create_app
from starlab.settings import Settings

pytestmark = pytest.mark.integration

TOPIC_PREFIX = os.environ.get("STARLAB_TEST_TOPIC_PREFIX", "starlab_it_")
"""Prefix of the throwaway topics, so a shared broker's topics are recognisable."""


def record(*fields: dict[str, Any]) -> str:
    return json.dumps({"type": "record", "name": "Event", "namespace": "t", "fields": list(fields)})


ID = {"name": "id", "type": "string"}
V1 = record(ID)
V2 = record(ID, {"name": "score", "type": "int", "default": 0})
V3 = record(ID, {"name": "score", "type": "int", "default": 0}, {"name": "n", "type": "long", "default": 0})
NO_DEFAULT = record(ID, {"name": "extra", "type": "int"})


@pytest.fixture
def bootstrap() -> str:
    return Settings().kafka_bootstrap


@pytest.fixture
def topic(bootstrap: str) -> Iterator[str]:
    from confluent_kafka.admin import AdminClient

    name = f"{TOPIC_PREFIX}schemas_{uuid.uuid4().hex[:8]}"
    yield name
    admin = AdminClient({"bootstrap.servers": bootstrap})  # must outlive its futures
    futures = admin.delete_topics([name], operation_timeout=30)
    for future in futures.values():
        future.result(timeout=30)


def register(client: TestClient, subject: str, schema: str) -> Any:
    return client.post(f"/subjects/{subject}/versions", json={"schema": schema})


def test_a_restarted_registry_returns_the_same_ids_and_versions(bootstrap: str, topic: str) -> None:
    first = KafkaStore(bootstrap, topic, timeout_s=30)
    assert first.replayed == 0
    with TestClient(create_app(first)) as client:
        assert register(client, "orders-value", V1).json() == {"id": 1}
        assert register(client, "orders-value", V2).json() == {"id": 2}
        assert register(client, "payments-value", V2).json() == {"id": 2}
        assert register(client, "orders-value", NO_DEFAULT).status_code == 409
        assert client.put("/config/payments-value", json={"compatibility": "FULL"}).status_code == 200
        assert client.delete("/subjects/orders-value/versions/1").json() == 1
        before = {
            "subjects": client.get("/subjects").json(),
            "orders": client.get("/subjects/orders-value/versions?deleted=true").json(),
            "latest": client.get("/subjects/orders-value/versions/latest").json(),
            "schema2": client.get("/schemas/ids/2").json(),
        }

    second = KafkaStore(bootstrap, topic, timeout_s=30)
    assert second.replayed >= 5  # 4 schema records (one soft delete) + 1 config
    with TestClient(create_app(second)) as client:
        after = {
            "subjects": client.get("/subjects").json(),
            "orders": client.get("/subjects/orders-value/versions?deleted=true").json(),
            "latest": client.get("/subjects/orders-value/versions/latest").json(),
            "schema2": client.get("/schemas/ids/2").json(),
        }
        assert after == before
        assert after["orders"] == [1, 2]
        assert client.get("/subjects/orders-value/versions").json() == [2]
        assert client.get("/config/payments-value").json() == {"compatibilityLevel": "FULL"}
        # Known schemas keep their ids; a new one continues after the highest.
        assert register(client, "audit-value", V1).json() == {"id": 1}
        assert register(client, "orders-value", V3).json() == {"id": 3}
        assert client.get("/subjects/orders-value/versions/latest").json()["version"] == 3


def test_the_schemas_topic_is_compacted_with_one_partition(bootstrap: str, topic: str) -> None:
    from confluent_kafka.admin import AdminClient, ConfigResource

    store = KafkaStore(bootstrap, topic, timeout_s=30)
    store.close()
    admin = AdminClient({"bootstrap.servers": bootstrap})
    metadata = admin.list_topics(topic, timeout=30)
    assert len(metadata.topics[topic].partitions) == 1
    [future] = admin.describe_configs([ConfigResource("topic", topic)]).values()
    assert future.result(timeout=30)["cleanup.policy"].value == "compact"
