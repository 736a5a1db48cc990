"""The `rankings_daily` DAG (story 2): DagBag integrity, and `dag.test()` runs in both outcomes.

Airflow runs in a subprocess with `AIRFLOW_HOME` from the stack
(`starlab.stack.components.airflow_env`, a migrated SQLite DB), so its
configuration never leaks into the test process; one subprocess does both
`dag.test()` runs (Airflow and GX imports cost ~15 s per process on 2 cores).
Scenario of the runs:

- a build A is published directly for an old interval (blue);
- `dag.test()` for the next interval: every task succeeds and the flag flips
  to green (B), the Redis pointer moves to B;
- a row-count collapse lands for yesterday; `dag.test()` for today's
  interval: `gx_checkpoint` fails, `flip` and later tasks never run, and B is
  still what Redis serves.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from rankings.publish.publisher import Publisher
from rankings.synth import generate_recent
from starlab.settings import ROOT, Settings
from starlab.stack import manager
from starlab.stack.components import airflow_env

pytestmark = pytest.mark.integration
DAG_FILE = ROOT / "dags" / "rankings_daily.py"

# One Airflow process for everything (Airflow and GX imports cost ~15 s per
# process on 2 cores): the DagBag check, then the two dag.test() runs with the
# bad input injected in between, each followed by what Redis serves.
RUNNER = f"""
import importlib.util, json, sys
from datetime import datetime
from airflow.dag_processing.dagbag import DagBag

out = {{}}
bag = DagBag(dag_folder={str(DAG_FILE)!r})
heavy = sorted(m for m in ("duckdb", "great_expectations", "rankings.publish", "redis") if m in sys.modules)
out["dagbag"] = {{
    "errors": {{k: str(v) for k, v in bag.import_errors.items()}},
    "heavy_imports": heavy,
    "dags": {{
        dag_id: {{
            "tags": sorted(dag.tags),
            "retries": {{t.task_id: t.retries for t in dag.tasks}},
            "doc_md": dag.doc_md or "",
            "catchup": dag.catchup,
            "timetable": type(dag.timetable).__name__,
            "tasks": sorted(t.task_id for t in dag.tasks),
            "downstream": {{t.task_id: sorted(t.downstream_task_ids) for t in dag.tasks}},
        }}
        for dag_id, dag in bag.dags.items()
    }},
}}
print("RESULT " + json.dumps(out), flush=True)
if len(sys.argv) < 2:
    sys.exit(0)

from airflow.utils.session import create_session
from rankings.bench.faults import inject_collapse
from rankings.settings import RankingsSettings
from rankings.publish.publisher import Publisher
from starlab.settings import Settings

spec = importlib.util.spec_from_file_location("rankings_daily_under_test", {str(DAG_FILE)!r})
mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)
pub = Publisher(Settings(), RankingsSettings())


def run(logical_date):
    dr = mod.rankings_daily_dag.test(logical_date=datetime.fromisoformat(logical_date))
    with create_session() as s:
        tasks = {{ti.task_id: str(ti.state) for ti in dr.get_task_instances(session=s)}}
    st = pub.store.read()
    return {{
        "state": str(dr.state),
        "tasks": tasks,
        "interval_start": str(dr.data_interval_start),
        "pointer": pub.cache.live_build(),
        "served": pub.cache.read(20),
        "live_color": st.live_color,
        "live_build_id": st.live_build_id,
        "previous_build_id": st.previous_build_id,
        "live_as_of_date": st.live_record().as_of_date if st.live_record() else None,
    }}


