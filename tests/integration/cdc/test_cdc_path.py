"""Story 1's CDC path on real components: PostgreSQL -> Debezium -> Avro topics -> lake dims.

An INSERT, UPDATE and DELETE in the app database reach the Avro topic (a
tombstone for the delete) and the lake dimension dbt reads; a restarted
bridge applies nothing twice; items v2's expand migration reaches the lake as
new columns and the CDC backfill fills them from the replayed change log,
idempotently; a breaking column is refused by the registry and lands
nowhere. Tests run in file order on one private database (see conftest.py).
"""

from __future__ import annotations

import io
import json
import statistics
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import fastavro
import httpx
import pyarrow.parquet as pq
import pytest
from confluent_kafka import TopicPartition
from confluent_kafka.schema_registry import SchemaRegistryClient

from contracts.cdc import apply_items_v2_expand, backfill_items_category, upsert_item_v2
from starlab.appdb import (
    BASELINE_DIR,
    CDC_TABLES,
    MigrationError,
    applied_migrations,
    apply_migrations,
    connect,
)
from starlab.cdc import BridgeResult, SchemaRejectedError, run_bridge, topics_for, unwire
from starlab.cdc.bridge import CdcTopics
from starlab.errors import StackError
from starlab.events.files import write_dimensions
from starlab.events.generator import Generator
from starlab.kafka_io import consumer, end_offsets, read_all
from starlab.settings import Settings
from starlab.stack.components import Postgres

from .conftest import SEED, CdcStack

pytestmark = pytest.mark.integration

ITEMS, USERS = CDC_TABLES


