"""Where the lake's Iceberg catalog is, as PyIceberg and as Flink's JDBC catalog see it.

Backs story 3's "(A) Kafka + Flink + Iceberg": the stream writes the events
table through Flink's Iceberg sink, and every reader (dbt through DuckDB,
verification, maintenance) opens the same table through the same catalog.
Both sides speak Iceberg's JDBC catalog schema (`iceberg_tables`,
`iceberg_namespace_properties`): PyIceberg's `SqlCatalog` through
SQLAlchemy, Flink through `org.apache.iceberg.jdbc.JdbcCatalog`. A commit
is a compare-and-swap of the table's metadata location in that database,
which is what keeps two writers (the stream, a compaction) from losing each
other's snapshots.

The catalog's rows are keyed by the catalog's name, so both sides must use
`CATALOG_NAME`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

from pyiceberg.catalog.sql import SqlCatalog

from starlab.lake.errors import LakeConfigError
from starlab.settings import Settings

CATALOG_NAME = "starlab"
"""The catalog's name on both sides (Flink `CREATE CATALOG starlab`, PyIceberg `SqlCatalog("starlab")`)."""


@dataclass(frozen=True)
class CatalogAddress:
    """One catalog, spelled for each client."""

    sqlalchemy_url: str
    """For PyIceberg (`postgresql+psycopg://...` or `sqlite:////abs/path`)."""
    jdbc_url: str
    """For Flink's JdbcCatalog (`jdbc:postgresql://...` or `jdbc:sqlite:/abs/path`)."""
    user: str | None
    password: str | None
    warehouse_uri: str
    """`file:///abs/dir`: new tables put their data and metadata under it."""
    warehouse_dir: Path

    @property
    def kind(self) -> str:
        return "sqlite" if self.jdbc_url.startswith("jdbc:sqlite:") else "postgresql"


def catalog_address(settings: Settings) -> CatalogAddress:
    """The catalog of `settings`: its `lake_catalog_url`, or a SQLite file beside the warehouse."""
    warehouse = settings.lake_warehouse_dir.resolve()
    url = settings.lake_catalog_url or f"sqlite:///{(settings.lake_dir / 'catalog.db').resolve()}"
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        # SQLAlchemy's spelling: sqlite:////abs/path is absolute, sqlite:///rel/path relative
        path = Path(parts.path[1:])
        if not path.is_absolute():
            raise LakeConfigError(f"lake_catalog_url {url!r}: a SQLite catalog needs an absolute path")
        return CatalogAddress(
            sqlalchemy_url=f"sqlite:///{path}",
            jdbc_url=f"jdbc:sqlite:{path}",
            user=None,
            password=None,
            warehouse_uri=f"file://{warehouse}",
            warehouse_dir=warehouse,
        )
    if parts.scheme in ("postgresql", "postgresql+psycopg"):
        host, port, db = parts.hostname or "127.0.0.1", parts.port or 5432, parts.path.lstrip("/")
        user, password = unquote(parts.username or ""), unquote(parts.password or "")
        if not db or not user:
            raise LakeConfigError(f"lake_catalog_url {url!r}: needs a user and a database")
        return CatalogAddress(
            sqlalchemy_url=f"postgresql+psycopg://{quote(user)}:{quote(password)}@{host}:{port}/{db}",
            jdbc_url=f"jdbc:postgresql://{host}:{port}/{db}",
            user=user,
            password=password,
            warehouse_uri=f"file://{warehouse}",
            warehouse_dir=warehouse,
        )
    raise LakeConfigError(
        f"lake_catalog_url {url!r}: the scheme must be sqlite or postgresql, not {parts.scheme!r}"
    )


def open_catalog(settings: Settings) -> SqlCatalog:
    """PyIceberg's view of the catalog; creates the catalog's own tables on first use."""
    addr = catalog_address(settings)
    addr.warehouse_dir.mkdir(parents=True, exist_ok=True)
    if addr.kind == "sqlite":
        Path(addr.jdbc_url.removeprefix("jdbc:sqlite:")).parent.mkdir(parents=True, exist_ok=True)
    return SqlCatalog(CATALOG_NAME, uri=addr.sqlalchemy_url, warehouse=addr.warehouse_uri)


def flink_catalog_options(settings: Settings) -> dict[str, str]:
    """The `WITH (...)` options of Flink's `CREATE CATALOG` for the same catalog."""
    addr = catalog_address(settings)
    options = {
        "type": "iceberg",
        "catalog-impl": "org.apache.iceberg.jdbc.JdbcCatalog",
        "uri": addr.jdbc_url,
        "warehouse": addr.warehouse_uri,
    }
    if addr.user is not None:
        options["jdbc.user"] = addr.user
        options["jdbc.password"] = addr.password or ""
    return options


def flink_catalog_ddl(settings: Settings) -> str:
    """`CREATE CATALOG starlab WITH (...)`, rendered for a Flink SQL template."""
    opts = ",\n  ".join(
        f"'{k}' = '{v.replace(chr(39), chr(39) * 2)}'" for k, v in flink_catalog_options(settings).items()
    )
    return f"CREATE CATALOG {CATALOG_NAME} WITH (\n  {opts}\n)"


__all__ = [
    "CATALOG_NAME",
    "CatalogAddress",
    "catalog_address",
    "flink_catalog_ddl",
    "flink_catalog_options",
    "open_catalog",
]
