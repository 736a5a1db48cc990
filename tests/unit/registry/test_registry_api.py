"""The registry's Confluent REST API, on a MemoryStore (no external process).

Backs story 1: producers, consumers and Flink talk to this registry as if it
were Confluent's; an incompatible change must be refused with 409, ids must be
stable, and confluent-kafka's own `SchemaRegistryClient` must work against it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from starlab.registry import MEDIA_TYPE, MemoryStore, create_app
from starlab.schema import canonical_text, parse_schema


def record(*fields: dict[str, Any], name: str = "Event") -> str:
    return json.dumps({"type": "record", "name": name, "namespace": "t", "fields": list(fields)})


ID = {"name": "id", "type": "string"}
V1 = record(ID)
V2 = record(ID, {"name": "score", "type": "int", "default": 0})
NO_DEFAULT = record(ID, {"name": "score", "type": "int"})  # BACKWARD-incompatible after V1
OTHER = record(ID, name="Other")


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def client(store: MemoryStore) -> Iterator[TestClient]:
    with TestClient(create_app(store)) as c:
        yield c


def register(client: TestClient, subject: str, schema: str, **extra: Any) -> Any:
    return client.post(f"/subjects/{subject}/versions", json={"schema": schema, **extra})


# --------------------------------------------------------------------------- register / ids


def test_register_returns_stable_global_ids(client: TestClient) -> None:
    assert register(client, "a-value", V1).json() == {"id": 1}
    assert register(client, "a-value", V1).json() == {"id": 1}  # idempotent
    assert client.get("/subjects/a-value/versions").json() == [1]  # ... and no new version
    # Same schema, other formatting, other subject: same id (ids are global).
    reformatted = json.dumps(json.loads(V1), indent=4, sort_keys=True)
    assert register(client, "b-value", reformatted).json() == {"id": 1}
    assert register(client, "a-value", V2).json() == {"id": 2}
    assert register(client, "c-value", OTHER).json() == {"id": 3}
    assert client.get("/subjects").json() == ["a-value", "b-value", "c-value"]


def test_incompatible_registration_is_refused_with_409(client: TestClient) -> None:
    register(client, "a-value", V1)
    response = register(client, "a-value", NO_DEFAULT)
    assert response.status_code == 409
    body = response.json()
    assert body["error_code"] == 409
    assert "incompatible with an earlier schema" in body["message"]
    assert "/fields/1 (score)" in body["message"]
    assert client.get("/subjects/a-value/versions").json() == [1]  # nothing was written


def test_latest_and_specific_versions(client: TestClient) -> None:
    register(client, "a-value", V1)
    register(client, "a-value", V2)
    latest = client.get("/subjects/a-value/versions/latest").json()
    assert latest == {
        "subject": "a-value",
        "version": 2,
        "id": 2,
        "schema": canonical_text(parse_schema(V2)),
    }
    assert client.get("/subjects/a-value/versions/-1").json()["version"] == 2
    assert client.get("/subjects/a-value/versions/1").json()["id"] == 1
    raw = client.get("/subjects/a-value/versions/1/schema")
    assert json.loads(raw.text) == json.loads(canonical_text(parse_schema(V1)))


def test_schema_by_id_and_where_it_is_used(client: TestClient) -> None:
    register(client, "a-value", V1)
    register(client, "b-value", V1)
    assert client.get("/schemas/ids/1").json() == {"schema": canonical_text(parse_schema(V1))}
    assert client.get("/schemas/ids/1/versions").json() == [
        {"subject": "a-value", "version": 1},
        {"subject": "b-value", "version": 1},
    ]
    assert client.get("/schemas/ids/1/subjects").json() == ["a-value", "b-value"]
    assert client.get("/schemas/types").json() == ["AVRO"]


def test_lookup_finds_the_version_of_a_schema(client: TestClient) -> None:
    register(client, "a-value", V1)
    register(client, "a-value", V2)
    found = client.post("/subjects/a-value", json={"schema": V1})
    assert found.status_code == 200
    assert found.json()["version"] == 1 and found.json()["id"] == 1
    missing = client.post("/subjects/a-value", json={"schema": OTHER})
    assert (missing.status_code, missing.json()["error_code"]) == (404, 40403)
    no_subject = client.post("/subjects/nope", json={"schema": V1})
    assert (no_subject.status_code, no_subject.json()["error_code"]) == (404, 40401)


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("get", "/subjects/nope/versions", 404, 40401),
        ("get", "/subjects/nope/versions/latest", 404, 40401),
        ("get", "/subjects/a-value/versions/7", 404, 40402),
        ("get", "/subjects/a-value/versions/0", 422, 42202),
        ("get", "/subjects/a-value/versions/abc", 422, 42202),
        ("get", "/schemas/ids/99", 404, 40403),
        ("get", "/config/a-value", 404, 40408),
        ("delete", "/subjects/nope", 404, 40401),
    ],
)
def test_errors_use_confluent_codes(
    client: TestClient, method: str, path: str, status: int, code: int
) -> None:
    register(client, "a-value", V1)
    response = client.request(method.upper(), path)
    assert response.status_code == status
    assert response.json()["error_code"] == code
    assert response.json()["message"]


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"schema": '{"type": "record", "name": "A", '}, "invalid JSON"),
        ({"schema": '{"type": "nope"}'}, "nope"),
        ({"schema": '{"type": "string"}', "schemaType": "PROTOBUF"}, "AVRO only"),
        ({"schema": V1, "references": [{"name": "x", "subject": "y", "version": 1}]}, "references"),
        ({}, "no 'schema'"),
    ],
)
def test_invalid_schemas_get_42201(client: TestClient, body: dict[str, Any], needle: str) -> None:
    response = client.post("/subjects/a-value/versions", json=body)
    assert response.status_code == 422
    assert response.json()["error_code"] == 42201
    assert needle in response.json()["message"]


def test_confluent_media_type_in_and_out(client: TestClient) -> None:
    response = client.post(
        "/subjects/a-value/versions",
        content=json.dumps({"schema": V1}),
        headers={"Content-Type": MEDIA_TYPE},
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(MEDIA_TYPE)
    assert response.json() == {"id": 1}
    # curl without a content type still works
    bare = client.post("/subjects/b-value/versions", content=json.dumps({"schema": V1}))
    assert bare.json() == {"id": 1}
    unknown = client.get("/no/such/path")
    assert unknown.status_code == 404 and unknown.json()["error_code"] == 404


# --------------------------------------------------------------------------- config


def test_global_config_defaults_to_backward_and_can_change(client: TestClient) -> None:
    assert client.get("/config").json() == {"compatibilityLevel": "BACKWARD"}
    assert client.put("/config", json={"compatibility": "full"}).json() == {"compatibility": "FULL"}
    assert client.get("/config").json() == {"compatibilityLevel": "FULL"}
    bad = client.put("/config", json={"compatibility": "SIDEWAYS"})
    assert (bad.status_code, bad.json()["error_code"]) == (422, 42203)
    assert client.delete("/config").json() == {"compatibilityLevel": "FULL"}
    assert client.get("/config").json() == {"compatibilityLevel": "BACKWARD"}


def test_subject_config_overrides_global(client: TestClient) -> None:
    client.put("/config", json={"compatibility": "NONE"})
    client.put("/config/strict-value", json={"compatibility": "BACKWARD"})
    for subject in ("strict-value", "loose-value"):
        register(client, subject, V1)
    assert register(client, "loose-value", NO_DEFAULT).status_code == 200
    assert register(client, "strict-value", NO_DEFAULT).status_code == 409

    assert client.get("/config/strict-value").json() == {"compatibilityLevel": "BACKWARD"}
    assert client.get("/config/loose-value").status_code == 404
    assert client.get("/config/loose-value", params={"defaultToGlobal": "true"}).json() == {
        "compatibilityLevel": "NONE"
    }
    assert client.delete("/config/strict-value").json() == {"compatibilityLevel": "BACKWARD"}
    assert register(client, "strict-value", NO_DEFAULT).status_code == 200  # global NONE now


# --------------------------------------------------------------------------- compatibility API


def test_compatibility_endpoint_with_verbose_messages(client: TestClient) -> None:
    register(client, "a-value", V1)
    url = "/compatibility/subjects/a-value/versions/latest"
    assert client.post(url, json={"schema": V2}).json() == {"is_compatible": True}
    plain = client.post(url, json={"schema": NO_DEFAULT})
    assert plain.json() == {"is_compatible": False}
    verbose = client.post(url, params={"verbose": "true"}, json={"schema": NO_DEFAULT}).json()
    assert verbose["is_compatible"] is False
    assert any("/fields/1 (score)" in m for m in verbose["messages"])
    # Against a specific version, and against the whole history.
    assert client.post("/compatibility/subjects/a-value/versions/1", json={"schema": V2}).json() == {
        "is_compatible": True
    }
    assert client.post("/compatibility/subjects/a-value/versions", json={"schema": NO_DEFAULT}).json() == {
        "is_compatible": False
    }
    # A subject with no versions accepts anything (as Confluent does).
    assert client.post(
        "/compatibility/subjects/new-value/versions/latest", json={"schema": NO_DEFAULT}
    ).json() == {"is_compatible": True}
    missing = client.post("/compatibility/subjects/a-value/versions/9", json={"schema": V2})
    assert missing.json()["error_code"] == 40402


def test_transitive_level_checks_every_live_version(client: TestClient) -> None:
    client.put("/config/a-value", json={"compatibility": "BACKWARD_TRANSITIVE"})
    register(client, "a-value", V1)
    register(client, "a-value", V2)
    # NO_DEFAULT reads V2 data but not V1 data.
    assert register(client, "a-value", NO_DEFAULT).status_code == 409
    client.put("/config/a-value", json={"compatibility": "BACKWARD"})
    assert register(client, "a-value", NO_DEFAULT).json() == {"id": 3}


# --------------------------------------------------------------------------- deletes


def test_soft_delete_hides_a_version_and_permanent_delete_needs_it_first(
    client: TestClient,
) -> None:
    register(client, "a-value", V1)
    register(client, "a-value", V2)
    assert client.delete("/subjects/a-value/versions/2?permanent=true").json()["error_code"] == 40407
    assert client.delete("/subjects/a-value/versions/2").json() == 2
    assert client.get("/subjects/a-value/versions").json() == [1]
    assert client.get("/subjects/a-value/versions/latest").json()["version"] == 1
    assert client.get("/subjects/a-value/versions/2").json()["error_code"] == 40402
    assert client.get("/subjects/a-value/versions/2?deleted=true").json()["id"] == 2
    assert client.get("/subjects/a-value/versions?deleted=true").json() == [1, 2]
    assert client.delete("/subjects/a-value/versions/2").json()["error_code"] == 40406
    # Re-registering the deleted schema: same id, a new version number.
    assert register(client, "a-value", V2).json() == {"id": 2}
    assert client.get("/subjects/a-value/versions").json() == [1, 3]
    assert client.delete("/subjects/a-value/versions/2?permanent=true").json() == 2
    assert client.get("/subjects/a-value/versions?deleted=true").json() == [1, 3]


def test_delete_subject_soft_then_permanent(client: TestClient) -> None:
    register(client, "a-value", V1)
    register(client, "a-value", V2)
    client.put("/config/a-value", json={"compatibility": "NONE"})
    assert client.delete("/subjects/a-value?permanent=true").json()["error_code"] == 40405
    assert client.delete("/subjects/a-value").json() == [1, 2]
    assert client.get("/subjects").json() == []
    assert client.get("/subjects?deleted=true").json() == ["a-value"]
    assert client.get("/config/a-value").status_code == 404  # the level went with it
    assert client.delete("/subjects/a-value").json()["error_code"] == 40404
    assert client.delete("/subjects/a-value?permanent=true").json() == [1, 2]
    assert client.get("/subjects?deleted=true").json() == []
    assert client.get("/schemas/ids/1").json()["error_code"] == 40403


# --------------------------------------------------------------------------- restart


def test_a_store_replayed_from_the_log_has_the_same_state(client: TestClient, store: MemoryStore) -> None:
    register(client, "a-value", V1)
    register(client, "a-value", V2)
    register(client, "b-value", OTHER)
    client.delete("/subjects/a-value/versions/1")
    client.put("/config/b-value", json={"compatibility": "FULL"})

    with TestClient(create_app(MemoryStore(log=store.log))) as restarted:
        assert restarted.get("/subjects").json() == ["a-value", "b-value"]
        assert restarted.get("/subjects/a-value/versions?deleted=true").json() == [1, 2]
        assert restarted.get("/subjects/a-value/versions").json() == [2]
        assert restarted.get("/schemas/ids/3").json() == {"schema": canonical_text(parse_schema(OTHER))}
        assert restarted.get("/config/b-value").json() == {"compatibilityLevel": "FULL"}
        # Ids continue after the highest one seen; known schemas keep theirs.
        assert register(restarted, "c-value", V1).json() == {"id": 1}
        new = record(ID, {"name": "n", "type": "long", "default": 0})
        assert register(restarted, "a-value", new).json() == {"id": 4}


def test_health(client: TestClient) -> None:
    register(client, "a-value", V1)
    body = client.get("/health").json()
    assert body["status"] == "UP"
    assert (body["subjects"], body["schemas"], body["compatibility"]) == (1, 1, "BACKWARD")
    assert client.get("/").json() == {}


# --------------------------------------------------------------------------- real client


def test_confluent_kafka_schema_registry_client_works(live_url: str) -> None:
    from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
    from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
    from confluent_kafka.schema_registry.error import SchemaRegistryError
    from confluent_kafka.serialization import MessageField, SerializationContext

    sr = SchemaRegistryClient({"url": live_url})
    subject = "engagement.events-value"
    schema_id = sr.register_schema(subject, Schema(V1, "AVRO"))
    # A fresh client (no cache) gets the same id back from the server.
    assert SchemaRegistryClient({"url": live_url}).register_schema(subject, Schema(V1, "AVRO")) == schema_id
    assert json.loads(sr.get_schema(schema_id).schema_str) == json.loads(V1)
    latest = sr.get_latest_version(subject)
    assert (latest.version, latest.schema_id) == (1, schema_id)
    assert sr.lookup_schema(subject, Schema(V1, "AVRO")).version == 1
    assert sr.get_subjects() == [subject]
    assert sr.get_versions(subject) == [1]
    assert [(v.subject, v.version) for v in sr.get_schema_versions(schema_id)] == [(subject, 1)]

    assert sr.test_compatibility(subject, Schema(V2, "AVRO")) is True
    assert sr.test_compatibility(subject, Schema(NO_DEFAULT, "AVRO"), verbose=True) is False
    with pytest.raises(SchemaRegistryError) as refused:
        sr.register_schema(subject, Schema(NO_DEFAULT, "AVRO"))
    assert (refused.value.http_status_code, refused.value.error_code) == (409, 409)

    assert sr.get_compatibility() == "BACKWARD"
    sr.set_compatibility(subject, "NONE")
    assert sr.get_compatibility(subject) == "NONE"
    assert sr.register_schema(subject, Schema(NO_DEFAULT, "AVRO")) != schema_id

    # The wire format round trip: the serializer registers, the deserializer fetches by id.
    ctx = SerializationContext("orders", MessageField.VALUE)
    serialize = AvroSerializer(sr, V2)
    payload = serialize({"id": "e-1", "score": 7}, ctx)
    assert payload[0] == 0  # Confluent magic byte, then the 4-byte schema id
    fresh = SchemaRegistryClient({"url": live_url})
    assert AvroDeserializer(fresh)(payload, ctx) == {"id": "e-1", "score": 7}

    assert sr.delete_version(subject, 2) == 2
    assert sr.delete_subject(subject) == [1]
