"""The lake's events table: one Iceberg table that the stream and the batch writers append to.

Backs story 3's lake ("Kafka + Flink + Iceberg") and is the input of story
2's rankings, story 3's reconciliation and story 4's offline store. Its
columns come from the event's Avro contract (through the same generator as
the Flink DDL, `starlab.flink.ddl.event_columns`), plus what the stream adds:
`produce_ts`, `is_late` (behind the watermark: in the table, not in the
stream's metrics), `watermark_ts`, and `event_date`, the UTC date of
`event_ts` that the table is partitioned by (identity), so late events land
in their own date's partition.

The kernel creates the table; Flink's sink only inserts into it. Every
column is optional: a writer that does not know a column (a batch writer
has no watermark) leaves it null, and an added column (story 1's contracts
evolving the event) is a metadata-only change.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
from pyiceberg.catalog.sql import SqlCatalog
from pyiceberg.exceptions import NamespaceAlreadyExistsError, NoSuchTableError, TableAlreadyExistsError
from pyiceberg.partitioning import PartitionField, PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.table import Table
from pyiceberg.transforms import IdentityTransform
from pyiceberg.types import (
    BooleanType,
    DateType,
    DoubleType,
    IcebergType,
    IntegerType,
    LongType,
    NestedField,
    StringType,
    TimestampType,
    TimestamptzType,
)

from starlab.events.files import events_table, write_dimensions, write_jsonl
from starlab.events.generator import Generator
from starlab.events.model import Event
from starlab.flink.ddl import event_columns
from starlab.lake.catalog import open_catalog
from starlab.lake.errors import LakeConfigError
from starlab.lake.read import TableState, local_path, scan_sql, table_state
from starlab.settings import Settings

EVENTS_TABLE = "events"

TABLE_PROPERTIES = {
    "format-version": "2",
    # Flink writes one file per checkpoint, partition and subtask: small
    # files by design, compacted later towards this size (`starlab lake compact`).
    "write.target-file-size-bytes": str(128 * 1024 * 1024),
    "write.parquet.compression-codec": "zstd",
    # Iceberg keeps the old metadata.json files of every commit unless told
    # otherwise: a stream committing every 5 s would leave 17k a day.
    "write.metadata.delete-after-commit.enabled": "true",
    "write.metadata.previous-versions-max": "50",
}

_FLINK_TO_ICEBERG: dict[str, IcebergType] = {
    "STRING": StringType(),
    "INT": IntegerType(),
    "BIGINT": LongType(),
    "BOOLEAN": BooleanType(),
    "DOUBLE": DoubleType(),
    "DATE": DateType(),
}

STREAM_COLUMNS: tuple[tuple[str, IcebergType, str], ...] = (
    ("produce_ts", TimestamptzType(), "When the edge producer sent it (the stream's latency clock)."),
    ("is_late", BooleanType(), "Behind the watermark when read: in the lake, not in the stream's metrics."),
    ("watermark_ts", TimestampType(), "The source watermark when the event was read (UTC)."),
    ("event_date", DateType(), "UTC date of event_ts: the partition."),
)


def _iceberg_type(sql_type: str, name: str) -> IcebergType:
    if re.fullmatch(r"TIMESTAMP\(\d\)", sql_type):
        return TimestampType()  # naive, UTC by convention, microseconds in Iceberg
    try:
        return _FLINK_TO_ICEBERG[sql_type]
    except KeyError:
        raise LakeConfigError(f"event column {name}: no Iceberg type for Flink type {sql_type}") from None


def events_schema() -> Schema:
    """The table's schema: the contract's columns, then the stream's."""
    fields: list[NestedField] = []
    for i, col in enumerate(event_columns(), start=1):
        fields.append(NestedField(i, col.name, _iceberg_type(col.sql_type, col.name), required=False))
    for j, (name, typ, doc) in enumerate(STREAM_COLUMNS, start=len(fields) + 1):
        fields.append(NestedField(j, name, typ, required=False, doc=doc))
    return Schema(*fields)


def events_partition_spec(schema: Schema) -> PartitionSpec:
    field = schema.find_field("event_date")
    return PartitionSpec(
        PartitionField(
            source_id=field.field_id, field_id=1000, transform=IdentityTransform(), name="event_date"
        )
    )


def table_identifier(settings: Settings) -> str:
    return f"{settings.lake_namespace}.{EVENTS_TABLE}"


