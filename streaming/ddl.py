"""Flink SQL column lists generated from the event contract's Avro schema: one home for the columns.

The source table, the lake table, the late-events table and the SELECT lists
of the job all carry the engagement event's columns. Writing them out in
each SQL file would be five copies of `starlab/events/engagement_event.avsc`
that drift apart the day a field is added; instead `streaming/sql/*.sql`
say `${event_columns}`, `${event_columns_nullable}` and `${event_names}`,
rendered from the schema when the job's config is built.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from starlab.events.model import schema_str
from streaming.errors import StreamConfigError

_PRIMITIVES = {"string": "STRING", "int": "INT", "long": "BIGINT", "boolean": "BOOLEAN", "double": "DOUBLE"}
_LOGICAL = {"timestamp-millis": "TIMESTAMP(3)", "timestamp-micros": "TIMESTAMP(6)", "date": "DATE"}


@dataclass(frozen=True)
class Column:
    name: str
    sql_type: str
    nullable: bool


def _sql_type(avro: object, field: str) -> tuple[str, bool]:
    """(Flink SQL type, nullable) of an Avro field type."""
    if isinstance(avro, list):  # a union: only ["null", T] maps to a column
        branches = [b for b in avro if b != "null"]
        if len(branches) != 1 or len(avro) != 2:
            raise StreamConfigError(f"field {field}: union {avro} has no Flink SQL column type")
        return _sql_type(branches[0], field)[0], True
    if isinstance(avro, dict):
        if avro.get("logicalType") in _LOGICAL:
            return _LOGICAL[str(avro["logicalType"])], False
        if avro.get("type") == "enum":
            return "STRING", False  # the writer schema is the reader schema, so enums read as STRING
        return _sql_type(avro.get("type"), field)
    if isinstance(avro, str) and avro in _PRIMITIVES:
        return _PRIMITIVES[avro], False
    raise StreamConfigError(f"field {field}: Avro type {avro!r} has no Flink SQL column type here")


def event_columns(schema_text: str | None = None) -> list[Column]:
    """The event's columns in schema order."""
    schema = json.loads(schema_text or schema_str())
    out = []
    for f in schema["fields"]:
        sql_type, nullable = _sql_type(f["type"], f["name"])
        out.append(Column(f["name"], sql_type, nullable))
    return out


def template_values(schema_text: str | None = None) -> dict[str, str]:
    """What the SQL templates substitute: typed DDL (with and without NOT NULL) and the names."""
    cols = event_columns(schema_text)
    width = max(len(c.name) for c in cols) + 2
    return {
        "event_columns": ",\n  ".join(
            f"{c.name:<{width}}{c.sql_type}{'' if c.nullable else ' NOT NULL'}" for c in cols
        ),
        "event_columns_nullable": ",\n  ".join(f"{c.name:<{width}}{c.sql_type}" for c in cols),
        "event_names": ", ".join(c.name for c in cols),
    }


__all__ = ["Column", "event_columns", "template_values"]
