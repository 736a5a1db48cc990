"""The one way starlab runs dbt: a subprocess with a timeout, its own target folder, and typed results.

Used by story 2's publisher (`dbt build` into the idle color, its tests are
the first half of the DQ gate), story 3's reconciliation (the batch side of
the batch-vs-stream comparison) and story 1's contract gate. One runner means
one behaviour for all three:

- paths come from settings: `STARLAB_DATA_DIR` and `STARLAB_DUCKDB_PATH` are
  passed as absolute paths (dbt_project/profiles.yml reads them), so dbt opens
  the same warehouse as the Python side wherever it is started from;
- each caller gives its own `work_dir` for dbt's target and logs, so two
  callers never share a partial-parse cache or a run_results.json, and none
  writes into the repository's `dbt_project/target`;
- the kernel's facts (the allowed lateness of the event contract) are passed
  as vars on every run, so dbt never uses a second copy of them;
- the lake's events are an Iceberg table (`starlab.lake`): before a command
  that reads data, the view `lake.events` in the warehouse is pointed at the
  table's current snapshot (or at `lake_snapshot`, time travel), and dbt's
  source `lake.events` is that view, so every model reads one consistent
  snapshot while the stream goes on committing;
- DuckDB allows one writer per file: "Could not set lock" becomes
  `WarehouseLocked`, a `TransientError` an orchestrator retries; a timeout is
  transient too; dbt failing before any node ran (a parse or profile error)
  is a terminal `DbtError`. Failing tests are not exceptions: they are in
  `DbtRun.nodes`, for the caller's gate to judge.

Model execution times come from run_results.json, not the process wall time:
each dbt process spends about 5 s starting and parsing, which would drown a
sub-second incremental run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from starlab.errors import StarlabError, TransientError
from starlab.events.model import ALLOWED_LATENESS_MS
from starlab.lake.read import TableState
from starlab.settings import ROOT, Settings

__all__ = [
    "DBT",
    "PROJECT_DIR",
    "DbtError",
    "DbtRun",
    "DbtTimeout",
    "NodeResult",
    "VarValue",
    "WarehouseLocked",
    "kernel_vars",
    "pin_lake",
    "run_dbt",
]

PROJECT_DIR = ROOT / "dbt_project"
DBT = Path(sys.executable).with_name("dbt")
FAILED = ("fail", "error", "runtime error")
LOCK_MESSAGE = "Could not set lock on file"
READS_DATA = frozenset({"build", "run", "test", "seed", "snapshot", "show"})
"""dbt commands that read the lake; `parse`, `ls`, `compile` and `docs` do not."""
LAKE_VIEW = "lake.events"
"""The warehouse view dbt's source `lake.events` names (dbt_project/models/staging/_sources.yml)."""

VarValue = str | int | float | bool | None | list[object] | dict[str, object]


class DbtError(StarlabError):
    """dbt could not judge at all: not installed, or stopped before any node (parse/profile error)."""


class DbtTimeout(DbtError, TransientError):
    """dbt ran past its timeout; the run may succeed when the machine is less busy."""


class WarehouseLocked(DbtError, TransientError):
    """Another process holds DuckDB's write lock on the warehouse (one writer per file)."""


