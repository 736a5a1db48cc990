"""The app database's migrations as files: order, naming, checksums, what the baseline sets.

Backs story 1's "the app team changes its schema through reviewed, numbered
migrations": applying them against PostgreSQL is tested in
tests/integration/cdc; here, what the runner refuses before it connects.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from starlab.appdb import BASELINE_DIR, CDC_TABLES, PUBLICATION, MigrationError, load_migrations
from starlab.events.generator import Generator, GeneratorConfig, make_items, make_users


def test_baseline_is_ordered_and_sets_what_cdc_needs() -> None:
    migrations = load_migrations(BASELINE_DIR)
    assert [m.version for m in migrations] == ["0001_items_users", "0002_cdc_publication"]
    ddl = migrations[0].sql_text
    for t in CDC_TABLES:
        assert f"ALTER TABLE {t.name} REPLICA IDENTITY FULL;" in ddl
    assert f"CREATE PUBLICATION {PUBLICATION} FOR TABLE items, users;" in migrations[1].sql_text


def test_misnamed_and_duplicate_numbers_are_refused(tmp_path: Path) -> None:
    (tmp_path / "0001_a.sql").write_text("select 1;")
    (tmp_path / "1_b.sql").write_text("select 1;")
    with pytest.raises(MigrationError, match="NNNN_lower_snake"):
        load_migrations(tmp_path)
    (tmp_path / "1_b.sql").unlink()
    (tmp_path / "0001_c.sql").write_text("select 2;")
    with pytest.raises(MigrationError, match="share the number"):
        load_migrations(tmp_path)


def test_checksum_changes_with_the_file(tmp_path: Path) -> None:
    path = tmp_path / "0001_a.sql"
    path.write_text("select 1;")
    before = load_migrations(tmp_path)[0].checksum
    path.write_text("select 2;")
    assert load_migrations(tmp_path)[0].checksum != before


def test_seed_rows_are_the_generators_items_and_users() -> None:
    cfg = GeneratorConfig(seed=11, items=40, users=30)
    gen = Generator(cfg)
    rng = random.Random(cfg.seed)
    assert make_items(cfg, rng) == gen.items
    assert make_users(cfg, rng) == gen.users
