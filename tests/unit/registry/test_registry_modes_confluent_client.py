"""The registry enforces each subject's mode and refuses invalid schemas, seen through confluent-kafka.

Backs story 1 ("the registry enforces the subject's mode at registration, 409
with the reasons; invalid defaults are refused like Confluent, 422/42201"):
driven by confluent-kafka's real `SchemaRegistryClient` against the app on a
real socket (`live_url` in conftest.py: uvicorn in a thread, memory store, a
free random port; no Kafka).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError


def avro(*fields: dict[str, Any], name: str = "Order", **extra: Any) -> Schema:
    body = {"type": "record", "name": name, "namespace": "shop", "fields": list(fields), **extra}
    return Schema(json.dumps(body), "AVRO")


def fld(name: str, type_: Any, **extra: Any) -> dict[str, Any]:
    return {"name": name, "type": type_, **extra}


ID = fld("id", "string")


@pytest.fixture
def sr(live_url: str) -> SchemaRegistryClient:
    return SchemaRegistryClient({"url": live_url})


def refused(sr: SchemaRegistryClient, subject: str, schema: Schema) -> SchemaRegistryError:
    with pytest.raises(SchemaRegistryError) as info:
        sr.register_schema(subject, schema)
    return info.value


def test_an_invalid_default_is_refused_with_422_42201(sr: SchemaRegistryClient) -> None:
    error = refused(sr, "orders-value", avro(ID, fld("qty", "int", default="one")))
    assert (error.http_status_code, error.error_code) == (422, 42201)
    assert "invalid default for field qty" in error.error_message
    # Java Avro (1.12) checks a union default against every branch, not only the first.
    assert sr.register_schema("orders-value", avro(ID, fld("n", ["null", "int"], default=3))) == 1
    out_of_range = refused(sr, "orders-value", avro(ID, fld("big", "int", default=2**31)))
    assert out_of_range.error_code == 42201
    assert sr.get_versions("orders-value") == [1]  # nothing else was written


def test_each_subject_is_checked_with_its_own_mode(sr: SchemaRegistryClient) -> None:
    v1 = avro(ID, fld("qty", "int"))
    v2 = avro(ID, fld("qty", "int", default=0))
    v3 = avro(ID)  # drops qty: v2 readers cope (default), v1 readers do not
    for subject in ("forward-value", "forward-transitive-value"):
        sr.register_schema(subject, v1)
        sr.register_schema(subject, v2)
    # The client hands back Confluent's response body as is.
    assert sr.set_compatibility("forward-value", "FORWARD") == {"compatibility": "FORWARD"}
    sr.set_compatibility("forward-transitive-value", "FORWARD_TRANSITIVE")
    assert sr.get_compatibility("forward-transitive-value") == "FORWARD_TRANSITIVE"

    assert sr.test_compatibility("forward-value", v3) is True
    assert sr.test_compatibility_all_versions("forward-value", v3) is True
    assert sr.test_compatibility_all_versions("forward-transitive-value", v3) is False
    # Against one version: that version alone, in the subject's direction.
    assert sr.test_compatibility("forward-transitive-value", v3, version=1) is False
    assert sr.test_compatibility("forward-transitive-value", v3, version=2) is True

    assert sr.register_schema("forward-value", v3) > 0
    error = refused(sr, "forward-transitive-value", v3)
    assert (error.http_status_code, error.error_code) == (409, 409)
    # The reasons say which field, which versions, and which mode.
    assert "/fields/1 (qty)" in error.error_message
    assert "reader: version 1" in error.error_message
    assert "FORWARD_TRANSITIVE" in error.error_message
    assert sr.get_versions("forward-transitive-value") == [1, 2]


def test_the_registry_decides_renames_as_java_avro_does(sr: SchemaRegistryClient) -> None:
    subject = "renames-value"
    sr.register_schema(subject, avro(ID, fld("a", "int"), fld("b", "int"), name="Click"))
    # A record alias written as a simple name means the reader's namespace (shop.Click).
    renamed = avro(ID, fld("a", "int"), fld("b", "int"), name="View", aliases=["Click"])
    assert sr.test_compatibility(subject, renamed) is True
    sr.register_schema(subject, renamed)
    # A field alias matching two writer fields: Java throws, Confluent says incompatible.
    ambiguous = avro(ID, fld("c", "int", aliases=["a", "b"]), name="View")
    assert sr.test_compatibility(subject, ambiguous) is False
    error = refused(sr, subject, ambiguous)
    assert error.http_status_code == 409
    assert "matches multiple fields" in error.error_message


def test_none_accepts_anything_and_the_global_level_still_applies_elsewhere(sr: SchemaRegistryClient) -> None:
    sr.register_schema("loose-value", avro(ID))
    sr.register_schema("strict-value", avro(ID))
    sr.set_compatibility("loose-value", "NONE")
    breaking = avro(fld("id", "long"))
    assert sr.register_schema("loose-value", breaking) > 0
    assert sr.get_compatibility() == "BACKWARD"
    assert refused(sr, "strict-value", breaking).http_status_code == 409