def kernel_vars() -> dict[str, VarValue]:
    """Facts the kernel owns that dbt models read as vars (one home each, passed on every run)."""
    return {"allowed_lateness_minutes": ALLOWED_LATENESS_MS // 60_000}


def pin_lake(settings: Settings, warehouse: Path, snapshot_id: int | None = None) -> TableState:
    """Point the warehouse's `lake.events` view at a snapshot of the events table."""
    import duckdb

    from starlab.lake.events import ensure_events_table
    from starlab.lake.read import register_view

    table = ensure_events_table(settings)
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(str(warehouse))
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise WarehouseLocked(
                f"the warehouse {warehouse} is locked by another process (DuckDB allows one writer)"
            ) from None
        raise
    try:
        return register_view(con, table, LAKE_VIEW, snapshot_id)
    finally:
        con.close()


@dataclass(frozen=True)
class NodeResult:
    """One node of a dbt run: a model, a data test or a unit test."""

    unique_id: str
    status: str
    execution_time_s: float
    failures: int | None
    message: str | None

    @property
    def kind(self) -> str:
        return self.unique_id.split(".", 1)[0]

    @property
    def name(self) -> str:
        """The node's name: `model.<project>.<name>[.v<N>]` -> name (a versioned model's
        version is `version`), `test.<project>.<name>.<hash>` -> name, unit tests by their own name."""
        parts = self.unique_id.split(".")
        return parts[-1] if self.kind == "unit_test" else parts[2]

    @property
    def version(self) -> str | None:
        """`v2` for `model.<project>.<name>.v2`; None for an unversioned node."""
        parts = self.unique_id.split(".")
        return parts[3] if self.kind == "model" and len(parts) > 3 else None

    @property
    def failed(self) -> bool:
        return self.status in FAILED


@dataclass
class DbtRun:
    """A finished dbt invocation."""

    args: list[str]
    returncode: int
    wall_s: float
    output: str
    invocation_id: str | None = None
    nodes: list[NodeResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not any(n.failed for n in self.nodes)

    def failures(self) -> list[NodeResult]:
        return [n for n in self.nodes if n.failed]

    def model_times(self) -> dict[str, float]:
        """Execution time per model (s), from run_results.json; a model's versions are summed."""
        out: dict[str, float] = {}
        for n in self.nodes:
            if n.kind == "model":
                out[n.name] = out.get(n.name, 0.0) + n.execution_time_s
        return out

    def tail(self, lines: int = 25) -> str:
        return "\n".join(self.output.splitlines()[-lines:])


def run_dbt(
    command: Sequence[str],
    settings: Settings,
    *,
    work_dir: Path,
    warehouse: Path | None = None,
    data_dir: Path | None = None,
    variables: Mapping[str, VarValue] | None = None,
    full_refresh: bool = False,
    timeout_s: float = 1_800.0,
    project_dir: Path = PROJECT_DIR,
    lake_snapshot: int | None = None,
) -> DbtRun:
    """Run `dbt <command>` against the settings' warehouse (or `warehouse`); never raises for test failures.

    `work_dir` holds this caller's `target/` and `logs/`. `variables` are
    merged over `kernel_vars()`. `lake_snapshot` pins the events table to
    one snapshot (default: the current one). Raises `WarehouseLocked` or
    `DbtTimeout` (transient) and `DbtError` (terminal) as described in the
    module docstring.
    """
    data_dir = (data_dir or settings.data_dir).resolve()
    warehouse = (warehouse or settings.warehouse_path).resolve()
    if command and command[0] in READS_DATA:
        lake_settings = settings.model_copy(update={"data_dir": data_dir})
        pin_lake(lake_settings, warehouse, lake_snapshot)
    target = work_dir / "target"
    target.mkdir(parents=True, exist_ok=True)
    results_file = target / "run_results.json"
    results_file.unlink(missing_ok=True)
    cmd = [
        str(DBT),
        *command,
        "--project-dir", str(project_dir),
        "--profiles-dir", str(project_dir),
        "--target-path", str(target),
        "--log-path", str(work_dir / "logs"),
        "--vars", json.dumps({**kernel_vars(), **(variables or {})}),
    ]  # fmt: skip
    if full_refresh:
        cmd.append("--full-refresh")
    env = {
        **os.environ,
        "STARLAB_DATA_DIR": str(data_dir),
        "STARLAB_DUCKDB_PATH": str(warehouse),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    t0 = time.monotonic()
    try:
        proc = subprocess.run(
            cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout_s
        )
    except FileNotFoundError as exc:
        raise DbtError(f"dbt is not installed next to {sys.executable}: {exc}") from None
    except subprocess.TimeoutExpired:
        raise DbtTimeout(f"dbt {' '.join(command)} ran longer than {timeout_s:.0f} s") from None
    run = DbtRun(args=cmd, returncode=proc.returncode, wall_s=time.monotonic() - t0, output=proc.stdout)
    if results_file.exists():
        data = json.loads(results_file.read_text())
        run.invocation_id = data.get("metadata", {}).get("invocation_id")
        run.nodes = [
            NodeResult(
                unique_id=r["unique_id"],
                status=r["status"],
                execution_time_s=float(r.get("execution_time") or 0.0),
                failures=r.get("failures"),
                message=r.get("message"),
            )
            for r in data.get("results", [])
        ]
    if proc.returncode != 0 and LOCK_MESSAGE in proc.stdout:
        raise WarehouseLocked(
            f"the warehouse {warehouse} is locked by another process (DuckDB allows one writer)"
        )
    if proc.returncode != 0 and not run.nodes:
        raise DbtError(f"dbt {' '.join(command)} failed before running any node:\n{run.tail()}")
    return run
