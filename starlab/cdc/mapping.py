"""Connect schema -> Avro schema and Arrow type, and JSON payload -> Python values.

Backs story 1's "versioned schemas in a registry" for the app team's tables:
the Avro schema of `app.items` / `app.users` is derived, column by column,
from the Connect schema Debezium attaches to each change, so it always
describes the row it encodes. The derivation is deterministic (same columns,
same schema text, same registry id), which is what lets the registry treat
an unchanged table as an unchanged subject version and judge a changed one
under the subject's compatibility mode.

Mapping (Debezium defaults: time.precision.mode=adaptive,
decimal.handling.mode=string; `column.propagate.source.type` gives length and
scale):

| PostgreSQL          | Connect type (name)             | Avro                         | Arrow            |
|---------------------|---------------------------------|------------------------------|------------------|
| smallint, integer   | int16, int32                    | int                          | int16, int32     |
| bigint              | int64                           | long                         | int64            |
| boolean             | boolean                         | boolean                      | bool             |
| real, double        | float, double                   | float, double                | float32, float64 |
| text, varchar, char | string                          | string                       | string           |
| numeric(p,s)        | string (decimal.handling.mode)  | bytes decimal(p,s)           | decimal128(p,s)  |
| numeric (no p)      | string                          | string (scale varies by row) | string           |
| date                | int32 (time.Date)               | int date                     | date32           |
| timestamp(0-3)      | int64 (time.Timestamp)          | long local-timestamp-millis  | timestamp[ms]    |
| timestamp(4-6)      | int64 (time.MicroTimestamp)     | long local-timestamp-micros  | timestamp[us]    |
| timestamptz(0-3)    | string (time.ZonedTimestamp)    | long timestamp-millis        | timestamp[ms,UTC]|
| timestamptz(4-6)    | string (time.ZonedTimestamp)    | long timestamp-micros        | timestamp[us,UTC]|
| time(0-3)           | int32 (time.Time)               | int time-millis              | time32[ms]       |
| time(4-6)           | int64 (time.MicroTime)          | long time-micros             | time64[us]       |
| uuid                | string (data.Uuid)              | string uuid                  | string           |
| json, jsonb         | string (data.Json)              | string                       | string           |
| enum types          | string (data.Enum)              | string                       | string           |
| bytea               | bytes (base64 in JSON)          | bytes                        | binary           |

Connect names are Debezium's, shortened from `io.debezium.`.

A nullable column becomes `["null", T]` with default null; NOT NULL becomes
`T` without a default. So adding a nullable column is a compatible change in
every mode, and adding or dropping a NOT NULL column is not under FULL: the
registry refuses it at registration, before any consumer sees it.
Anything else (arrays, geometry, intervals, ...) is refused with the column
named rather than encoded lossily.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import cached_property

import pyarrow as pa

from starlab.cdc.connect_schema import SOURCE_LENGTH, SOURCE_SCALE, ConnectField, ConnectStruct
from starlab.cdc.errors import MalformedChangeError, UnsupportedColumnError

AvroType = str | dict[str, object]
Row = dict[str, object]
"""A table row as Python values (datetime, Decimal, date, ...) keyed by column name."""

EPOCH_DATE = date(1970, 1, 1)
EPOCH = datetime(1970, 1, 1)
MAX_DECIMAL128_PRECISION = 38


@dataclass(frozen=True)
class ColumnType:
    avro: AvroType
    arrow: pa.DataType
    decode: Callable[[object], object]
    """JSON payload value (never None) -> the Python value fastavro and Arrow take."""


@dataclass(frozen=True)
class Column:
    name: str
    optional: bool
    type: ColumnType

    def avro_field(self) -> dict[str, object]:
        if self.optional:
            return {"name": self.name, "type": ["null", self.type.avro], "default": None}
        return {"name": self.name, "type": self.type.avro}


@dataclass(frozen=True)
class RowSchema:
    """A table row type derived from a Connect struct: Avro, Arrow and the decoder."""

    full_name: str
    """Avro full name: Debezium's Connect name, e.g. app.public.items.Value."""
    columns: tuple[Column, ...]
    connect: ConnectStruct
    """The source it was derived from (kept so the lake can re-derive it)."""

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def avro(self) -> dict[str, object]:
        namespace, _, name = self.full_name.rpartition(".")
        schema: dict[str, object] = {"type": "record", "name": name}
        if namespace:
            schema["namespace"] = namespace
        schema["fields"] = [c.avro_field() for c in self.columns]
        return schema

    @cached_property
    def avro_text(self) -> str:
        """The schema text registered: compact, fields in column order (computed once)."""
        return json.dumps(self.avro(), separators=(",", ":"))

    def avro_json(self) -> str:
        return self.avro_text

    def arrow(self) -> pa.Schema:
        # Nullable in Arrow like the generator's dims (write_dimensions), so the
        # lake file's schema does not change when a column's NOT NULL does.
        return pa.schema([pa.field(c.name, c.type.arrow) for c in self.columns])

    def decode(self, payload: object, where: str) -> Row:
        """A JSON `after`/`before`/key payload as a typed row."""
        if not isinstance(payload, Mapping):
            raise MalformedChangeError(f"{where}: row payload is not an object")
        row: Row = {}
        for col in self.columns:
            value = payload.get(col.name)
            if value is None:
                if not col.optional:
                    raise MalformedChangeError(f"{where}: NOT NULL column {col.name} is null")
                row[col.name] = None
                continue
            try:
                row[col.name] = col.type.decode(value)
            except (TypeError, ValueError, ArithmeticError) as exc:
                raise MalformedChangeError(f"{where}: column {col.name}: {exc}") from None
        return row


