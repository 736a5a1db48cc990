"""Settings come from STARLAB_ variables; stack selection and config render right."""

from __future__ import annotations

from pathlib import Path

import pytest

from starlab.errors import StackError
from starlab.settings import Settings
from starlab.stack import manager
from starlab.stack.components import KAFKA_PROPERTIES, Kafka, Redis, SchemaRegistry


def test_env_prefix_overrides_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("STARLAB_DATA_DIR", "STARLAB_DUCKDB_PATH"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("STARLAB_KAFKA_BOOTSTRAP", "broker:29092")
    monkeypatch.setenv("STARLAB_HOME", "/tmp/x")
    s = Settings()
    assert s.kafka_bootstrap == "broker:29092"
    assert (s.kafka_host, s.kafka_port) == ("broker", 29092)
    assert s.jars_dir == Path("/tmp/x/jars")
    assert s.warehouse_path == Path("data/warehouse.duckdb")


def test_component_addresses_follow_settings() -> None:
    s = Settings(redis_url="redis://127.0.0.1:7777/0", schema_registry_url="http://127.0.0.1:18081")
    assert (Redis(s).host, Redis(s).port) == ("127.0.0.1", 7777)
    assert SchemaRegistry(s).port == 18081
    assert Kafka(s).port == 9092


def test_registry_pulls_in_kafka_and_order_is_kept() -> None:
    names = [c.name for c in manager.components(Settings(), ["redis", "schema-registry"])]
    assert names == ["kafka", "schema-registry", "redis"]


def test_unknown_component_is_refused() -> None:
    with pytest.raises(StackError, match="unknown component"):
        manager.components(Settings(), ["zookeeper"])


def test_kafka_properties_are_single_node_kraft() -> None:
    text = KAFKA_PROPERTIES.format(
        host="127.0.0.1", port=9092, controller_port=9093, log_dirs="/d", partitions=2
    )
    props = dict(line.split("=", 1) for line in text.splitlines() if "=" in line and not line.startswith("#"))
    assert props["process.roles"] == "broker,controller"
    assert props["transaction.state.log.replication.factor"] == "1"
    assert int(props["transaction.max.timeout.ms"]) <= 900_000
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093"


def test_cluster_ids_never_look_like_an_option() -> None:
    from starlab.stack.components import kafka_cluster_id

    ids = [kafka_cluster_id() for _ in range(2_000)]  # ~1 in 64 would start with '-'
    assert all(len(i) == 22 and not i.startswith("-") for i in ids)
    assert len(set(ids)) == len(ids)
