"""Kafka Connect's JSON schema, as JsonConverter writes it (`schemas.enable=true`).

Every Debezium record on a change topic carries `{"schema": ..., "payload":
...}`; the schema is the table's row type at the moment of the change (from
pgoutput's relation message), so the bridge never guesses a column's type.
This module only parses that JSON into typed objects; `starlab.cdc.mapping`
turns them into Avro and Arrow types.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from starlab.cdc.errors import MalformedChangeError

SOURCE_TYPE = "__debezium.source.column.type"
SOURCE_LENGTH = "__debezium.source.column.length"
SOURCE_SCALE = "__debezium.source.column.scale"
"""Parameters Debezium adds with `column.propagate.source.type` (set by the stack)."""


@dataclass(frozen=True)
class ConnectField:
    """One field of a Connect struct schema."""

    field: str
    type: str
    """Connect type: int8..int64, float, double, boolean, string, bytes, struct, array, map."""
    optional: bool
    name: str | None = None
    """Semantic name, e.g. io.debezium.time.ZonedTimestamp."""
    parameters: tuple[tuple[str, str], ...] = ()
    fields: tuple[ConnectField, ...] = ()
    """Sub-fields when `type == "struct"`."""

    def param(self, key: str) -> str | None:
        return dict(self.parameters).get(key)

    @property
    def source_type(self) -> str | None:
        """The PostgreSQL type name Debezium propagated (e.g. TIMESTAMPTZ), if any."""
        return self.param(SOURCE_TYPE)

    def source_int(self, key: str) -> int | None:
        raw = self.param(key)
        try:
            return int(raw) if raw is not None else None
        except ValueError:
            return None


@dataclass(frozen=True)
class ConnectStruct:
    """A struct schema: Debezium's Key, Value or Envelope."""

    name: str | None
    fields: tuple[ConnectField, ...]
    optional: bool = False

    def field(self, name: str) -> ConnectField | None:
        return next((f for f in self.fields if f.field == name), None)

    def to_json(self) -> str:
        """Stable JSON text of this schema (the lake stores it to rebuild the row type)."""
        return json.dumps(_struct_to_obj(self), sort_keys=True, separators=(",", ":"))


def _field_from(obj: object, where: str) -> ConnectField:
    if not isinstance(obj, Mapping):
        raise MalformedChangeError(f"{where}: a schema field is not an object")
    ftype = obj.get("type")
    fname = obj.get("field")
    if not isinstance(ftype, str) or not isinstance(fname, str):
        raise MalformedChangeError(f"{where}: a schema field lacks `type` or `field`")
    params = obj.get("parameters") or {}
    if not isinstance(params, Mapping):
        raise MalformedChangeError(f"{where}.{fname}: `parameters` is not an object")
    subfields: tuple[ConnectField, ...] = ()
    if ftype == "struct":
        raw = obj.get("fields") or []
        if not isinstance(raw, list):
            raise MalformedChangeError(f"{where}.{fname}: `fields` is not a list")
        subfields = tuple(_field_from(f, f"{where}.{fname}") for f in raw)
    name = obj.get("name")
    return ConnectField(
        field=fname,
        type=ftype,
        optional=bool(obj.get("optional", False)),
        name=name if isinstance(name, str) else None,
        parameters=tuple(sorted((str(k), str(v)) for k, v in params.items())),
        fields=subfields,
    )


def parse_struct(obj: object, where: str = "schema") -> ConnectStruct:
    """Parse a Connect struct schema (the `schema` member of a JsonConverter record)."""
    if not isinstance(obj, Mapping) or obj.get("type") != "struct":
        raise MalformedChangeError(f"{where}: expected a Connect struct schema")
    raw = obj.get("fields")
    if not isinstance(raw, list):
        raise MalformedChangeError(f"{where}: struct without `fields`")
    name = obj.get("name")
    return ConnectStruct(
        name=name if isinstance(name, str) else None,
        fields=tuple(_field_from(f, where) for f in raw),
        optional=bool(obj.get("optional", False)),
    )


def struct_of(field: ConnectField) -> ConnectStruct:
    """A struct-typed field (e.g. an envelope's `after`) as a struct schema."""
    if field.type != "struct":
        raise MalformedChangeError(f"{field.field}: expected a struct, got {field.type}")
    return ConnectStruct(name=field.name, fields=field.fields, optional=field.optional)


def _field_to_obj(f: ConnectField) -> dict[str, object]:
    out: dict[str, object] = {"field": f.field, "type": f.type, "optional": f.optional}
    if f.name is not None:
        out["name"] = f.name
    if f.parameters:
        out["parameters"] = dict(f.parameters)
    if f.type == "struct":
        out["fields"] = [_field_to_obj(x) for x in f.fields]
    return out


def _struct_to_obj(s: ConnectStruct) -> dict[str, object]:
    out: dict[str, object] = {
        "type": "struct",
        "optional": s.optional,
        "fields": [_field_to_obj(f) for f in s.fields],
    }
    if s.name is not None:
        out["name"] = s.name
    return out


def struct_from_json(text: str) -> ConnectStruct:
    """Inverse of `ConnectStruct.to_json`."""
    try:
        return parse_struct(json.loads(text))
    except json.JSONDecodeError as exc:
        raise MalformedChangeError(f"stored Connect schema is not JSON: {exc}") from None