# --- decoders: JSON value -> Python ------------------------------------------


def _int(v: object) -> object:
    if isinstance(v, bool) or not isinstance(v, int):
        raise TypeError(f"expected an integer, got {v!r}")
    return v


def _float(v: object) -> object:
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise TypeError(f"expected a number, got {v!r}")
    return float(v)


def _bool(v: object) -> object:
    if not isinstance(v, bool):
        raise TypeError(f"expected a boolean, got {v!r}")
    return v


def _str(v: object) -> object:
    if not isinstance(v, str):
        raise TypeError(f"expected a string, got {v!r}")
    return v


def _bytes(v: object) -> object:
    return base64.b64decode(str(_str(v)), validate=True)


def _decimal(scale: int) -> Callable[[object], object]:
    quantum = Decimal(1).scaleb(-scale)

    def decode(v: object) -> object:
        d = Decimal(str(_str(v)))
        q = d.quantize(quantum)
        if q != d:
            raise ValueError(f"{v} has more than {scale} decimal places")
        return q

    return decode


def _date(v: object) -> object:
    return EPOCH_DATE + timedelta(days=int(str(_int(v))))


def _local_ts(unit_us: int) -> Callable[[object], object]:
    def decode(v: object) -> object:
        return EPOCH + timedelta(microseconds=int(str(_int(v))) * unit_us)

    return decode


def _zoned_ts(v: object) -> object:
    # "2026-01-02T03:04:05.123Z": ISO-8601 in UTC, as Debezium formats it.
    return datetime.fromisoformat(str(_str(v))).astimezone(UTC)


def _time(unit_us: int) -> Callable[[object], object]:
    def decode(v: object) -> object:
        us = int(str(_int(v))) * unit_us
        return (datetime.min + timedelta(microseconds=us)).time()

    return decode


# --- the mapping -------------------------------------------------------------

_PLAIN: dict[str, ColumnType] = {
    "int8": ColumnType("int", pa.int8(), _int),
    "int16": ColumnType("int", pa.int16(), _int),
    "int32": ColumnType("int", pa.int32(), _int),
    "int64": ColumnType("long", pa.int64(), _int),
    "float": ColumnType("float", pa.float32(), _float),
    "float32": ColumnType("float", pa.float32(), _float),
    "double": ColumnType("double", pa.float64(), _float),
    "float64": ColumnType("double", pa.float64(), _float),
    "boolean": ColumnType("boolean", pa.bool_(), _bool),
    "string": ColumnType("string", pa.string(), _str),
    "bytes": ColumnType("bytes", pa.binary(), _bytes),
}

