"""CDC from the app team's PostgreSQL to Avro topics and the lake (story 1).

Story 1: "analytics pipelines broke after upstream schema changes from the app
team". Debezium captures the app database's changes into JSON change topics
(`starlab/stack`: the `connect` component); this package re-encodes them to
Avro through the schema registry, which judges each new table shape under the
subject's compatibility mode, and lands each table's current state as the
lake dimension dbt reads. A schema change in the app database therefore
reaches analytics the way the story says it should: through a registered,
checked schema, or not at all.

Function API (typed results; the CLI wires commands):
- `run_bridge(settings, ...) -> BridgeResult`
- `topics_for(settings, table) -> CdcTopics`
- `parse_change(key, value) -> ChangeEvent | None`, `row_schema(struct) -> RowSchema`
"""

from starlab.cdc.bridge import BridgeResult, CdcTopics, TableRun, run_bridge, topics_for
from starlab.cdc.connect_schema import ConnectField, ConnectStruct, parse_struct
from starlab.cdc.errors import (
    CdcError,
    CdcUnavailableError,
    MalformedChangeError,
    SchemaRejectedError,
    UnsupportedColumnError,
)
from starlab.cdc.events import ChangeEvent, parse_change
from starlab.cdc.lake import TableState, load_state, write_state
from starlab.cdc.mapping import Column, ColumnType, Row, RowSchema, column_type, row_schema
from starlab.cdc.serde import CDC_COMPATIBILITY, AvroEncoder, unwire

__all__ = [
    "CDC_COMPATIBILITY",
    "AvroEncoder",
    "BridgeResult",
    "CdcError",
    "CdcTopics",
    "CdcUnavailableError",
    "ChangeEvent",
    "Column",
    "ColumnType",
    "ConnectField",
    "ConnectStruct",
    "MalformedChangeError",
    "Row",
    "RowSchema",
    "SchemaRejectedError",
    "TableRun",
    "TableState",
    "UnsupportedColumnError",
    "column_type",
    "load_state",
    "parse_change",
    "parse_struct",
    "row_schema",
    "run_bridge",
    "topics_for",
    "unwire",
    "write_state",
]
