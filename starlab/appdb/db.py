"""Connections to the app database, as its owner role, from settings.

Backs story 1's "app team's database": every caller (stack bootstrap, seed,
migrations, tests, the backfill) connects the same way, to `postgres_url`.
"""

from __future__ import annotations

import psycopg
from psycopg.rows import TupleRow

from starlab.errors import StackError, TransientError
from starlab.settings import Settings

CONNECT_TIMEOUT_S = 3
"""Fail fast when the database is down: `starlab status` probes with this."""


def connect(settings: Settings, autocommit: bool = False) -> psycopg.Connection[TupleRow]:
    """A new connection to the app database; a one-line error when it is not reachable."""
    addr = settings.postgres
    try:
        return psycopg.connect(
            settings.postgres_url,
            connect_timeout=CONNECT_TIMEOUT_S,
            autocommit=autocommit,
            application_name="starlab",
        )
    except psycopg.OperationalError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if "password authentication failed" in first or "does not exist" in first:
            raise StackError(f"app database {addr.host}:{addr.port}/{addr.database}: {first}") from None
        raise TransientError(
            f"app database {addr.host}:{addr.port}/{addr.database} not reachable: {first} "
            "(start it with `starlab up postgres`)"
        ) from None
