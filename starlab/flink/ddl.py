"""Flink SQL pieces generated from the engagement event's Avro contract: one home for the columns.

Every Flink job that reads the events topic declares the event's columns
(story 3's source, lake and late-events tables; the feature cache's source).
Writing them out in each SQL file would be copies of
`starlab/events/engagement_event.avsc` that drift apart the day a field is
added; instead the SQL templates say `${event_columns}`,
`${event_columns_nullable}`, `${event_names}` and `${avro_schema}`, rendered
from the schema by `template_values()` when a job's config is built.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from starlab.events.model import schema_str
from starlab.flink.errors import FlinkConfigError

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
            raise FlinkConfigError(f"field {field}: union {avro} has no Flink SQL column type")
        return _sql_type(branches[0], field)[0], True
    if isinstance(avro, dict):
        if avro.get("logicalType") in _LOGICAL:
            return _LOGICAL[str(avro["logicalType"])], False
        if avro.get("type") == "enum":
            return "STRING", False  # the writer schema is the reader schema, so enums read as STRING
        return _sql_type(avro.get("type"), field)
    if isinstance(avro, str) and avro in _PRIMITIVES:
        return _PRIMITIVES[avro], False
    raise FlinkConfigError(f"field {field}: Avro type {avro!r} has no Flink SQL column type here")


def event_columns(schema_text: str | None = None) -> list[Column]:
    """The event's columns in schema order."""
    schema = json.loads(schema_text or schema_str())
    out = []
    for f in schema["fields"]:
        sql_type, nullable = _sql_type(f["type"], f["name"])
        out.append(Column(f["name"], sql_type, nullable))
    return out


def avro_schema_literal(schema_text: str | None = None) -> str:
    """The Avro schema as the body of a SQL string literal: one line, single quotes doubled.

    It is the `avro-confluent` format's reader schema; giving the writer
    schema keeps enums readable as STRING.
    """
    compact = json.dumps(json.loads(schema_text or schema_str()))
    return compact.replace("'", "''")


def template_values(schema_text: str | None = None) -> dict[str, str]:
    """What SQL templates substitute for the event: typed DDL (with and without NOT NULL),
    the names, and the Avro schema literal."""
    cols = event_columns(schema_text)
    width = max(len(c.name) for c in cols) + 2
    return {
        "event_columns": ",\n  ".join(
            f"{c.name:<{width}}{c.sql_type}{'' if c.nullable else ' NOT NULL'}" for c in cols
        ),
        "event_columns_nullable": ",\n  ".join(f"{c.name:<{width}}{c.sql_type}" for c in cols),
        "event_names": ", ".join(c.name for c in cols),
        "avro_schema": avro_schema_literal(schema_text),
    }


def interval_hms(ms: int) -> str:
    """Milliseconds as H:MM:SS for an `INTERVAL '...' HOUR TO SECOND` literal (whole seconds).

    Sub-second parts are refused rather than rounded: a watermark delay of
    1.5 s silently becoming 1 s would change which events count as late.
    """
    if ms < 0 or ms % 1000:
        raise FlinkConfigError(f"an interval of {ms} ms is not a whole, non-negative number of seconds")
    s = ms // 1000
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


__all__ = ["Column", "avro_schema_literal", "event_columns", "interval_hms", "template_values"]
