"""Compaction of the lake's small files on the real Iceberg action (story 3: "small files").

The stream commits one small file per task and checkpoint. `starlab lake
maintain` must bin-pack a partition's small files by their real sizes: with
Iceberg's default open-file cost every file weighs at least 4 MB, so 33 or
more files of one partition filled two 128 MB bins and became two files (the
cluster demo's fault run left 60 files of 12 KB and got 2). Forty appends of
a few rows each give forty files in one date partition here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from starlab.events.generator import Generator, GeneratorConfig
from starlab.lake.events import ensure_events_table, write_lake_events
from starlab.lake.maintenance import MaintenanceOptions, maintain
from starlab.lake.read import table_state
from starlab.settings import Settings

pytestmark = pytest.mark.integration

APPENDS = 40
"""More than 32: 33 files at the default 4 MB open cost already exceed one 128 MB bin."""


def test_forty_small_files_of_one_partition_become_one_file_with_every_row(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", duckdb_path=tmp_path / "w.duckdb")
    # noon: the few minutes of events (and their late ones) stay in one date partition
    gen = Generator(GeneratorConfig(seed=3, events=APPENDS * 10, start_ms=1_767_268_800_000, late_rate=0))
    events = [e.event for e in gen.emissions() if e.event is not None]
    for i in range(APPENDS):
        write_lake_events(events[i::APPENDS], settings, batch_id=f"small-{i}")
    before = table_state(ensure_events_table(settings))
    assert before.file_count == APPENDS

    result = maintain(settings, MaintenanceOptions(expire=False))

    after = result.after
    assert result.rows_unchanged and after.rows == before.rows == len(events)
    partitions = {f.partition for f in after.files}
    assert len(partitions) == 1
    assert after.file_count == 1, result.lines()
