"""The lake landing: keyed state folded from changes, written atomically with its offsets.

Backs story 1's "schema changes reach analytics through CDC": the file dbt
reads (`lake/dims/items.parquet`) has the generator's columns at v1, gains
the new columns at v2, and a restart resumes after the last landed change.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq

from starlab.cdc import TableState, load_state, parse_change, write_state
from starlab.events.files import write_dimensions
from starlab.events.generator import Generator, GeneratorConfig


def _state(recorded, *names: str) -> TableState:
    state = TableState("app.public.items", ("item_id",))
    offset = 0
    for name in names:
        for key, value in recorded(name):
            ev = parse_change(key, value)
            if ev is None:
                state.skip(0, offset)
            else:
                state.apply(ev, 0, offset)
            offset += 1
    return state


def test_v1_items_land_with_the_generator_dims_columns_and_types(recorded, tmp_path: Path) -> None:
    gen = Generator(GeneratorConfig(events=10, items=3, users=3))
    write_dimensions(gen.items, gen.users, tmp_path / "generated")
    generated = pq.read_schema(tmp_path / "generated" / "dims" / "items.parquet").remove_metadata()
    state = _state(recorded, "items_v1_insert")
    write_state(state, tmp_path / "items.parquet")
    landed = pq.read_schema(tmp_path / "items.parquet").remove_metadata()
    assert landed == generated


def test_users_land_with_the_generator_dims_columns_and_types(recorded, tmp_path: Path) -> None:
    gen = Generator(GeneratorConfig(events=10, items=3, users=3))
    write_dimensions(gen.items, gen.users, tmp_path / "generated")
    generated = pq.read_schema(tmp_path / "generated" / "dims" / "users.parquet").remove_metadata()
    state = TableState("app.public.users", ("user_id",))
    ev = parse_change(*recorded("users_v1_insert")[0])
    assert ev is not None
    state.apply(ev, 0, 0)
    write_state(state, tmp_path / "users.parquet")
    assert pq.read_schema(tmp_path / "users.parquet").remove_metadata() == generated


def test_a_delete_removes_the_row_and_the_tombstone_only_moves_the_offset(recorded, tmp_path: Path) -> None:
    delete_key = parse_change(*recorded("items_delete")[0])
    assert delete_key is not None
    state = TableState("app.public.items", ("item_id",))
    # The deleted item existed before (its before-image is the row).
    state.rows[delete_key.key_tuple()] = dict(delete_key.before or {})
    state.schema = delete_key.row_schema
    for offset, (key, value) in enumerate(recorded("items_delete"), start=10):
        ev = parse_change(key, value)
        state.apply(ev, 0, offset) if ev else state.skip(0, offset)
    assert delete_key.key_tuple() not in state.rows
    assert state.next_offsets == {0: 12}


def test_state_and_offsets_round_trip_through_the_file(recorded, tmp_path: Path) -> None:
    state = _state(recorded, "items_v1_insert", "items_v2_update", "items_v2_dualwrite")
    path = tmp_path / "dims" / "items.parquet"
    assert write_state(state, path) == 2
    assert not list(path.parent.glob(".*tmp*"))  # the temporary file was renamed away
    back = load_state(path, "app.public.items", ("item_id",))
    assert back.next_offsets == {0: 3}
    assert back.rows == state.rows
    assert back.schema is not None and back.schema.avro_json() == state.schema.avro_json()  # type: ignore[union-attr]


def test_the_newest_row_type_wins_and_old_rows_get_nulls_for_new_columns(recorded, tmp_path: Path) -> None:
    state = _state(recorded, "items_v1_insert", "items_v2_dualwrite")
    write_state(state, tmp_path / "items.parquet")
    table = pq.read_table(tmp_path / "items.parquet")
    assert table.column_names == ["item_id", "category", "created_at", "category_group", "category_name"]
    rows = {r["item_id"]: r for r in table.to_pylist()}
    v1_id = next(iter(k for k in rows if rows[k]["category_name"] is None))
    assert rows[v1_id]["category"] is not None  # a v1 row: new fields NULL until the backfill


def test_files_without_cdc_metadata_or_from_another_topic_are_rebuilt(recorded, tmp_path: Path) -> None:
    gen = Generator(GeneratorConfig(events=10, items=3, users=3))
    write_dimensions(gen.items, gen.users, tmp_path)
    generated = load_state(tmp_path / "dims" / "items.parquet", "app.public.items", ("item_id",))
    assert generated.rows == {} and generated.next_offsets == {}
    state = _state(recorded, "items_v1_insert")
    write_state(state, tmp_path / "items.parquet")
    other = load_state(tmp_path / "items.parquet", "t1234.public.items", ("item_id",))
    assert other.rows == {} and other.schema is None
    assert load_state(tmp_path / "missing.parquet", "app.public.items", ("item_id",)).rows == {}
