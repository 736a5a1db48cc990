"""The `lake_maintenance` DAG (story 3): compaction keeps the row set, expiry bounds the history.

A table of this test's own data dir gets eight small commits (two dates
each, so about sixteen small files, like a stream's checkpoints). Then
`dag.test()` runs twice, with expiry set to keep only the newest snapshot:

- the first run compacts each date's files into one and expires the old
  snapshots; the rows, every column of every row, are the same as before;
- the second run changes no row and no live file (idempotent), and its
  expiry deletes the files the first compaction replaced: what is on disk is
  what the table references.

Airflow runs in a subprocess with `AIRFLOW_HOME` from the stack, as in the
other DAG tests; the maintenance itself runs Iceberg's Java actions in the
Flink venv (real Flink, real Iceberg).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import pytest

from starlab.settings import ROOT, Settings
from starlab.stack import manager
from starlab.stack.components import airflow_env

pytestmark = pytest.mark.integration
DAG_FILE = ROOT / "dags" / "lake_maintenance.py"
COMMITS = 8

RUNNER = f"""
import importlib.util, json, sys
from datetime import datetime, timedelta, timezone
from airflow.dag_processing.dagbag import DagBag
from airflow.utils.session import create_session

bag = DagBag(dag_folder={str(DAG_FILE)!r})
dag = bag.dags.get("lake_maintenance")
out = {{
    "errors": {{k: str(v) for k, v in bag.import_errors.items()}},
    "heavy_imports": sorted(m for m in ("pyiceberg", "duckdb", "pyarrow") if m in sys.modules),
    "downstream": {{t.task_id: sorted(t.downstream_task_ids) for t in dag.tasks}} if dag else {{}},
    "runs": [],
}}
spec = importlib.util.spec_from_file_location("lake_maintenance_under_test", {str(DAG_FILE)!r})
mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)
conf = {{"expire_older_than_s": 0, "retain_last": 1}}
for day in sys.argv[1:]:  # one interval per call
    logical = datetime.fromisoformat(day).replace(tzinfo=timezone.utc)
    dr = mod.lake_maintenance_dag.test(logical_date=logical, run_conf=conf)
    with create_session() as s:
        tasks = {{ti.task_id: str(ti.state) for ti in dr.get_task_instances(session=s)}}
    out["runs"].append({{"state": str(dr.state), "tasks": tasks}})
print("RESULT " + json.dumps(out), flush=True)
"""


def _rows(settings: Settings) -> list[tuple[Any, ...]]:
    """Every column of every row, in a fixed order: the row set to compare."""
    from starlab.lake.events import events_sql

    sql, _ = events_sql(settings)
    return duckdb.sql(f"select * exclude (filename) from ({sql}) order by event_id, ingest_ts").fetchall()


def _run(env: dict[str, str], day: str) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, "-c", RUNNER, day], env=env, capture_output=True, text=True, timeout=900, cwd=ROOT
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    tail = f"exit {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    assert lines and proc.returncode == 0, tail
    out: dict[str, Any] = json.loads(lines[-1].removeprefix("RESULT "))
    out["log"] = proc.stdout[-20000:] + proc.stderr[-20000:]
    return out


@pytest.fixture
def m(maintained: dict[str, Any]) -> dict[str, Any]:
    return maintained


@pytest.fixture(scope="module")
def maintained(stack: Settings, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from starlab.events.generator import Generator, GeneratorConfig
    from starlab.lake.events import ensure_events_table, events_state, write_lake_events
    from starlab.lake.maintenance import disk_files
    from starlab.lake.read import local_path

    manager.up(stack, ["airflow", "flink"], progress=lambda m: None)  # idempotent
    data = tmp_path_factory.mktemp("lake_maintenance") / "data"
    settings = stack.model_copy(update={"data_dir": data, "duckdb_path": None})
    valid = [e.event for e in Generator(GeneratorConfig(seed=3, events=4_000)).emissions() if e.event]
    step = len(valid) // COMMITS + 1
    for n in range(COMMITS):  # small commits, like a stream's checkpoints
        write_lake_events(valid[n * step : (n + 1) * step], settings, batch_id=f"small-{n}")
    env = {**os.environ, **airflow_env(stack), "STARLAB_DATA_DIR": str(data.resolve())}
    table = ensure_events_table(settings)
    r: dict[str, Any] = {"before": events_state(settings), "rows_before": _rows(settings)}
    r["first"] = _run(env, "2026-12-01")
    r["after_first"], r["rows_after_first"] = events_state(settings), _rows(settings)
    r["disk_after_first"] = disk_files(table.location())
    # the stream goes on: one more small commit, then the next day's run
    late = [e.event for e in Generator(GeneratorConfig(seed=4, events=50)).emissions() if e.event]
    write_lake_events(late, settings, batch_id="next-day")
    r["rows_before_second"], r["before_second"] = _rows(settings), events_state(settings)
    r["second"] = _run(env, "2026-12-02")
    r["after_second"], r["rows_after_second"] = events_state(settings), _rows(settings)
    r["disk_after_second"] = disk_files(table.location())
    r["disk_paths"] = {str(p) for p in Path(local_path(table.location())).rglob("*.parquet")}
    return r


def test_dagbag_order_and_no_heavy_imports(maintained: dict[str, Any]) -> None:
    out = maintained["first"]
    assert out["errors"] == {}
    assert out["downstream"] == {"compact": ["expire"], "expire": []}
    assert out["heavy_imports"] == []  # PyIceberg and DuckDB are imported inside the tasks


def test_both_runs_succeed(maintained: dict[str, Any]) -> None:
    for name in ("first", "second"):
        runs = maintained[name]["runs"]
        assert [r["state"] for r in runs] == ["success"], maintained[name]["log"][-3000:]
        assert set(runs[0]["tasks"].values()) == {"success"}, runs


def test_compaction_leaves_one_file_per_date_and_the_same_rows(maintained: dict[str, Any]) -> None:
    before, after = maintained["before"], maintained["after_first"]
    assert before.file_count >= COMMITS  # the small files the test made
    assert after.file_count == after.partitions == before.partitions  # one file per date
    assert after.rows == before.rows
    assert maintained["rows_after_first"] == maintained["rows_before"]  # every column of every row
    # the next day's run folds the new small file in, again without changing a row
    assert maintained["rows_after_second"] == maintained["rows_before_second"]
    assert maintained["after_second"].file_count == maintained["after_second"].partitions


def test_expiry_keeps_one_snapshot_and_reclaims_replaced_files_a_run_later(m: dict[str, Any]) -> None:
    assert m["before"].snapshots == COMMITS
    assert m["after_first"].snapshots == m["after_second"].snapshots == 1
    # Iceberg deletes a file when the snapshot that replaced it expires: the first
    # compaction's inputs stay on disk while its snapshot is the newest ...
    assert m["disk_after_first"].files == m["before"].file_count + m["after_first"].file_count
    # ... and are gone after the next run (the second compaction's inputs wait for the third)
    paths = m["disk_paths"]
    assert not paths & {f.path for f in m["before"].files}
    assert {f.path for f in m["after_second"].files} <= paths


def test_the_log_prints_files_before_and_after(maintained: dict[str, Any]) -> None:
    log = maintained["first"]["log"]
    assert "live data files:" in log and "data files on disk:" in log
