"""Connect JSON -> Avro for every PostgreSQL column type the mapping covers.

Backs story 1's "versioned schemas in a registry" for CDC: each column of a
real Debezium event (tests/unit/cdc/fixtures/probe_changes.jsonl) maps to the
Avro type and Arrow type in starlab/cdc/mapping.py's table, its JSON value
decodes to the right Python value, and the row survives an Avro round trip.
"""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, time
from decimal import Decimal

import fastavro
import pyarrow as pa
import pytest

from starlab.cdc import (
    ChangeEvent,
    ConnectField,
    MalformedChangeError,
    UnsupportedColumnError,
    column_type,
    parse_change,
)
from starlab.cdc.serde import encode_avro

EXPECTED: dict[str, tuple[object, pa.DataType, object]] = {
    # column: (Avro type, Arrow type, decoded value of the snapshot row)
    "id": ("string", pa.string(), "a"),
    "c_small": ("int", pa.int16(), 1),
    "c_int": ("int", pa.int32(), 2),
    "c_big": ("long", pa.int64(), 3),
    "c_bool": ("boolean", pa.bool_(), True),
    "c_real": ("float", pa.float32(), 1.5),
    "c_double": ("double", pa.float64(), 2.25),
    "c_num": (
        {"type": "bytes", "logicalType": "decimal", "precision": 12, "scale": 3},
        pa.decimal128(12, 3),
        Decimal("123.456"),
    ),
    "c_num_free": ("string", pa.string(), "1.23456789"),
    "c_varchar": ("string", pa.string(), "x"),
    "c_date": ({"type": "int", "logicalType": "date"}, pa.date32(), date(2026, 1, 2)),
    "c_ts": (
        {"type": "long", "logicalType": "local-timestamp-micros"},
        pa.timestamp("us"),
        datetime(2026, 1, 2, 3, 4, 5, 123456),
    ),
    "c_ts3": (
        {"type": "long", "logicalType": "local-timestamp-millis"},
        pa.timestamp("ms"),
        datetime(2026, 1, 2, 3, 4, 5, 123000),
    ),
    "c_tstz": (
        {"type": "long", "logicalType": "timestamp-micros"},
        pa.timestamp("us", tz="UTC"),
        datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=UTC),
    ),
    "c_tstz3": (
        {"type": "long", "logicalType": "timestamp-millis"},
        pa.timestamp("ms", tz="UTC"),
        datetime(2026, 1, 2, 3, 4, 5, 123000, tzinfo=UTC),
    ),
    "c_uuid": (
        {"type": "string", "logicalType": "uuid"},
        pa.string(),
        "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
    ),
    "c_jsonb": ("string", pa.string(), '{"k": 1}'),
    "c_bytes": ("bytes", pa.binary(), b"\x01\x02"),
}


@pytest.fixture
def snapshot_event(recorded) -> ChangeEvent:
    key, value = recorded("probe_changes")[0]
    ev = parse_change(key, value)
    assert ev is not None and ev.op == "r"
    return ev


def test_every_column_maps_to_the_documented_avro_and_arrow_type(snapshot_event: ChangeEvent) -> None:
    cols = {c.name: c for c in snapshot_event.row_schema.columns}
    assert set(cols) == set(EXPECTED)
    for name, (avro, arrow, _) in EXPECTED.items():
        assert cols[name].type.avro == avro, name
        assert cols[name].type.arrow == arrow, name


def test_every_value_decodes_to_the_python_value(snapshot_event: ChangeEvent) -> None:
    assert snapshot_event.after == {name: value for name, (_, _, value) in EXPECTED.items()}


def test_nullable_columns_are_optional_unions_and_not_null_ones_are_plain(
    snapshot_event: ChangeEvent,
) -> None:
    fields = {f["name"]: f for f in snapshot_event.row_schema.avro()["fields"]}
    assert fields["c_int"] == {"name": "c_int", "type": "int"}  # NOT NULL
    assert fields["id"] == {"name": "id", "type": "string"}  # primary key
    assert fields["c_small"] == {"name": "c_small", "type": ["null", "int"], "default": None}
    assert snapshot_event.row_schema.full_name == "probe.public.probe.Value"


def test_a_row_round_trips_through_avro_and_arrow(snapshot_event: ChangeEvent) -> None:
    schema = snapshot_event.row_schema
    payload = encode_avro(schema, snapshot_event.after)
    back = fastavro.schemaless_reader(io.BytesIO(payload), fastavro.parse_schema(schema.avro()))
    back["c_uuid"] = str(back["c_uuid"])  # fastavro returns uuid.UUID for logicalType uuid
    assert back == snapshot_event.after
    table = pa.Table.from_pylist([snapshot_event.after], schema=schema.arrow())
    assert table.to_pylist()[0]["c_num"] == Decimal("123.456")


def test_nulls_decode_to_none_in_the_inserted_row(recorded) -> None:
    ev = parse_change(*recorded("probe_changes")[1])
    assert ev is not None and ev.op == "c"
    assert ev.after is not None
    assert ev.after["c_int"] == 5
    assert all(ev.after[c] is None for c in ("c_small", "c_num", "c_tstz", "c_bytes"))


def _field(**kw: object) -> ConnectField:
    base: dict[str, object] = {"field": "x", "type": "string", "optional": True}
    base.update(kw)
    return ConnectField(**base)  # type: ignore[arg-type]


def test_timestamptz_without_propagated_scale_keeps_microseconds() -> None:
    # A connector without column.propagate.source.type gives no scale: no precision is lost.
    t = column_type(_field(name="io.debezium.time.ZonedTimestamp"))
    assert t.avro == {"type": "long", "logicalType": "timestamp-micros"}
    assert t.decode("2026-01-02T03:04:05.123456Z") == datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)


def test_time_columns_map_to_avro_time_types() -> None:
    ms = column_type(_field(type="int32", name="io.debezium.time.Time"))
    us = column_type(_field(type="int64", name="io.debezium.time.MicroTime"))
    assert ms.avro == {"type": "int", "logicalType": "time-millis"} and ms.arrow == pa.time32("ms")
    assert us.avro == {"type": "long", "logicalType": "time-micros"} and us.arrow == pa.time64("us")
    assert us.decode(3_723_000_004) == time(1, 2, 3, 4)


def test_decimal_with_more_places_than_its_scale_is_refused() -> None:
    f = _field(parameters=(("__debezium.source.column.type", "NUMERIC"),
                           ("__debezium.source.column.length", "5"),
                           ("__debezium.source.column.scale", "2")))  # fmt: skip
    t = column_type(f)
    assert t.decode("1.50") == Decimal("1.50")
    with pytest.raises(ValueError, match="more than 2 decimal places"):
        t.decode("1.505")


@pytest.mark.parametrize(
    ("ftype", "name"),
    [
        ("array", None),
        ("struct", "io.debezium.data.geometry.Geometry"),
        ("int64", "io.debezium.time.NanoTimestamp"),
    ],
)
def test_unmapped_types_are_refused_with_the_column_named(ftype: str, name: str | None) -> None:
    with pytest.raises(UnsupportedColumnError, match="column x"):
        column_type(_field(type=ftype, name=name))


def test_a_wrong_json_type_is_a_malformed_change(snapshot_event: ChangeEvent) -> None:
    with pytest.raises(MalformedChangeError, match="c_int"):
        snapshot_event.row_schema.decode({**snapshot_event.after, "c_int": "two", "c_date": 1}, "probe after")
    with pytest.raises(MalformedChangeError, match="NOT NULL column c_int"):
        snapshot_event.row_schema.decode({"id": "a", "c_int": None}, "probe after")
