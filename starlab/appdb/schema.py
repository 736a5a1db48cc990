"""Names the app database, Debezium and the CDC bridge must agree on.

The publication lists the tables that are captured. It is created by a
migration (not by Debezium's autocreate) so that which tables leave the app
database is a reviewed change in `sql/`, not a side effect of a connector
setting.
"""

from __future__ import annotations

from dataclasses import dataclass

PUBLICATION = "app_cdc"
"""pgoutput publication Debezium reads; created in sql/0002_cdc_publication.sql."""


@dataclass(frozen=True)
class TableSpec:
    """A captured table: its name in schema `public` and its primary key."""

    name: str
    key: tuple[str, ...]

    @property
    def qualified(self) -> str:
        return f"public.{self.name}"


CDC_TABLES: tuple[TableSpec, ...] = (
    TableSpec("items", ("item_id",)),
    TableSpec("users", ("user_id",)),
)
"""Tables in the publication, in the order the bridge lands them."""