def ensure_events_table(settings: Settings, catalog: SqlCatalog | None = None) -> Table:
    """The events table, created (with its namespace) if it does not exist yet."""
    catalog = catalog or open_catalog(settings)
    with contextlib.suppress(NamespaceAlreadyExistsError):
        catalog.create_namespace(settings.lake_namespace)
    ident = table_identifier(settings)
    try:
        return catalog.load_table(ident)
    except NoSuchTableError:
        pass
    schema = events_schema()
    try:
        return catalog.create_table(
            ident, schema=schema, partition_spec=events_partition_spec(schema), properties=TABLE_PROPERTIES
        )
    except TableAlreadyExistsError:  # another process created it between the two calls
        return catalog.load_table(ident)


def reset_events_table(settings: Settings) -> Table:
    """Drop the table (its catalog entry and its files) and create it empty.

    For demos and tests that start from an empty lake; never called by a
    scheduled job.
    """
    import shutil

    catalog = open_catalog(settings)
    ident = table_identifier(settings)
    try:
        location = catalog.load_table(ident).location()
        catalog.drop_table(ident)
        shutil.rmtree(local_path(location), ignore_errors=True)
    except NoSuchTableError:
        pass
    return ensure_events_table(settings, catalog)


def events_state(settings: Settings, snapshot_id: int | None = None) -> TableState:
    """The events table at a snapshot (default: the current one): files, rows, snapshots kept."""
    return table_state(ensure_events_table(settings), snapshot_id)


def events_sql(settings: Settings, snapshot_id: int | None = None) -> tuple[str, TableState]:
    """A DuckDB query over the events at a snapshot, and that snapshot's state.

    Use it as a subquery: `select count(*) from ({sql})`. The files are
    fixed when it is built: what the stream commits afterwards is not in it.
    """
    table = ensure_events_table(settings)
    state = table_state(table, snapshot_id)
    return scan_sql(state, table.schema()), state


def to_table_rows(events: pa.Table, table: Table) -> pa.Table:
    """Batch-written events (the generator's Arrow schema) in the table's schema.

    Timestamps become naive UTC microseconds (the table's type), `event_date`
    is derived from `event_ts`, and the stream-only columns are null.
    """
    schema = table.schema().as_arrow()
    n = events.num_rows
    cols: dict[str, pa.Array | pa.ChunkedArray] = {}
    for field in schema:
        if field.name == "event_date":
            # the UTC date: a zoned timestamp casts by its UTC value
            cols[field.name] = events["event_ts"].cast(pa.timestamp("ms")).cast(pa.date32())
        elif field.name in events.column_names:
            col = events[field.name]
            if pa.types.is_timestamp(col.type) and col.type.tz is not None and field.type.tz is None:
                # Arrow stores UTC instants; dropping the zone keeps those values: naive UTC.
                col = col.cast(pa.timestamp(col.type.unit))
            cols[field.name] = col.cast(field.type)
        else:
            cols[field.name] = pa.nulls(n, type=field.type)
    return pa.table(cols, schema=schema)


BATCH_ID = "starlab.batch-id"
"""Snapshot summary property naming the batch a commit appended (its idempotency key)."""


def committed_batches(table: Table) -> set[str]:
    """Batch ids of the snapshots the table still keeps."""
    out: set[str] = set()
    for snap in table.snapshots():
        value = snap.summary.get(BATCH_ID) if snap.summary is not None else None
        if value is not None:
            out.add(str(value))
    return out


def append_events(settings: Settings, events: pa.Table, batch_id: str | None = None) -> int:
    """Append batch-written events to the table in one commit (one snapshot); returns rows appended.

    With a `batch_id`, the commit carries it in its snapshot summary and a
    batch already committed is not appended again (returns 0): a re-run of
    an interval is idempotent, the way Flink's sink skips a checkpoint whose
    id is already in the table's summary. Only snapshots not yet expired
    are remembered.
    """
    if events.num_rows == 0:
        return 0
    table = ensure_events_table(settings)
    if batch_id is not None and batch_id in committed_batches(table):
        return 0
    props = {BATCH_ID: batch_id} if batch_id is not None else {}
    table.append(to_table_rows(events, table), snapshot_properties=props)
    return events.num_rows


def delete_events_with_prefix(settings: Settings, prefix: str) -> int:
    """Delete the rows whose event_id starts with `prefix` (one commit); returns rows deleted.

    Copy-on-write: the files holding such rows are rewritten without them,
    so the table stays free of delete files (what `read.table_state` expects).
    """
    from pyiceberg.expressions import Reference, StartsWith

    table = ensure_events_table(settings)
    before = table_state(table).rows
    if before == 0:
        return 0
    # pydantic's generated __init__ hides the real (term, literal) signature from mypy
    starts = StartsWith(Reference("event_id"), prefix)  # type: ignore[call-arg,misc,arg-type]
    table.delete(delete_filter=starts)
    return before - table_state(table).rows


