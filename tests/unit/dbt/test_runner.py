"""The kernel's dbt runner: kernel vars passed, paths from settings, errors by class (no process)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

import starlab.dbt as dbt_mod
from starlab.dbt import DbtError, DbtTimeout, WarehouseLocked, run_dbt
from starlab.errors import TransientError
from starlab.events.model import ALLOWED_LATENESS_MS
from starlab.settings import Settings


class FakeRun:
    """Stands in for subprocess.run: records the call, optionally writes run_results.json."""

    def __init__(self, returncode: int = 0, output: str = "", results: list[dict[str, Any]] | None = None):
        self.returncode, self.output, self.results = returncode, output, results
        self.cmd: list[str] = []
        self.env: dict[str, str] = {}

    def __call__(self, cmd: list[str], **kw: Any) -> subprocess.CompletedProcess[str]:
        self.cmd, self.env = cmd, kw["env"]
        if self.results is not None:
            target = Path(cmd[cmd.index("--target-path") + 1])
            (target / "run_results.json").write_text(
                json.dumps({"metadata": {"invocation_id": "inv-1"}, "results": self.results})
            )
        return subprocess.CompletedProcess(cmd, self.returncode, stdout=self.output)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", home=tmp_path / "home")


def test_kernel_vars_and_settings_paths_reach_dbt(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeRun(
        results=[{"unique_id": "model.starlab.rankings", "status": "success", "execution_time": 0.5}]
    )
    monkeypatch.setattr(dbt_mod.subprocess, "run", fake)
    run = run_dbt(["build"], settings, work_dir=tmp_path / "w", variables={"target_color": "green"})
    sent = json.loads(fake.cmd[fake.cmd.index("--vars") + 1])
    assert sent == {"allowed_lateness_minutes": ALLOWED_LATENESS_MS // 60_000, "target_color": "green"}
    assert fake.env["STARLAB_DATA_DIR"] == str(settings.data_dir.resolve())
    assert fake.env["STARLAB_DUCKDB_PATH"] == str(settings.warehouse_path.resolve())
    assert run.ok and run.invocation_id == "inv-1" and run.model_times() == {"rankings": 0.5}


def test_a_failing_test_is_a_result_not_an_exception(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    node = {
        "unique_id": "test.starlab.not_null_x.abc",
        "status": "fail",
        "failures": 3,
        "execution_time": 0.1,
    }
    monkeypatch.setattr(dbt_mod.subprocess, "run", FakeRun(returncode=1, results=[node]))
    run = run_dbt(["build"], settings, work_dir=tmp_path / "w")
    assert not run.ok and [n.name for n in run.failures()] == ["not_null_x"]


def test_the_warehouse_lock_is_transient(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = "IO Error: Could not set lock on file warehouse.duckdb: Conflicting lock is held"
    monkeypatch.setattr(dbt_mod.subprocess, "run", FakeRun(returncode=2, output=out))
    with pytest.raises(WarehouseLocked) as err:
        run_dbt(["build"], settings, work_dir=tmp_path / "w")
    assert isinstance(err.value, TransientError)


def test_a_parse_error_before_any_node_is_terminal(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        dbt_mod.subprocess, "run", FakeRun(returncode=2, output="Compilation Error in model x")
    )
    with pytest.raises(DbtError, match="failed before running any node") as err:
        run_dbt(["build"], settings, work_dir=tmp_path / "w")
    assert not isinstance(err.value, TransientError)


def test_a_timeout_is_transient(settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def hang(cmd: list[str], **kw: Any) -> None:
        raise subprocess.TimeoutExpired(cmd, kw["timeout"])

    monkeypatch.setattr(dbt_mod.subprocess, "run", hang)
    with pytest.raises(DbtTimeout, match="longer than 3 s"):
        run_dbt(["build"], settings, work_dir=tmp_path / "w", timeout_s=3)
