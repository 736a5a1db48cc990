"""Plain-SQL migrations of the app database, applied in order and recorded.

Backs story 1's "the app team iterates on its schema": every change to the app
database is a numbered `NNNN_name.sql` file. `apply_migrations` runs the ones
not applied yet, each in its own transaction together with its row in
`schema_migrations`, so a failed file leaves nothing half-applied, and a
second run does nothing. A file edited after it was applied is refused (its
checksum no longer matches): history is changed by a new file, never in place.

The kernel's baseline lives in `sql/` and is applied by `starlab up`; later
changes of the story (an expand/contract migration) live with the story and
go through the same function.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.rows import TupleRow

from starlab.errors import StarlabError

BASELINE_DIR = Path(__file__).resolve().parent / "sql"
"""Migrations every app database has: items, users and the CDC publication."""

MIGRATIONS_TABLE = "schema_migrations"
_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
_LOCK_ID = 0x5354_4C42
"""Advisory lock key ("STLB"): two appliers at once wait instead of racing."""


class MigrationError(StarlabError):
    """A migration file is misnamed, was edited after being applied, or failed."""


@dataclass(frozen=True)
class Migration:
    version: str
    """The file name without `.sql`, e.g. `0001_items_users`; sorts in apply order."""
    path: Path
    checksum: str
    """sha256 of the file's bytes."""

    @property
    def sql_text(self) -> str:
        return self.path.read_text("utf-8")


@dataclass(frozen=True)
class AppliedMigration:
    version: str
    checksum: str
    applied_at: datetime


@dataclass(frozen=True)
class MigrationResult:
    applied: tuple[str, ...]
    """Versions applied by this call, in order."""
    already: tuple[str, ...]
    """Versions found applied before the call (checksums verified)."""


def load_migrations(directory: Path) -> list[Migration]:
    """The `NNNN_name.sql` files of `directory`, in version order."""
    if not directory.is_dir():
        raise MigrationError(f"migrations directory {directory} does not exist")
    out = []
    for path in sorted(directory.glob("*.sql")):
        if not _NAME.match(path.name):
            raise MigrationError(f"{path.name}: migration files are named NNNN_lower_snake.sql")
        out.append(Migration(path.stem, path, hashlib.sha256(path.read_bytes()).hexdigest()))
    numbers = [m.version[:4] for m in out]
    dupes = sorted({n for n in numbers if numbers.count(n) > 1})
    if dupes:
        raise MigrationError(f"{directory}: two migrations share the number(s) {', '.join(dupes)}")
    return out


def _ensure_table(conn: psycopg.Connection[TupleRow]) -> None:
    conn.execute(
        sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} ("
            " version text PRIMARY KEY,"
            " checksum text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        ).format(sql.Identifier(MIGRATIONS_TABLE))
    )


def applied_migrations(conn: psycopg.Connection[TupleRow]) -> list[AppliedMigration]:
    """What `schema_migrations` records, oldest version first (empty if never migrated)."""
    exists = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (MIGRATIONS_TABLE,)).fetchone()
    if not exists or not exists[0]:
        return []
    rows = conn.execute(
        sql.SQL("SELECT version, checksum, applied_at FROM {} ORDER BY version").format(
            sql.Identifier(MIGRATIONS_TABLE)
        )
    ).fetchall()
    return [AppliedMigration(str(v), str(c), a) for v, c, a in rows]


def apply_migrations(
    conn: psycopg.Connection[TupleRow], directory: Path, target: str | None = None
) -> MigrationResult:
    """Apply the migrations of `directory` not applied yet, up to `target` (a version) if given.

    Each file runs in its own transaction with its bookkeeping row. `conn`
    must not be inside a transaction (autocommit or idle).
    """
    migrations = load_migrations(directory)
    if target is not None and target not in {m.version for m in migrations}:
        raise MigrationError(f"target {target!r} is not a migration in {directory}")
    applied: list[str] = []
    already: list[str] = []
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_ID,))
        _ensure_table(conn)
    for m in migrations:
        if target is not None and m.version > target:
            break
        with conn.transaction():
            # Serialise appliers: the second one sees the first one's rows.
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_ID,))
            row = conn.execute(
                sql.SQL("SELECT checksum FROM {} WHERE version = %s").format(
                    sql.Identifier(MIGRATIONS_TABLE)
                ),
                (m.version,),
            ).fetchone()
            if row is not None:
                if row[0] != m.checksum:
                    raise MigrationError(
                        f"migration {m.version} was edited after it was applied "
                        "(checksum differs): add a new migration instead"
                    )
                already.append(m.version)
                continue
            try:
                conn.execute(m.sql_text.encode())
            except psycopg.Error as exc:
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                raise MigrationError(f"migration {m.version} failed: {first}") from None
            conn.execute(
                sql.SQL("INSERT INTO {} (version, checksum) VALUES (%s, %s)").format(
                    sql.Identifier(MIGRATIONS_TABLE)
                ),
                (m.version, m.checksum),
            )
            applied.append(m.version)
    return MigrationResult(tuple(applied), tuple(already))