out["ok"] = run(sys.argv[1])
inject_collapse(Settings(), datetime.fromisoformat(sys.argv[2]).date(), items=12)
import duckdb
from starlab.lake.events import events_sql
lake_sql, _ = events_sql(Settings())
out["injected"] = [
    r[0] for r in duckdb.sql(
        f"select distinct event_date from ({{lake_sql}}) where event_id like 'inject-collapse-%'"
    ).fetchall()
]
out["bad"] = run(sys.argv[3])
print("RESULT " + json.dumps(out, default=str), flush=True)
"""


def run_airflow(code: str, env: dict[str, str], *args: str, timeout: float = 900) -> dict[str, Any]:
    # The bound catches a hung run, not a slow one: two DAG runs with dbt and GX
    # took 2-5 min on 2 cores shared with other jobs; 900 s leaves room for that.
    proc = subprocess.run(
        [sys.executable, "-c", code, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    tail = f"exit {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    assert lines and proc.returncode == 0, tail
    result: dict[str, Any] = json.loads(lines[-1].removeprefix("RESULT "))
    result["log"] = proc.stdout[-40000:] + proc.stderr[-40000:]
    return result


@pytest.fixture(scope="module")
def airflow(stack: Settings) -> dict[str, str]:
    manager.up(stack, ["airflow"], progress=lambda m: None)  # idempotent: migrates once
    return {**os.environ, **airflow_env(stack)}


def test_dagbag_has_no_import_errors_tags_retries_and_no_io_at_import(airflow: dict[str, str]) -> None:
    r = run_airflow(RUNNER, airflow)["dagbag"]
    assert r["errors"] == {}
    dag = r["dags"]["rankings_daily"]
    assert "story-2" in dag["tags"] and "rankings" in dag["tags"]
    assert all(n >= 1 for n in dag["retries"].values()), dag["retries"]
    assert "rankings_daily" in dag["doc_md"] and dag["catchup"] is False
    assert dag["timetable"] == "CronDataIntervalTimetable"
    chain = ["check_inputs", "build", "gx_checkpoint", "flip", "warm_cache", "record_metrics"]
    assert dag["tasks"] == sorted(chain)
    for up, down in itertools.pairwise(chain):
        assert down in dag["downstream"][up], (up, dag["downstream"])
    assert r["heavy_imports"] == []  # DuckDB, GX, Redis are imported inside tasks only


@pytest.fixture(scope="module")
def runs(rk: Any, airflow: dict[str, str]) -> dict[str, Any]:
    settings, cfg = rk.settings, rk.cfg
    now = datetime.now(UTC)
    history_end = now - timedelta(days=9)
    generate_recent(settings, 20_000, days=14, end=history_end)
    a = Publisher(settings, cfg).run_cycle((now - timedelta(days=11)).date()).metrics.build_id
    env = {
        **airflow,
        "STARLAB_DATA_DIR": str(settings.data_dir.resolve()),
        "STARLAB_DUCKDB_PATH": str(settings.warehouse_path.resolve()),
        "STARLAB_REDIS_URL": settings.redis_url,
        "STARLAB_RANKINGS_KEY_PREFIX": cfg.key_prefix,
    }
    # run 1: the interval after A's; then a lone 12-item partition lands on
    # yesterday (9 days after the history's end + 8); run 2: today's interval
    out = run_airflow(RUNNER, env, history_end.isoformat(), history_end.isoformat(), now.isoformat())
    assert out["injected"] == [str((now - timedelta(days=1)).date())], out["injected"]
    return {"a": a, **out}


def test_a_good_interval_runs_every_task_and_flips(runs: dict[str, Any]) -> None:
    ok = runs["ok"]
    assert ok["state"] == "success", runs["log"][-3000:]
    assert set(ok["tasks"].values()) == {"success"}, ok["tasks"]
    assert ok["live_color"] == "green" and ok["previous_build_id"] == runs["a"]
    assert ok["pointer"] == ok["live_build_id"] != runs["a"]
    # as_of_date is the interval's date, not "now"
    assert ok["live_as_of_date"] == ok["interval_start"][:10]


def test_a_bad_build_fails_before_the_flip_and_the_old_version_keeps_serving(runs: dict[str, Any]) -> None:
    bad = runs["bad"]
    assert bad["state"] == "failed"
    assert bad["tasks"]["build"] == "success" and bad["tasks"]["gx_checkpoint"] == "failed"
    for task in ("flip", "warm_cache", "record_metrics"):
        assert bad["tasks"][task] == "upstream_failed", bad["tasks"]
    assert "row_count_served_date failed: observed 12" in runs["log"]
    assert bad["pointer"] == runs["ok"]["pointer"]
    assert bad["served"] == runs["ok"]["served"]
    assert bad["live_build_id"] == runs["ok"]["live_build_id"]
