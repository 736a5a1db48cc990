"""Debezium envelopes parse into typed change events; tombstones are recognised.

Backs story 1's CDC path: every op Debezium emits for the app team's tables
(snapshot read, insert, update, delete + tombstone) is understood, and
anything that is not a JsonConverter-with-schema record is refused with a
reason instead of being encoded wrongly.
"""

from __future__ import annotations

import json

import pytest

from starlab.cdc import MalformedChangeError, parse_change


def test_ops_of_a_recorded_history(recorded) -> None:
    events = [parse_change(k, v) for k, v in recorded("probe_changes")]
    assert [e.op if e else None for e in events] == ["r", "c", "u", "d", None]
    _read, insert, update, delete, _ = events
    assert update is not None and update.before is not None and update.after is not None
    # REPLICA IDENTITY FULL: the update carries the whole old row.
    assert (update.before["c_int"], update.after["c_int"]) == (5, 6)
    assert delete is not None and delete.is_delete and delete.after is None
    assert delete.before is not None and delete.before["c_int"] == 6
    assert delete.key == {"id": "b"} and delete.key_tuple() == ("b",)
    assert insert is not None and insert.source_ts_ms > 1_700_000_000_000 and insert.lsn


def test_the_app_tables_key_and_table_name(recorded) -> None:
    ev = parse_change(*recorded("items_v1_insert")[0])
    assert ev is not None
    assert ev.table == "items"
    assert ev.key_schema.full_name == "app.public.items.Key"
    assert ev.key_schema.names == ("item_id",)
    assert ev.row_schema.names == ("item_id", "category", "created_at")


def test_a_delete_is_followed_by_a_tombstone(recorded) -> None:
    delete, tombstone = recorded("items_delete")
    assert tombstone[1] is None
    assert parse_change(*tombstone) is None
    ev = parse_change(*delete)
    assert ev is not None and ev.is_delete


@pytest.mark.parametrize(
    ("key", "value", "reason"),
    [
        (b'{"item_id":"i1"}', b'{"item_id":"i1"}', "no schema/payload"),
        (b"{", b'{"schema":{},"payload":{}}', "not JSON"),
        (None, b'{"schema":{},"payload":{}}', "without a key"),
    ],
)
def test_records_that_are_not_debezium_json_are_refused(key: bytes | None, value: bytes, reason: str) -> None:
    with pytest.raises(MalformedChangeError, match=reason):
        parse_change(key, value)


def test_an_unknown_op_is_refused(recorded) -> None:
    key, value = recorded("items_v1_insert")[0]
    assert value is not None
    doc = json.loads(value)
    doc["payload"]["op"] = "t"  # truncate: skipped by the connector's defaults
    with pytest.raises(MalformedChangeError, match="unknown op"):
        parse_change(key, json.dumps(doc).encode())


def test_a_record_with_payload_before_schema_parses_the_same(recorded) -> None:
    # The fast path cuts the schema out of the raw bytes (JsonConverter writes
    # it first); any other layout must still parse, through the full decoder.
    key, value = recorded("probe_changes")[0]
    assert value is not None
    doc = json.loads(value)
    reordered = json.dumps({"payload": doc["payload"], "schema": doc["schema"]}).encode()
    assert parse_change(key, reordered) == parse_change(key, value)
