"""The lake's catalog on the stack's PostgreSQL: Flink's JdbcCatalog writes, PyIceberg reads.

The default catalog is a SQLite file per data dir; `STARLAB_LAKE_CATALOG_URL`
moves it to the `lake` database `starlab up` creates on PostgreSQL. This runs
the scripted stream through the real job with that URL and a namespace of
its own, reads the table back through PyIceberg and checks the catalog rows
in PostgreSQL itself, then drops the table.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from starlab.lake.catalog import CATALOG_NAME, open_catalog
from starlab.lake.events import table_identifier
from starlab.settings import LAKE_CATALOG_POSTGRES_URL, Settings
from starlab.stack import manager
from streaming.verify import lake_ids

from .conftest import run_scripted

pytestmark = pytest.mark.integration


def test_flink_writes_and_pyiceberg_reads_a_table_in_the_postgres_catalog(
    isolated: Settings, tmp_path: Path
) -> None:
    manager.up(isolated, ["postgres"], progress=lambda m: None)  # idempotent; creates the lake role once
    namespace = isolated.events_topic.split(".")[0]  # unique per test
    s = isolated.model_copy(
        update={
            "kafka_partitions": 1,
            "data_dir": tmp_path / "data",
            "duckdb_path": tmp_path / "w.duckdb",
            "lake_catalog_url": LAKE_CATALOG_POSTGRES_URL,
            "lake_namespace": namespace,
        }
    )
    try:
        run_scripted(s)
        rows, counts, state = lake_ids(s)
        assert rows == 7 and set(counts) == {f"e{i}" for i in range(1, 8)}
        assert state.snapshot_id is not None
        with psycopg.connect(LAKE_CATALOG_POSTGRES_URL, connect_timeout=5) as conn:
            found = conn.execute(
                "select metadata_location from iceberg_tables "
                "where catalog_name = %s and table_namespace = %s and table_name = 'events'",
                (CATALOG_NAME, namespace),
            ).fetchall()
        assert len(found) == 1 and found[0][0].startswith("file:")  # Java writes file:/abs/...
    finally:
        catalog = open_catalog(s)
        if catalog.table_exists(table_identifier(s)):
            catalog.drop_table(table_identifier(s))
        if (namespace,) in catalog.list_namespaces():
            catalog.drop_namespace(namespace)
