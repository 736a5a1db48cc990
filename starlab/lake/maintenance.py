"""Table maintenance: compact the stream's small files and expire old snapshots.

Backs story 3's follow-up on small files ("what happens to small files when
the stream commits every checkpoint?"): Flink's sink writes a file per
checkpoint, partition and writer, so a day at 5 s checkpoints is tens of
thousands of files; reads slow down with the file count, not the bytes.
Compaction rewrites a partition's small files into files of the target size
(one `replace` commit, the row set unchanged) and snapshot expiry deletes
what no kept snapshot references. Scheduled by the `lake_maintenance` DAG,
on demand by `starlab lake maintain`.

The work runs in the Flink venv (`maintain_main.py`, Iceberg's Java
actions); this module measures the table before and after with PyIceberg,
so the figures come from the table's metadata, not from the job's word.

Expiry and the stream: Flink's committer finds the last checkpoint it
committed in the snapshot summaries of the table's history. Expire only
snapshots older than the stream's retained checkpoints (the default keeps a
day and at least 20 snapshots) so a restore can still find it.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from starlab.lake.catalog import CATALOG_NAME, flink_catalog_options
from starlab.lake.errors import LakeConfigError, MaintenanceError
from starlab.lake.events import ensure_events_table, table_identifier
from starlab.lake.maintain_main import MARK_RESULT
from starlab.lake.read import TableState, local_path, table_state
from starlab.settings import ROOT, Settings
from starlab.stack import prereqs

MAIN = Path(__file__).resolve().with_name("maintain_main.py")


@dataclass(frozen=True)
class MaintenanceOptions:
    compact: bool = True
    target_file_mb: int = 128
    """Iceberg's default target; the events are small, so a day's partition becomes one file."""
    expire: bool = True
    expire_older_than_s: float = 86_400.0
    """Snapshots younger than this are kept (time travel, the stream's restore)."""
    retain_last: int = 20
    """At least this many snapshots are kept, however old."""

    def __post_init__(self) -> None:
        if self.target_file_mb < 1:
            raise LakeConfigError(f"target_file_mb must be >= 1, got {self.target_file_mb}")
        if self.expire_older_than_s < 0:
            raise LakeConfigError(f"expire_older_than_s must be >= 0, got {self.expire_older_than_s}")
        if self.retain_last < 1:
            raise LakeConfigError(f"retain_last must be >= 1 (the current snapshot), got {self.retain_last}")


@dataclass(frozen=True)
class DiskFiles:
    """Data files under the table's location, referenced or not (what the file system holds)."""

    files: int
    bytes: int


@dataclass(frozen=True)
class MaintenanceResult:
    """The table before and after, as its metadata and its directory say."""

    before: TableState
    after: TableState
    disk_before: DiskFiles
    disk_after: DiskFiles
    rewritten_files: int
    added_files: int
    expired_snapshots: int
    seconds: float

    @property
    def rows_unchanged(self) -> bool:
        return self.before.rows == self.after.rows

    def lines(self) -> list[str]:
        b, a = self.before, self.after
        return [
            f"live data files: {b.file_count} -> {a.file_count} "
            f"({b.bytes / 1e6:.2f} MB -> {a.bytes / 1e6:.2f} MB; "
            f"{self.rewritten_files} rewritten into {self.added_files})",
            f"rows: {b.rows:,} -> {a.rows:,} ({'unchanged' if self.rows_unchanged else 'CHANGED'})",
            f"snapshots kept: {b.snapshots} -> {a.snapshots} ({self.expired_snapshots} expired)",
            f"data files on disk: {self.disk_before.files} -> {self.disk_after.files} "
            f"({self.disk_before.bytes / 1e6:.2f} MB -> {self.disk_after.bytes / 1e6:.2f} MB)",
            f"took {self.seconds:.1f} s",
        ]


def disk_files(location: str) -> DiskFiles:
    data = Path(local_path(location)) / "data"
    files = [p for p in data.rglob("*.parquet")] if data.is_dir() else []
    return DiskFiles(len(files), sum(p.stat().st_size for p in files))


def _java_catalog_properties(settings: Settings) -> dict[str, str]:
    return {k: v for k, v in flink_catalog_options(settings).items() if k not in ("type", "catalog-impl")}


def maintain(settings: Settings, options: MaintenanceOptions, timeout_s: float = 900.0) -> MaintenanceResult:
    """Compact and/or expire the events table; returns what changed, measured from the table."""
    table = ensure_events_table(settings)
    before = table_state(table)
    disk_before = disk_files(table.location())
    if before.snapshot_id is None:  # nothing written yet: nothing to compact or expire
        return MaintenanceResult(before, before, disk_before, disk_before, 0, 0, 0, 0.0)
    python = prereqs.ensure_flink_venv(settings)
    jars_dir = prereqs.resolve_jars(settings, "flink")
    jars = sorted(p.resolve() for p in jars_dir.glob("*.jar"))
    classpath = [str(p) for p in prereqs.flink_classpath_jars(settings)]
    cfg = {
        "catalog_name": CATALOG_NAME,
        "catalog_properties": _java_catalog_properties(settings),
        "table": table_identifier(settings),
        "jars": [str(p) for p in jars if str(p) not in classpath],
        "compact": options.compact,
        "target_file_bytes": options.target_file_mb * 1024 * 1024,
        "expire": options.expire,
        "expire_older_than_s": options.expire_older_than_s,
        "retain_last": options.retain_last,
    }
    work = settings.home / "lake"
    work.mkdir(parents=True, exist_ok=True)
    cfg_path = work / "maintain.json"
    cfg_path.write_text(json.dumps(cfg, indent=2))
    t0 = time.monotonic()
    try:
        proc = subprocess.run(
            [str(python), str(MAIN), "--config", str(cfg_path)],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            cwd=ROOT,
            env={**os.environ, "HADOOP_CLASSPATH": ":".join(classpath)},
        )
    except subprocess.TimeoutExpired:
        raise MaintenanceError(f"table maintenance ran longer than {timeout_s:.0f} s") from None
    seconds = time.monotonic() - t0
    (settings.logs_dir).mkdir(parents=True, exist_ok=True)
    (settings.logs_dir / "lake-maintenance.log").write_text(proc.stdout + proc.stderr)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(MARK_RESULT)]
    if proc.returncode != 0 or not lines:
        errors = [ln for ln in (proc.stdout + proc.stderr).splitlines() if "Exception" in ln or "Error" in ln]
        last = (errors or (proc.stdout + proc.stderr).strip().splitlines() or ["no output"])[-1]
        raise MaintenanceError(
            f"table maintenance failed (see {settings.logs_dir / 'lake-maintenance.log'}): {last[:300]}"
        )
    done = json.loads(lines[-1].removeprefix(MARK_RESULT).strip())
    after = table_state(table)
    return MaintenanceResult(
        before=before,
        after=after,
        disk_before=disk_before,
        disk_after=disk_files(table.location()),
        rewritten_files=int(done.get("rewritten_files", 0)),
        added_files=int(done.get("added_files", 0)),
        expired_snapshots=int(done.get("expired_snapshots", 0)),
        seconds=seconds,
    )


__all__ = ["DiskFiles", "MaintenanceOptions", "MaintenanceResult", "disk_files", "maintain"]
