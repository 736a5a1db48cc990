"""The app team's PostgreSQL database: schema, migrations and seed data (story 1).

Story 1 starts with "analytics pipelines broke after upstream schema changes
from the app team". This package is that app team's side, made real: the
`items` and `users` tables that the generator used to write straight into the
lake now live in PostgreSQL, change through numbered SQL migrations, and are
captured by Debezium (`starlab/stack`: the `connect` component) into Kafka.
"""

from starlab.appdb.db import connect
from starlab.appdb.migrations import (
    BASELINE_DIR,
    AppliedMigration,
    Migration,
    MigrationError,
    MigrationResult,
    applied_migrations,
    apply_migrations,
    load_migrations,
)
from starlab.appdb.schema import CDC_TABLES, PUBLICATION, TableSpec
from starlab.appdb.seed import SeedResult, seed, seed_database, seed_from_generator

__all__ = [
    "BASELINE_DIR",
    "CDC_TABLES",
    "PUBLICATION",
    "AppliedMigration",
    "Migration",
    "MigrationError",
    "MigrationResult",
    "SeedResult",
    "TableSpec",
    "applied_migrations",
    "apply_migrations",
    "connect",
    "load_migrations",
    "seed",
    "seed_database",
    "seed_from_generator",
]
