"""The lake's events table in-process: a SQLite catalog in a temp dir, PyIceberg and DuckDB, no server."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from starlab.events.generator import Generator, GeneratorConfig
from starlab.events.model import Event, schema_str
from starlab.lake.catalog import catalog_address, flink_catalog_ddl, flink_catalog_options
from starlab.lake.errors import LakeConfigError, LakeError
from starlab.lake.events import (
    committed_batches,
    delete_events_with_prefix,
    ensure_events_table,
    events_sql,
    events_state,
    evolve_to_contract,
    write_lake_events,
)
from starlab.lake.read import pinned_snapshot, register_view
from starlab.settings import Settings


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", home=tmp_path / "home")


def _events(n: int = 500, seed: int = 1) -> list[Event]:
    return [e.event for e in Generator(GeneratorConfig(seed=seed, events=n)).emissions() if e.event]


def test_default_catalog_is_sqlite_beside_the_warehouse(settings: Settings) -> None:
    addr = catalog_address(settings)
    assert addr.kind == "sqlite"
    assert addr.jdbc_url == f"jdbc:sqlite:{(settings.lake_dir / 'catalog.db').resolve()}"
    assert addr.warehouse_uri == f"file://{settings.lake_warehouse_dir.resolve()}"
    assert "jdbc.user" not in flink_catalog_options(settings)
    assert flink_catalog_ddl(settings).startswith("CREATE CATALOG starlab WITH (")


def test_a_postgres_catalog_url_gives_both_clients_the_same_database(settings: Settings) -> None:
    pg = settings.model_copy(update={"lake_catalog_url": "postgresql://lake:p%40ss@127.0.0.1:5433/lake"})
    addr = catalog_address(pg)
    assert addr.sqlalchemy_url == "postgresql+psycopg://lake:p%40ss@127.0.0.1:5433/lake"
    assert addr.jdbc_url == "jdbc:postgresql://127.0.0.1:5433/lake"
    assert flink_catalog_options(pg)["jdbc.password"] == "p@ss"


def test_a_bad_catalog_url_is_one_config_error(settings: Settings) -> None:
    bad = settings.model_copy(update={"lake_catalog_url": "mysql://x/y"})
    with pytest.raises(LakeConfigError, match="scheme must be sqlite or postgresql"):
        catalog_address(bad)


def test_the_schema_follows_the_contract_and_is_partitioned_by_event_date(settings: Settings) -> None:
    table = ensure_events_table(settings)
    contract = [f["name"] for f in json.loads(schema_str())["fields"]]
    names = [f.name for f in table.schema().fields]
    assert names[: len(contract)] == contract
    assert names[len(contract) :] == ["produce_ts", "is_late", "watermark_ts", "event_date"]
    assert all(not f.required for f in table.schema().fields)
    assert [f.name for f in table.spec().fields] == ["event_date"]


def test_a_batch_is_one_commit_and_a_rerun_of_it_appends_nothing(settings: Settings) -> None:
    events = _events()
    assert write_lake_events(events, settings, batch_id="b1") == len(events)
    assert write_lake_events(events, settings, batch_id="b1") == 0  # already committed
    state = events_state(settings)
    assert state.rows == len(events) and state.snapshots == 1
    assert committed_batches(ensure_events_table(settings)) == {"b1"}
    sql, _ = events_sql(settings)
    dates = duckdb.sql(f"select count(*) from ({sql}) where event_date <> cast(event_ts as date)").fetchall()
    assert dates == [(0,)]  # event_date is the UTC date of event_ts


def test_a_view_pins_one_snapshot_and_later_commits_are_not_in_it(settings: Settings) -> None:
    write_lake_events(_events(seed=1), settings, batch_id="b1")
    con = duckdb.connect()
    first = register_view(con, ensure_events_table(settings), "lake.events")
    write_lake_events(_events(seed=2), settings, batch_id="b2")
    assert con.execute("select count(*) from lake.events").fetchone() == (first.rows,)
    assert pinned_snapshot(con, "lake.events") == first.snapshot_id
    latest = register_view(con, ensure_events_table(settings), "lake.events")
    assert latest.snapshot_id != first.snapshot_id
    assert con.execute("select count(*) from lake.events").fetchone() == (latest.rows,)
    # time travel: the first snapshot again
    again = register_view(con, ensure_events_table(settings), "lake.events", first.snapshot_id)
    assert (again.rows, again.files) == (first.rows, first.files)


def test_the_file_list_beside_the_view_has_each_files_date_and_newest_ingest_time(settings: Settings) -> None:
    # What the incremental models read instead of the rows (macros/incremental.sql): the
    # manifests' bounds must equal the rows' own maxima, or a date with new rows would be skipped.
    write_lake_events(_events(seed=1), settings, batch_id="b1")
    write_lake_events(_events(seed=2), settings, batch_id="b2")
    con = duckdb.connect()
    state = register_view(con, ensure_events_table(settings), "lake.events")
    listed = con.execute(
        "select file_path, partition_key, record_count, max_ingest_ts from lake.events_files order by 1"
    ).fetchall()
    from_rows = con.execute(
        "select filename, cast(min(event_date) as varchar), count(*), max(cast(ingest_ts as timestamptz)) "
        "from lake.events group by filename order by 1"
    ).fetchall()
    assert len(listed) == state.file_count > 2
    assert listed == from_rows
    assert all(f.max_ingest_ts is not None for f in state.files)


def test_an_unknown_snapshot_is_refused(settings: Settings) -> None:
    write_lake_events(_events(), settings)
    with pytest.raises(LakeError, match="no snapshot 42"):
        events_state(settings, 42)


def test_an_empty_table_still_has_its_columns(settings: Settings) -> None:
    sql, state = events_sql(settings)
    assert state.snapshot_id is None and state.rows == 0
    cols = [c[0] for c in duckdb.sql(f"describe select * from ({sql})").fetchall()]
    assert "event_id" in cols and "event_date" in cols and "filename" in cols


def test_an_optional_field_added_by_the_contract_is_a_metadata_change(settings: Settings) -> None:
    write_lake_events(_events(), settings)
    v2 = json.loads(schema_str())
    v2["fields"].append({"name": "app_version", "type": ["null", "string"], "default": None})
    result = evolve_to_contract(settings, json.dumps(v2))
    assert result.added == ("app_version",)
    assert not result.rewrote_data and result.files_before  # same files, nothing rewritten
    assert result.schema_id_after == result.schema_id_before + 1
    sql, _ = events_sql(settings)
    assert duckdb.sql(f"select count(app_version) from ({sql})").fetchall() == [(0,)]  # old rows: null
    assert evolve_to_contract(settings, json.dumps(v2)).added == ()  # applying it again: nothing


def test_a_required_or_retyped_field_is_refused(settings: Settings) -> None:
    ensure_events_table(settings)
    required = json.loads(schema_str())
    required["fields"].append({"name": "tenant", "type": "string"})
    with pytest.raises(LakeConfigError, match="required"):
        evolve_to_contract(settings, json.dumps(required))
    retyped = json.loads(schema_str())
    retyped["fields"][-1] = {"name": "dwell_ms", "type": ["null", "string"], "default": None}
    with pytest.raises(LakeConfigError, match="type change"):
        evolve_to_contract(settings, json.dumps(retyped))


def test_deleting_by_prefix_rewrites_files_without_delete_files(settings: Settings) -> None:
    events = _events()
    tagged = [Event(**{**e.to_record(), "event_id": f"bad-{e.event_id}"}) for e in events[:50]]
    write_lake_events(events + tagged, settings)
    assert delete_events_with_prefix(settings, "bad-") == 50
    state = events_state(settings)  # table_state refuses delete files: copy-on-write left none
    assert state.rows == len(events)