@dataclass(frozen=True)
class Evolution:
    """What applying a newer event contract to the table did."""

    added: tuple[str, ...]
    """Columns added (optional, at the end), in contract order."""
    schema_id_before: int
    schema_id_after: int
    files_before: tuple[str, ...]
    files_after: tuple[str, ...]

    @property
    def rewrote_data(self) -> bool:
        """False when no data file changed: the evolution was a metadata commit."""
        return self.files_before != self.files_after


def evolve_to_contract(settings: Settings, schema_text: str) -> Evolution:
    """Add the optional fields a newer version of the event contract has to the table.

    Story 1's contracts allow a producer to add an optional field (BACKWARD
    compatible); the table follows with a schema change only: Iceberg
    tracks columns by id, so files written before read the new column as
    null and none is rewritten. A removed or retyped field is refused here:
    that is the versioning path of story 1, not an in-place change.
    """
    table = ensure_events_table(settings)
    before = table_state(table)
    schema_before = table.schema()
    current = {f.name: f for f in schema_before.fields}
    wanted = event_columns(schema_text)
    for col in wanted:
        if col.name in current:
            have = current[col.name].field_type
            want = _iceberg_type(col.sql_type, col.name)
            if have != want:
                raise LakeConfigError(
                    f"event field {col.name}: the contract says {want}, the table has {have}; "
                    "a type change needs a new field (story 1's versioning), not an in-place change"
                )
        elif not col.nullable:
            raise LakeConfigError(
                f"event field {col.name} is required in the new contract: old rows have no value for it, "
                "so only optional fields can be added"
            )
    added = tuple(c.name for c in wanted if c.name not in current)
    if added:
        with table.update_schema() as update:
            for col in wanted:
                if col.name in added:
                    update.add_column(col.name, _iceberg_type(col.sql_type, col.name))
    after = table_state(table)
    return Evolution(
        added=added,
        schema_id_before=schema_before.schema_id,
        schema_id_after=table.schema().schema_id,
        files_before=tuple(f.path for f in before.files),
        files_after=tuple(f.path for f in after.files),
    )


def write_lake_events(events: Iterable[Event], settings: Settings, batch_id: str | None = None) -> int:
    """Append events to the lake's events table (one Iceberg commit); returns rows appended.

    A `batch_id` makes the write idempotent: a batch already committed is skipped.
    """
    return append_events(settings, events_table(events), batch_id)


def generate_to_files(gen: Generator, settings: Settings, run: str, lake: bool = True) -> Path:
    """Run the generator into the raw log (+ the lake's events table and dims); returns the run dir."""
    run_dir = settings.data_dir / "raw" / run
    emissions = list(gen.emissions())
    write_jsonl(emissions, run_dir / "events.jsonl")
    gen.manifest.write(run_dir / "manifest.json")
    if lake:
        write_lake_events((e.event for e in emissions if e.event is not None), settings, batch_id=run)
        write_dimensions(gen.items, gen.users, settings.lake_dir)
    return run_dir


def bulk_dir(settings: Settings, tag: str) -> Path:
    """An empty directory inside the table's data location for a bulk writer's Parquet files.

    Inside the table's location, so once the files are added (`add_data_files`)
    the table owns them: a compaction that replaces them and a snapshot expiry
    delete them like any file the stream wrote.
    """
    import shutil

    table = ensure_events_table(settings)
    out = Path(local_path(table.location())) / "data" / f"bulk-{tag}"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    return out


def add_data_files(settings: Settings, files: list[Path]) -> TableState:
    """Commit Parquet files a bulk writer made (in the table's schema, `event_date` inside) in one snapshot.

    No rewrite: the files become the table's as they are (PyIceberg reads
    their footers for the column statistics and the partition value).
    """
    table = ensure_events_table(settings)
    if files:
        table.add_files([str(f) for f in files])
    return table_state(table)


__all__ = [
    "BATCH_ID",
    "EVENTS_TABLE",
    "STREAM_COLUMNS",
    "TABLE_PROPERTIES",
    "Evolution",
    "add_data_files",
    "append_events",
    "bulk_dir",
    "committed_batches",
    "delete_events_with_prefix",
    "ensure_events_table",
    "events_partition_spec",
    "events_schema",
    "events_sql",
    "events_state",
    "evolve_to_contract",
    "generate_to_files",
    "reset_events_table",
    "table_identifier",
    "to_table_rows",
    "write_lake_events",
]
