"""Confluent wire format and the registry answers the bridge acts on.

Backs story 1's "schema registry + contract checks": a schema the registry
refuses (409) stops the bridge with `SchemaRejectedError` naming the subject;
a subject without a mode of its own gets the CDC default, one with a mode
keeps it. The registry client is replaced by a stub: no process starts.
"""

from __future__ import annotations

import io
import json

import fastavro
import pytest
from confluent_kafka.schema_registry.error import SchemaRegistryError

from starlab.cdc import CDC_COMPATIBILITY, AvroEncoder, SchemaRejectedError, parse_change, unwire
from starlab.cdc.errors import CdcUnavailableError
from starlab.cdc.serde import wire


class StubRegistry:
    def __init__(self, modes: dict[str, str] | None = None, refuse: bool = False) -> None:
        self.modes = dict(modes or {})
        self.refuse = refuse
        self.schemas: list[tuple[str, str]] = []

    def get_compatibility(self, subject: str) -> str:
        if subject not in self.modes:
            raise SchemaRegistryError(
                404, 40408, "Subject does not have subject-level compatibility configured"
            )
        return self.modes[subject]

    def set_compatibility(self, subject: str, level: str) -> None:
        self.modes[subject] = level

    def register_schema(self, subject: str, schema: object) -> int:
        if self.refuse:
            raise SchemaRegistryError(409, 409, "READER_FIELD_MISSING_DEFAULT_VALUE: quality")
        text = schema.schema_str  # type: ignore[attr-defined]
        if (subject, text) not in self.schemas:
            self.schemas.append((subject, text))
        return 100 + self.schemas.index((subject, text))


def _encoder(stub: StubRegistry) -> AvroEncoder:
    enc = AvroEncoder("http://127.0.0.1:1")
    enc._client = stub  # type: ignore[assignment]
    return enc


def test_wire_format_round_trips_and_rejects_foreign_bytes() -> None:
    assert unwire(wire(42, b"abc")) == (42, b"abc")
    assert wire(1, b"")[:5] == b"\x00\x00\x00\x00\x01"
    with pytest.raises(ValueError, match="Confluent-framed"):
        unwire(b'{"json": true}')


def test_encoded_rows_decode_with_the_registered_schema(recorded) -> None:
    ev = parse_change(*recorded("items_v1_insert")[0])
    assert ev is not None and ev.after is not None
    stub = StubRegistry()
    data = _encoder(stub).encode("app.items-value", ev.row_schema, ev.after)
    schema_id, payload = unwire(data)
    ((subject, text),) = stub.schemas
    assert (schema_id, subject) == (100, "app.items-value")
    row = fastavro.schemaless_reader(io.BytesIO(payload), fastavro.parse_schema(json.loads(text)))
    assert row == ev.after


def test_a_subject_without_a_mode_gets_the_cdc_default_and_one_with_a_mode_keeps_it(recorded) -> None:
    ev = parse_change(*recorded("items_v1_insert")[0])
    assert ev is not None
    stub = StubRegistry(modes={"app.items-key": "NONE"})
    enc = _encoder(stub)
    enc.schema_id("app.items-value", ev.row_schema)
    enc.schema_id("app.items-key", ev.key_schema)
    assert stub.modes == {"app.items-value": CDC_COMPATIBILITY, "app.items-key": "NONE"}
    assert CDC_COMPATIBILITY == "FULL_TRANSITIVE"


def test_the_same_schema_is_registered_once(recorded) -> None:
    events = [parse_change(k, v) for k, v in recorded("items_v2_update") + recorded("items_v2_dualwrite")]
    stub = StubRegistry()
    enc = _encoder(stub)
    ids = {enc.schema_id("app.items-value", e.row_schema) for e in events if e}
    assert ids == {100} and len(stub.schemas) == 1 and enc.registered == [("app.items-value", 100)]


def test_a_refused_schema_stops_with_the_subject_named(recorded) -> None:
    ev = parse_change(*recorded("items_v1_insert")[0])
    assert ev is not None
    with pytest.raises(SchemaRejectedError, match=r"app.items-value: READER_FIELD_MISSING_DEFAULT_VALUE"):
        _encoder(StubRegistry(refuse=True)).schema_id("app.items-value", ev.row_schema)


def test_an_unreachable_registry_is_transient(recorded) -> None:
    from starlab.errors import TransientError

    ev = parse_change(*recorded("items_v1_insert")[0])
    assert ev is not None
    enc = AvroEncoder("http://127.0.0.1:9")  # discard port: nothing listens
    with pytest.raises(CdcUnavailableError) as info:
        enc.schema_id("app.items-value", ev.row_schema)
    assert isinstance(info.value, TransientError)