_STRING_NAMES = {"io.debezium.data.Json", "io.debezium.data.Enum", "io.debezium.data.Xml"}


def _ts_precision(f: ConnectField, default: int) -> int:
    scale = f.source_int(SOURCE_SCALE)
    return default if scale is None else scale


def column_type(f: ConnectField) -> ColumnType:
    """The Avro/Arrow type and decoder of one Connect field (a table column)."""
    name = f.name
    if name is None:
        if f.type == "string" and (f.source_type or "").upper() in ("NUMERIC", "DECIMAL"):
            precision = f.source_int(SOURCE_LENGTH) or 0
            scale = f.source_int(SOURCE_SCALE) or 0
            if 0 < precision <= MAX_DECIMAL128_PRECISION:
                avro: AvroType = {
                    "type": "bytes",
                    "logicalType": "decimal",
                    "precision": precision,
                    "scale": scale,
                }
                return ColumnType(avro, pa.decimal128(precision, scale), _decimal(scale))
            # numeric without a declared precision: each value has its own scale,
            # which no Avro decimal can hold; keep the exact text.
            return ColumnType("string", pa.string(), _str)
        if f.type in _PLAIN:
            return _PLAIN[f.type]
    elif name == "io.debezium.time.Date" and f.type == "int32":
        return ColumnType({"type": "int", "logicalType": "date"}, pa.date32(), _date)
    elif name == "io.debezium.time.Timestamp" and f.type == "int64":
        return ColumnType(
            {"type": "long", "logicalType": "local-timestamp-millis"}, pa.timestamp("ms"), _local_ts(1000)
        )
    elif name == "io.debezium.time.MicroTimestamp" and f.type == "int64":
        return ColumnType(
            {"type": "long", "logicalType": "local-timestamp-micros"}, pa.timestamp("us"), _local_ts(1)
        )
    elif name == "io.debezium.time.ZonedTimestamp" and f.type == "string":
        # timestamptz(3) is exact in milliseconds; otherwise PostgreSQL keeps micros.
        if _ts_precision(f, 6) <= 3:
            return ColumnType(
                {"type": "long", "logicalType": "timestamp-millis"}, pa.timestamp("ms", tz="UTC"), _zoned_ts
            )
        return ColumnType(
            {"type": "long", "logicalType": "timestamp-micros"}, pa.timestamp("us", tz="UTC"), _zoned_ts
        )
    elif name == "io.debezium.time.Time" and f.type == "int32":
        return ColumnType({"type": "int", "logicalType": "time-millis"}, pa.time32("ms"), _time(1000))
    elif name == "io.debezium.time.MicroTime" and f.type == "int64":
        return ColumnType({"type": "long", "logicalType": "time-micros"}, pa.time64("us"), _time(1))
    elif name == "io.debezium.data.Uuid" and f.type == "string":
        return ColumnType({"type": "string", "logicalType": "uuid"}, pa.string(), _str)
    elif name in _STRING_NAMES and f.type == "string":
        return _PLAIN["string"]
    what = (
        f"{f.type}"
        + (f" ({name})" if name else "")
        + (f", PostgreSQL {f.source_type}" if f.source_type else "")
    )
    raise UnsupportedColumnError(f"column {f.field}: no Avro mapping for Connect type {what}")


def row_schema(struct: ConnectStruct) -> RowSchema:
    """Derive the row type of a Connect struct (Debezium's `...Value` or `...Key`)."""
    if not struct.name:
        raise MalformedChangeError("a row schema without a name: is this a Debezium change topic?")
    columns = tuple(Column(f.field, f.optional, column_type(f)) for f in struct.fields)
    return RowSchema(full_name=struct.name, columns=columns, connect=struct)
