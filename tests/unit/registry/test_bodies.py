"""The registry's JSON bodies have exactly the keys their TypedDicts declare.

Backs story 1: Confluent clients read these bodies by key, and
`starlab.registry.bodies` is what the code is type-checked against; FastAPI
does not validate responses against it, so a body that drifts from its
declared type (a key added, renamed or dropped) must fail here.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from starlab.registry import MemoryStore, create_app
from starlab.registry.bodies import (
    CompatibilityBody,
    ConfigBody,
    ConfigUpdateBody,
    ErrorBody,
    RegisteredId,
    SchemaVersionBody,
)

ID = {"name": "id", "type": "string"}
V1 = json.dumps({"type": "record", "name": "Event", "namespace": "t", "fields": [ID]})
NO_DEFAULT = json.dumps(
    {"type": "record", "name": "Event", "namespace": "t", "fields": [ID, {"name": "n", "type": "int"}]}
)


@pytest.fixture
def client() -> Iterator[TestClient]:
    with TestClient(create_app(MemoryStore())) as c:
        yield c


def assert_shape(body: Any, declared: Any) -> None:
    """`body`'s keys are the TypedDict's required keys plus some of its optional ones."""
    assert isinstance(body, dict)
    keys = set(body)
    assert keys == declared.__required_keys__ | (keys & declared.__optional_keys__), (
        f"{declared.__name__}: got {sorted(keys)}, required {sorted(declared.__required_keys__)}, "
        f"optional {sorted(declared.__optional_keys__)}"
    )


def test_optional_keys_are_declared_optional() -> None:
    # Guards the TypedDicts themselves (string annotations would make NotRequired keys required).
    assert CompatibilityBody.__optional_keys__ == {"messages"}
    assert SchemaVersionBody.__optional_keys__ == {"schemaType"}
    assert SchemaVersionBody.__required_keys__ == {"subject", "version", "id", "schema"}


def test_register_and_get_version_bodies(client: TestClient) -> None:
    registered = client.post("/subjects/a-value/versions", json={"schema": V1})
    assert registered.status_code == 200
    assert_shape(registered.json(), RegisteredId)
    for path in ("/subjects/a-value/versions/latest", "/subjects/a-value/versions/1"):
        assert_shape(client.get(path).json(), SchemaVersionBody)
    assert_shape(client.post("/subjects/a-value", json={"schema": V1}).json(), SchemaVersionBody)
    missing = client.get("/subjects/a-value/versions/7")
    assert missing.status_code == 404
    assert_shape(missing.json(), ErrorBody)


def test_compatibility_body_with_and_without_messages(client: TestClient) -> None:
    client.post("/subjects/a-value/versions", json={"schema": V1})
    url = "/compatibility/subjects/a-value/versions/latest"
    plain = client.post(url, json={"schema": NO_DEFAULT}).json()
    assert_shape(plain, CompatibilityBody)
    assert "messages" not in plain
    verbose = client.post(url, params={"verbose": "true"}, json={"schema": NO_DEFAULT}).json()
    assert_shape(verbose, CompatibilityBody)
    assert verbose["messages"]


def test_config_bodies_get_and_put_differ(client: TestClient) -> None:
    # Confluent answers a PUT with the request's key, `compatibility`, not `compatibilityLevel`.
    assert_shape(client.get("/config").json(), ConfigBody)
    assert_shape(client.put("/config", json={"compatibility": "FULL"}).json(), ConfigUpdateBody)
    assert_shape(client.put("/config/a-value", json={"compatibility": "NONE"}).json(), ConfigUpdateBody)
    assert_shape(client.get("/config/a-value").json(), ConfigBody)
    assert_shape(client.delete("/config/a-value").json(), ConfigBody)
