"""The current state of a captured table, landed as the lake dimension dbt reads.

Backs story 1's claim that the app team's changes reach analytics through
CDC: `<data_dir>/lake/dims/items.parquet` and `users.parquet`, the files
`write_dimensions` used to generate, are now the tables' state folded from
their change topics.

Each file is written whole, to a temporary name and renamed (readers see the
old or the new file, never half of one), and carries in its Parquet metadata
the change-topic offsets it reflects and the Connect row schema. State and
position are one atomic write, so a restart resumes exactly after the last
landed change and applies each change to the lake once, whatever Kafka
redelivers.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from starlab.cdc.connect_schema import struct_from_json
from starlab.cdc.errors import CdcError
from starlab.cdc.events import ChangeEvent, derive
from starlab.cdc.mapping import Row, RowSchema

META_OFFSETS = b"starlab.cdc.offsets"
"""JSON {"topic": t, "next": {partition: next offset}}."""
META_SCHEMA = b"starlab.cdc.connect_schema"
"""The Connect struct the columns were derived from (RowSchema.connect)."""

Key = tuple[object, ...]


@dataclass
class TableState:
    """Rows by primary key, the row type, and the next change-topic offset per partition."""

    topic: str
    key_columns: tuple[str, ...]
    rows: dict[Key, Row] = field(default_factory=dict)
    schema: RowSchema | None = None
    next_offsets: dict[int, int] = field(default_factory=dict)

    def apply(self, ev: ChangeEvent, partition: int, offset: int) -> None:
        """Fold one change in (upsert or delete by key) and advance the position."""
        key = ev.key_tuple()
        if ev.is_delete or ev.after is None:
            self.rows.pop(key, None)
        else:
            self.rows[key] = ev.after
        # The newest row type wins: the lake has the table's current columns.
        self.schema = ev.row_schema
        self.next_offsets[partition] = offset + 1

    def skip(self, partition: int, offset: int) -> None:
        """Advance past a record that changes no row (a tombstone)."""
        self.next_offsets[partition] = offset + 1

    def to_arrow(self) -> pa.Table:
        if self.schema is None:
            raise CdcError(f"{self.topic}: no row schema yet (no change seen)")
        arrow = self.schema.arrow()
        try:
            keys = sorted(self.rows)  # tuple keys of one type: the fast, native order
        except TypeError:
            keys = sorted(self.rows, key=_sort_key)
        ordered = [self.rows[k] for k in keys]
        cols = {name: [r.get(name) for r in ordered] for name in arrow.names}
        table = pa.Table.from_pydict(cols, schema=arrow)
        meta = {
            META_OFFSETS: json.dumps(
                {"topic": self.topic, "next": self.next_offsets}, sort_keys=True
            ).encode(),
            META_SCHEMA: self.schema.connect.to_json().encode(),
        }
        return table.replace_schema_metadata(meta)


def _sort_key(key: Key) -> tuple[str, ...]:
    # For keys mixing types (or NULLs): str() keeps them sortable.
    return tuple(str(k) for k in key)


def write_state(state: TableState, path: Path) -> int:
    """Write the table atomically (temp file + rename); returns rows written."""
    table = state.to_arrow()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    pq.write_table(table, tmp)
    os.replace(tmp, path)
    return table.num_rows


def load_state(path: Path, topic: str, key_columns: tuple[str, ...]) -> TableState:
    """The landed state of `topic`, or an empty one (start from offset 0).

    A file without CDC metadata (the generator's dims) or landed from another
    topic is not CDC state: it is rebuilt from the beginning of the topic.
    """
    empty = TableState(topic, key_columns)
    if not path.exists():
        return empty
    meta = pq.read_schema(path).metadata or {}
    if META_OFFSETS not in meta or META_SCHEMA not in meta:
        return empty
    position = json.loads(meta[META_OFFSETS])
    if position.get("topic") != topic:
        return empty
    schema = derive(struct_from_json(meta[META_SCHEMA].decode()))
    table = pq.read_table(path)
    rows: dict[Key, Row] = {}
    for r in table.to_pylist():
        rows[tuple(r[k] for k in key_columns)] = dict(r)
    next_offsets = {int(p): int(o) for p, o in position.get("next", {}).items()}
    return TableState(topic, key_columns, rows, schema, next_offsets)