def _bridge_until(settings: Settings, done: Callable[[], bool], timeout_s: float = 90) -> BridgeResult:
    """Run the bridge (catch-up mode) until `done()` holds; Debezium needs a moment per change."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = run_bridge(settings, idle_timeout_s=1.0)
        if done():
            return result
        if time.monotonic() > deadline:
            raise AssertionError("the change did not reach the lake in time")


def _lake(path: Path) -> dict[str, dict[str, object]]:
    table = pq.read_table(path)
    key = table.column_names[0]
    return {r[key]: r for r in table.to_pylist()}


def _avro_log(settings: Settings, topics: CdcTopics) -> list[tuple[str, dict[str, object] | None]]:
    """(item key, decoded value or None for a tombstone) of the whole Avro topic, in order."""
    registry = SchemaRegistryClient({"url": settings.schema_registry_url})
    parsed: dict[int, object] = {}

    def decode(data: bytes) -> dict[str, object]:
        schema_id, payload = unwire(data)
        if schema_id not in parsed:
            parsed[schema_id] = fastavro.parse_schema(json.loads(registry.get_schema(schema_id).schema_str))
        return fastavro.schemaless_reader(io.BytesIO(payload), parsed[schema_id])  # type: ignore[arg-type,return-value]

    out = []
    for msg in read_all(settings, topics.target, idle_timeout_s=2):
        key = decode(msg.key())  # type: ignore[arg-type]
        value = msg.value()
        out.append((str(next(iter(key.values()))), None if value is None else decode(value)))
    return out


def test_components_are_healthy_and_a_busy_port_is_refused(cdc: CdcStack) -> None:
    assert cdc.postgres.health().healthy, cdc.postgres.health()
    assert cdc.connect.health().healthy, cdc.connect.health()
    print(f"\nconnect start to RUNNING: {cdc.connect_start_s:.1f} s")
    other = cdc.settings.model_copy(update={"home": cdc.settings.home / "second"})
    with pytest.raises(StackError, match="already in use"):
        Postgres(other).start()


def test_migrations_are_recorded_once_and_an_edited_one_is_refused(cdc: CdcStack, tmp_path: Path) -> None:
    with connect(cdc.settings, autocommit=True) as conn:
        assert [m.version for m in applied_migrations(conn)] == ["0001_items_users", "0002_cdc_publication"]
        again = apply_migrations(conn, BASELINE_DIR)
        assert again.applied == () and len(again.already) == 2
        edited = tmp_path / "migrations"
        edited.mkdir()
        (edited / "0001_items_users.sql").write_text("-- edited after it was applied\nSELECT 1;")
        with pytest.raises(MigrationError, match="edited after it was applied"):
            apply_migrations(conn, edited)


def test_the_snapshot_lands_the_seeded_tables_like_the_generated_dims(cdc: CdcStack, tmp_path: Path) -> None:
    s = cdc.settings
    items, users = topics_for(s, ITEMS), topics_for(s, USERS)
    result = _bridge_until(s, lambda: items.lake_file.exists() and users.lake_file.exists())
    assert _lake(items.lake_file).keys() == {i.item_id for i in Generator(SEED).items}
    assert len(_lake(users.lake_file)) == SEED.users
    gen = Generator(SEED)
    write_dimensions(gen.items, gen.users, tmp_path)
    for name, topics in (("items", items), ("users", users)):
        generated = pq.read_table(tmp_path / "dims" / f"{name}.parquet")
        landed = pq.read_table(topics.lake_file)
        assert landed.schema.remove_metadata() == generated.schema
        assert (
            landed.sort_by(landed.column_names[0]).to_pylist()
            == generated.sort_by(generated.column_names[0]).to_pylist()
        )
    modes = {
        subj: httpx.get(f"{s.schema_registry_url}/config/{subj}", timeout=5).json()["compatibilityLevel"]
        for subj in (items.value_subject, items.key_subject)
    }
    assert set(modes.values()) == {"FULL_TRANSITIVE"}
    assert result.changes >= 0


def test_insert_update_delete_reach_the_avro_topic_and_the_lake(cdc: CdcStack) -> None:
    s = cdc.settings
    items = topics_for(s, ITEMS)
    new_id, doomed = f"n{uuid.uuid4().hex[:6]}", Generator(SEED).items[0].item_id
    with connect(s, autocommit=True) as conn:
        conn.execute("INSERT INTO items VALUES (%s, 'news', '2026-01-05T10:00:00.123Z')", (new_id,))
        conn.execute("UPDATE items SET category = 'sports' WHERE item_id = %s", (new_id,))
        conn.execute("DELETE FROM items WHERE item_id = %s", (doomed,))
    _bridge_until(s, lambda: doomed not in _lake(items.lake_file) and new_id in _lake(items.lake_file))
    lake = _lake(items.lake_file)
    assert lake[new_id]["category"] == "sports"
    assert lake[new_id]["created_at"] == datetime(2026, 1, 5, 10, 0, 0, 123000, tzinfo=UTC)
    log = _avro_log(s, items)
    mine = [v for k, v in log if k == new_id]
    assert [v["category"] if v else None for v in mine] == ["news", "sports"]
    assert [v for k, v in log if k == doomed][-1] is None  # the delete is a tombstone


def test_a_restarted_bridge_applies_nothing_twice(cdc: CdcStack) -> None:
    s = cdc.settings
    items = topics_for(s, ITEMS)
    before = pq.read_table(items.lake_file)
    avro_end = end_offsets(s, items.target)
    again = run_bridge(s, idle_timeout_s=1.0)
    assert again.changes == 0
    assert end_offsets(s, items.target) == avro_end
    assert pq.read_table(items.lake_file).equals(before)


def test_insert_to_avro_topic_latency(cdc: CdcStack) -> None:
    s = cdc.settings
    items = topics_for(s, ITEMS)
    stop = threading.Event()
    bridge = threading.Thread(target=run_bridge, args=(s,), kwargs={"follow": True, "stop": stop})
    bridge.start()
    reader = consumer(s, **{"fetch.wait.max.ms": 10})
    reader.assign([TopicPartition(items.target, p, o) for p, o in end_offsets(s, items.target).items()])
    latencies_ms = []
    try:
        with connect(s, autocommit=True) as conn:
            for _ in range(10):
                item_id = f"l{uuid.uuid4().hex[:6]}"
                t0 = time.monotonic()
                conn.execute("INSERT INTO items VALUES (%s, 'tech', now())", (item_id,))
                deadline = t0 + 30
                while time.monotonic() < deadline:
                    msg = reader.poll(0.01)
                    if msg is not None and msg.error() is None and item_id.encode() in (msg.key() or b""):
                        latencies_ms.append((time.monotonic() - t0) * 1000)
                        break
                time.sleep(0.2)
    finally:
        reader.close()
        stop.set()
        bridge.join(30)
    assert len(latencies_ms) == 10
    p50 = statistics.median(latencies_ms)
    print(f"\nINSERT -> Avro topic: p50 {p50:.0f} ms, max {max(latencies_ms):.0f} ms")
    assert p50 < 5_000


def test_backfill_fills_the_new_fields_from_the_change_log_and_twice_changes_nothing(cdc: CdcStack) -> None:
    s = cdc.settings
    items = topics_for(s, ITEMS)
    with connect(s, autocommit=True) as conn:
        assert apply_items_v2_expand(conn).applied == ("0101_items_category_split_expand",)
        upsert_item_v2(conn, "v2-item", "Gaming", datetime(2026, 12, 2, tzinfo=UTC))  # dual-write
        rows = conn.execute("SELECT count(*) FROM items").fetchone()
    assert rows is not None
    # The dual-written row is in the change log before the backfill replays it.
    _bridge_until(s, lambda: "v2-item" in _lake(items.lake_file))
    first = backfill_items_category(s)
    rate = f"{first.rows_per_s:.0f} events/s"
    print(f"\nbackfill: {first.rows_scanned} events replayed, {first.rows_updated} rows updated, {rate}")
    assert first.nulls_before == rows[0] - 1  # every row but the dual-written one
    assert (first.rows_updated, first.nulls_after) == (first.nulls_before, 0)
    assert first.changed_table
    second = backfill_items_category(s)
    assert (second.rows_updated, second.nulls_before, second.nulls_after) == (0, 0, 0)
    assert second.digest_before == second.digest_after == first.digest_after
    assert not second.changed_table
    # The fill reaches analytics through CDC: the lake has the new columns, no NULLs.
    _bridge_until(s, lambda: all(r["category_name"] for r in _lake(items.lake_file).values()))
    lake = _lake(items.lake_file)
    assert lake["v2-item"]["category_group"] == "entertainment"
    assert all(r["category_name"] == r["category"] for r in lake.values())


def test_a_breaking_column_is_refused_by_the_registry_and_lands_nowhere(cdc: CdcStack) -> None:
    s = cdc.settings
    users = topics_for(s, USERS)
    landed = pq.read_table(users.lake_file)
    with connect(s, autocommit=True) as conn:
        # A NOT NULL column: old data cannot be read with the new schema (no default).
        conn.execute("ALTER TABLE users ADD COLUMN tier text NOT NULL DEFAULT 'free'")
        conn.execute(
            "UPDATE users SET country = 'NZ' WHERE user_id = %s", (Generator(SEED).users[0].user_id,)
        )
    deadline = time.monotonic() + 60
    with pytest.raises(SchemaRejectedError, match=rf"{users.value_subject}"):
        while time.monotonic() < deadline:
            run_bridge(s, idle_timeout_s=1.0)
    assert pq.read_table(users.lake_file).equals(landed)
