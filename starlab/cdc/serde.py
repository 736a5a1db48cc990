"""Avro in Confluent's wire format, with schemas registered in starlab's registry.

Backs story 1's "schema registry + contract checks": every schema the bridge
writes with is registered first, under TopicNameStrategy subjects
(`app.items-key`, `app.items-value`). The registry judges a new version under
the subject's compatibility mode and answers 409 when it breaks it; the
bridge turns that into `SchemaRejectedError` and writes nothing.

A subject without its own mode gets `CDC_COMPATIBILITY` on first use (the
contracts story may set another per subject; the bridge never overrides one).
"""

from __future__ import annotations

import io
import struct

import fastavro
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError
from fastavro.types import Schema as Schema_

from starlab.cdc.errors import CdcUnavailableError, SchemaRejectedError
from starlab.cdc.mapping import Row, RowSchema

CDC_COMPATIBILITY = "FULL_TRANSITIVE"
"""Mode for the CDC subjects: consumers of a table's state (analytics) read new
rows with old schemas and old rows with new ones (replays, the lake), so a
change must be both backward and forward compatible with every earlier
version: nullable columns can come and go, NOT NULL ones cannot."""

MAGIC = 0
NO_SUBJECT_CONFIG = 40408
"""Confluent's error code for "subject has no compatibility of its own"."""


def wire(schema_id: int, payload: bytes) -> bytes:
    """Confluent framing: magic byte 0, schema id (4 bytes big-endian), Avro binary."""
    return struct.pack(">bI", MAGIC, schema_id) + payload


def unwire(data: bytes) -> tuple[int, bytes]:
    """(schema id, Avro binary) of a Confluent-framed message."""
    if len(data) < 5 or data[0] != MAGIC:
        raise ValueError("not Confluent-framed Avro (magic byte 0 + schema id)")
    (schema_id,) = struct.unpack(">I", data[1:5])
    return int(schema_id), data[5:]


def encode_avro(schema: RowSchema, row: Row) -> bytes:
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, _parsed(schema), row)
    return buf.getvalue()


_PARSED: dict[str, Schema_] = {}


def _parsed(schema: RowSchema) -> Schema_:
    text = schema.avro_json()
    parsed = _PARSED.get(text)
    if parsed is None:
        parsed = fastavro.parse_schema(schema.avro())
        _PARSED[text] = parsed
    return parsed


class AvroEncoder:
    """Registers derived schemas (once per subject and schema) and encodes rows."""

    def __init__(self, registry_url: str, default_compatibility: str = CDC_COMPATIBILITY) -> None:
        self._client = SchemaRegistryClient({"url": registry_url})
        self._ids: dict[tuple[str, str], int] = {}
        self._configured: set[str] = set()
        self.default_compatibility = default_compatibility
        self.registered: list[tuple[str, int]] = []
        """(subject, id) of every registration this encoder made, in order."""

    def _ensure_mode(self, subject: str) -> None:
        if subject in self._configured:
            return
        try:
            try:
                self._client.get_compatibility(subject)
            except SchemaRegistryError as exc:
                if exc.error_code != NO_SUBJECT_CONFIG:
                    raise CdcUnavailableError(
                        f"registry: GET /config/{subject}: {exc.error_message}"
                    ) from None
                self._client.set_compatibility(subject, self.default_compatibility)
        except CdcUnavailableError:
            raise
        except Exception as exc:  # connection refused, timeouts (the client's HTTP errors)
            raise CdcUnavailableError(f"registry unreachable configuring {subject}: {exc}") from None
        self._configured.add(subject)

    def schema_id(self, subject: str, schema: RowSchema) -> int:
        text = schema.avro_json()
        cached = self._ids.get((subject, text))
        if cached is not None:
            return cached
        self._ensure_mode(subject)
        try:
            schema_id = int(self._client.register_schema(subject, Schema(text, "AVRO")))
        except SchemaRegistryError as exc:
            if exc.http_status_code == 409:
                raise SchemaRejectedError(subject, exc.error_message) from None
            raise CdcUnavailableError(f"registry: register {subject}: {exc.error_message}") from None
        except Exception as exc:  # connection refused, timeouts (requests/httpx errors)
            raise CdcUnavailableError(f"registry unreachable registering {subject}: {exc}") from None
        self._ids[(subject, text)] = schema_id
        self.registered.append((subject, schema_id))
        return schema_id

    def encode(self, subject: str, schema: RowSchema, row: Row) -> bytes:
        return wire(self.schema_id(subject, schema), encode_avro(schema, row))
