"""Debezium change events, parsed from JsonConverter records into typed objects.

A record on `<prefix>.public.<table>` is an envelope: `op` (r snapshot read,
c insert, u update, d delete), `before` and `after` rows, and `source`
(commit time, LSN). Each delete is followed by a tombstone (null value) for
log compaction; `parse_change` returns None for it because the delete event
already said everything (and carries the full old row: REPLICA IDENTITY FULL).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal, cast

from starlab.cdc.connect_schema import ConnectStruct, parse_struct, struct_from_json, struct_of
from starlab.cdc.errors import MalformedChangeError
from starlab.cdc.mapping import Row, RowSchema, row_schema

Op = Literal["r", "c", "u", "d"]
OPS: tuple[Op, ...] = ("r", "c", "u", "d")


@dataclass(frozen=True)
class ChangeEvent:
    """One row change of one table."""

    op: Op
    key: Row
    key_schema: RowSchema
    before: Row | None
    after: Row | None
    row_schema: RowSchema
    """Row type at the time of the change (the table's columns then)."""
    table: str
    source_ts_ms: int
    """Commit time in PostgreSQL (ms since the epoch): the start of CDC latency."""
    lsn: int | None

    @property
    def is_delete(self) -> bool:
        return self.op == "d"

    def key_tuple(self) -> tuple[object, ...]:
        return tuple(self.key[c] for c in self.key_schema.names)


_SCHEMA_OPEN = b'{"schema":'
_PAYLOAD_SEP = b',"payload":'


def _split(raw: bytes, what: str) -> tuple[str, object]:
    """(schema JSON text, parsed payload) of a JsonConverter record.

    Every record repeats its schema, and parsing and re-serialising it per
    record was most of the bridge's CPU. JsonConverter writes `schema` before
    `payload`, so the schema's text is cut out of the raw bytes and used as a
    cache key; only the payload is parsed. A schema text is parsed (validated)
    the first time it is seen, so a cut in the wrong place cannot go unnoticed.
    """
    cut = raw.find(_PAYLOAD_SEP) if raw.startswith(_SCHEMA_OPEN) and raw.endswith(b"}") else -1
    if cut > 0:
        schema_text = raw[len(_SCHEMA_OPEN) : cut].decode("utf-8", "replace")
        if _valid_json(schema_text):
            try:
                return schema_text, json.loads(raw[cut + len(_PAYLOAD_SEP) : -1])
            except (UnicodeDecodeError, json.JSONDecodeError):
                pass
    doc = _load(raw, what)
    return json.dumps(doc["schema"], separators=(",", ":")), doc["payload"]


@lru_cache(maxsize=256)
def _valid_json(text: str) -> bool:
    try:
        json.loads(text)
    except json.JSONDecodeError:
        return False
    return True


def _load(raw: bytes, what: str) -> Mapping[str, object]:
    try:
        doc = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MalformedChangeError(f"{what} is not JSON: {exc}") from None
    if not isinstance(doc, Mapping) or "schema" not in doc or "payload" not in doc:
        raise MalformedChangeError(
            f"{what} has no schema/payload: Connect must use JsonConverter with schemas.enable=true"
        )
    return cast(Mapping[str, object], doc)


@lru_cache(maxsize=256)
def _row_schema_cached(struct_json: str) -> RowSchema:
    return row_schema(struct_from_json(struct_json))


def derive(struct: ConnectStruct) -> RowSchema:
    """`row_schema` memoised on the struct's JSON text."""
    return _row_schema_cached(struct.to_json())


@lru_cache(maxsize=256)
def _key_schema(schema_json: str) -> RowSchema:
    return row_schema(parse_struct(json.loads(schema_json), "key schema"))


@lru_cache(maxsize=256)
def _value_schema(schema_json: str) -> RowSchema:
    envelope = parse_struct(json.loads(schema_json), "value schema")
    after_field = envelope.field("after")
    if after_field is None:
        raise MalformedChangeError(f"{envelope.name}: not a Debezium envelope (no `after`)")
    return row_schema(struct_of(after_field))


def parse_change(key: bytes | None, value: bytes | None) -> ChangeEvent | None:
    """A change event from a change-topic record; None for a tombstone."""
    if value is None:
        return None
    if key is None:
        raise MalformedChangeError("change event without a key (table without a primary key?)")
    key_text, key_payload = _split(key, "record key")
    value_text, payload = _split(value, "record value")
    key_schema = _key_schema(key_text)
    rschema = _value_schema(value_text)
    if not isinstance(payload, Mapping):
        raise MalformedChangeError("value payload is not an object")
    op = payload.get("op")
    if op not in OPS:
        raise MalformedChangeError(f"unknown op {op!r} (truncate and message events are not captured)")
    source = payload.get("source")
    source = source if isinstance(source, Mapping) else {}
    table = str(source.get("table") or rschema.full_name.split(".")[-2])
    before_raw, after_raw = payload.get("before"), payload.get("after")
    ts = source.get("ts_ms")
    lsn = source.get("lsn")
    return ChangeEvent(
        op=cast(Op, op),
        key=key_schema.decode(key_payload, f"{table} key"),
        key_schema=key_schema,
        before=None if before_raw is None else rschema.decode(before_raw, f"{table} before"),
        after=None if after_raw is None else rschema.decode(after_raw, f"{table} after"),
        row_schema=rschema,
        table=table,
        source_ts_ms=int(ts) if isinstance(ts, int) else 0,
        lsn=int(lsn) if isinstance(lsn, int) else None,
    )
