"""A short replayed quarter in both arms: breakages without the gate, none with it, real DAG runs.

Story 1's "schema-related breakages fell from 4/quarter to 0", end to end on
the real stack (Kafka, the registry, a private PostgreSQL and Debezium per
arm, Airflow's metadata DB, dbt). The script is `short_quarter`: four changes
of the real quarter (contracts/replay/quarter.yaml), on closer days: one safe (items
gets a nullable brand), two breaking (items renames created_at; the
producer renames platform) and the urgent one (the Sales report table
renames events and drops shares, which only a new model version can ship
the same day). Taking them from the real script keeps the test on the
changes the demo replays.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from contracts.replay.model import Arm, Reach, ReplayResult
from contracts.replay.run import run_replay
from contracts.replay.script import short_quarter
from contracts.settings import DEFAULT_SCRIPT, ContractsSettings
from starlab.settings import Settings
from starlab.stack import manager

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def work_dir(stack: Settings) -> Iterator[Path]:
    """The replay's folder, kept (`keep=True`) so the test can open each arm's metadata DB.

    Under the stack's home, not pytest's private tmp: each arm's PostgreSQL runs as its
    own OS user and must traverse every parent folder."""
    base = stack.home / "replay"
    base.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="test-", dir=base))
    yield work
    shutil.rmtree(work, ignore_errors=True)


@pytest.fixture(scope="module")
def replay(stack: Settings, work_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> ReplayResult:
    # Postgres and Connect are started per arm from the stack's binaries and resolved jars.
    manager.up(stack, ["airflow"], progress=lambda m: None)
    script = short_quarter(DEFAULT_SCRIPT, tmp_path_factory.mktemp("replay") / "short.yaml")
    cfg = ContractsSettings(replay_events_per_day=60)
    assert cfg.replay_parallel_arms  # the default: one process per arm, both at once
    lines: list[str] = []
    result = run_replay(stack, cfg, script=script, progress=lines.append, work_dir=work_dir, keep=True)
    assert len(result.arms) == 2, lines[-20:]
    return result


def test_breakages_reach_production_without_the_gate_and_none_with_it(replay: ReplayResult) -> None:
    without, with_gate = replay.without, replay.with_gate
    assert without is not None and with_gate is not None
    assert len(without.breakages) > 0
    assert {b.change_id for b in without.breakages} <= {"B1", "B2", "U1"}  # never the safe change
    assert {b.reach for b in without.breakages} <= {Reach.DBT_BUILD, Reach.DBT_TEST, Reach.CONSUMER}
    assert without.pages > 0 and without.retries > 0
    assert with_gate.breakages == ()
    assert with_gate.pages == 0 and with_gate.retries == 0
    assert with_gate.blocked == 3  # the two breaking changes and the urgent one, at the pull request
    safe = next(c for c in with_gate.changes if c.change_id == "C01")
    assert not safe.blocked_by_gate and safe.landed_day == 3


def test_the_urgent_change_lands_the_same_day_through_a_new_model_version(replay: ReplayResult) -> None:
    with_gate = replay.with_gate
    assert with_gate is not None
    urgent = next(c for c in with_gate.changes if c.change_id == "U1")
    assert urgent.blocked_by_gate and urgent.fix_commits == 1
    assert urgent.landed_day == urgent.opened_day  # review 0, fix after 0: the same day
    assert {"DBT_COLUMN_RENAMED", "DBT_COLUMN_REMOVED"} & set(urgent.gate_rules)
    fix_run = next(g for g in with_gate.gate_runs if g.change_id == "U1" and g.fix)
    assert fix_run.exit_code == 0  # v2 next to v1, v1 deprecated 14 days out
    after = [r for r in with_gate.analytics_runs if r.day >= urgent.opened_day]
    assert after and all(not r.failed for r in after)  # the Sales report kept reading v1


def test_the_dag_runs_were_real_and_are_in_the_airflow_db(replay: ReplayResult, work_dir: Path) -> None:
    for arm in replay.arms:
        # each arm ran in its own process on its own copy of the migrated metadata DB
        db = work_dir / f"runner-{arm.arm.value}" / "airflow" / "airflow.db"
        with sqlite3.connect(db) as con:
            known = set(con.execute("select dag_id, run_id from dag_run").fetchall())
        assert arm.runs, arm.arm
        for run in arm.runs:
            assert (run.dag_id, run.run_id) in known, run
            assert run.runtime_s > 0 and run.tasks
    gate_runs = [r for r in replay.arms[1].runs if r.dag_id == "contract_gate"]
    assert replay.arms[1].arm is Arm.WITH_GATE and gate_runs  # the pre-deploy check ran before deploys
    assert "dag.test()" in " ".join(replay.real) and replay.simulated
    assert os.path.basename(replay.script) == "short.yaml"
