"""Run `dbt build` for one color and read its `run_results.json`.

Backs the first half of story 2's DQ gate ("dbt tests from the dbt build")
and item 6's cost comparison (model execution times, not process wall time:
each dbt process spends ~5 s starting and parsing, which would drown a
sub-second incremental run).

dbt runs in a subprocess with absolute paths in `STARLAB_DATA_DIR` and
`STARLAB_DUCKDB_PATH` (dbt_project/profiles.yml reads them), and with its own
target and log folders per color under `<data_dir>/rankings/dbt/`, so it never
writes into the repository's `dbt_project/target` that a developer may be
using, and a color's partial parse survives between its runs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rankings.errors import RankingsError, RankingsTransientError
from starlab.settings import ROOT

PROJECT_DIR = ROOT / "dbt_project"
DBT = Path(sys.executable).with_name("dbt")
FAILED = ("fail", "error", "runtime error")
LOCK_MESSAGE = "Could not set lock on file"


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
        return self.unique_id.split(".")[-1] if self.kind != "test" else self.unique_id.split(".")[2]

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
        """Execution time per model (s), from run_results.json."""
        return {n.name: n.execution_time_s for n in self.nodes if n.kind == "model"}

    def tail(self, lines: int = 25) -> str:
        return "\n".join(self.output.splitlines()[-lines:])


def run_dbt(
    command: list[str],
    *,
    data_dir: Path,
    warehouse: Path,
    work_dir: Path,
    variables: dict[str, Any] | None = None,
    full_refresh: bool = False,
    timeout_s: float = 1_800.0,
) -> DbtRun:
    """Run `dbt <command>` on the project against `warehouse`; never raises for test failures.

    Raises `RankingsTransientError` when the warehouse is locked by another
    process (worth a retry) and `RankingsError` when dbt cannot start.
    """
    target = work_dir / "target"
    target.mkdir(parents=True, exist_ok=True)
    results_file = target / "run_results.json"
    results_file.unlink(missing_ok=True)
    cmd = [
        str(DBT),
        *command,
        "--project-dir",
        str(PROJECT_DIR),
        "--profiles-dir",
        str(PROJECT_DIR),
        "--target-path",
        str(target),
        "--log-path",
        str(work_dir / "logs"),
    ]
    if variables:
        cmd += ["--vars", json.dumps(variables)]
    if full_refresh:
        cmd.append("--full-refresh")
    env = {
        **os.environ,
        "STARLAB_DATA_DIR": str(data_dir.resolve()),
        "STARLAB_DUCKDB_PATH": str(warehouse.resolve()),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    t0 = time.monotonic()
    try:
        proc = subprocess.run(
            cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout_s
        )
    except FileNotFoundError as exc:
        raise RankingsError(f"dbt is not installed next to {sys.executable}: {exc}") from None
    except subprocess.TimeoutExpired:
        raise RankingsTransientError(f"dbt {' '.join(command)} ran longer than {timeout_s:.0f} s") from None
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
        raise RankingsTransientError(
            f"the warehouse {warehouse} is locked by another process (DuckDB allows one writer)"
        )
    if proc.returncode != 0 and not run.nodes:
        # dbt stopped before running any node: a parse or profile error, not a gate result
        raise RankingsError(f"dbt {' '.join(command)} failed before running any node:\n{run.tail()}")
    return run


__all__ = ["DBT", "PROJECT_DIR", "DbtRun", "NodeResult", "run_dbt"]
