"""`run_replay`: play the scripted quarter in both arms (an Airflow child process) and return typed results.

Backs story 1's results in `starlab contracts replay` and `starlab demo
contracts`. The work happens in `contracts.replay.runner`, started here as a
child with the stack's `AIRFLOW_HOME` (Airflow reads its configuration at
import, so it never leaks into the caller) and with the replay's retry delay
set before the DAG files are parsed. Its progress lines are forwarded; its
result comes back as JSON and is parsed into `ReplayResult`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path

from contracts.errors import ContractsError, ContractsTransientError
from contracts.replay.model import Arm, ReplayResult
from contracts.replay.runner import PROGRESS, RunnerRequest, RunnerResult
from contracts.replay.script import load_script
from contracts.settings import ContractsSettings
from starlab.settings import ROOT, Settings

Progress = Callable[[str], None]
TAIL_LINES = 40


def _work_dir(settings: Settings, work_dir: Path | None) -> Path:
    # Not a private temp dir: PostgreSQL runs as its own OS user when starlab runs as
    # root, so every parent of its data dir must be traversable (mode o+x).
    if work_dir is None:
        base = settings.home / "replay"
        base.mkdir(parents=True, exist_ok=True)
        work_dir = Path(tempfile.mkdtemp(prefix="quarter-", dir=base))
    work_dir.mkdir(parents=True, exist_ok=True)
    work_dir.chmod(0o755)
    return work_dir.resolve()


def _bytecode_cache(settings: Settings) -> dict[str, str]:
    """Compiled bytecode under the stack's home for the replay's processes, never in the source tree.

    The replay starts about 40 Python processes that import dbt (every build,
    every CI gate run). With PYTHONDONTWRITEBYTECODE set and no cache, each
    compiles dbt from source again: measured here, `dbt --version` takes
    6.7 s of CPU without bytecode and 2.5 s with it. A PYTHONPYCACHEPREFIX
    outside the repository keeps what PYTHONDONTWRITEBYTECODE protects (no
    __pycache__ in the source or the venv) and saves that time; a prefix the
    user set is kept.
    """
    if os.environ.get("PYTHONPYCACHEPREFIX"):
        return {}
    return {"PYTHONPYCACHEPREFIX": str((settings.home / "pycache").resolve())}


def contracts_env(cfg: ContractsSettings) -> dict[str, str]:
    """STARLAB_CONTRACTS_* variables that make `ContractsSettings()` in another process equal `cfg`."""
    prefix = str(ContractsSettings.model_config.get("env_prefix", ""))
    return {f"{prefix}{name.upper()}": str(getattr(cfg, name)) for name in ContractsSettings.model_fields}


def run_replay(
    settings: Settings,
    cfg: ContractsSettings,
    *,
    script: Path | None = None,
    arms: Sequence[Arm] = (Arm.WITHOUT_GATE, Arm.WITH_GATE),
    work_dir: Path | None = None,
    keep: bool = False,
    progress: Progress = lambda _m: None,
) -> ReplayResult:
    """Replay the quarter in `arms`; raises `BadContractInput` for a bad script, `ContractsError` otherwise.

    Needs Kafka, the registry and a migrated Airflow home (`starlab up kafka
    schema-registry airflow`); PostgreSQL and Kafka Connect are started per arm
    from the stack's binaries and jars (`starlab up postgres connect` once
    resolves them).
    """
    from starlab.stack.components import AirflowHome, airflow_env

    script_path = (script or cfg.replay_script).resolve()
    load_script(script_path)  # bad input fails here, in one line, before any process starts
    AirflowHome(settings).start()  # idempotent: `airflow db migrate` once
    folder = _work_dir(settings, work_dir)
    request = RunnerRequest(
        script=str(script_path),
        arms=tuple(arms),
        work_dir=str(folder),
        tag=f"rq{uuid.uuid4().hex[:6]}",
        keep=keep,
    )
    req_path, res_path = folder / "request.json", folder / "result.json"
    req_path.write_text(request.model_dump_json())
    res_path.unlink(missing_ok=True)
    env = {
        **os.environ,
        **airflow_env(settings),
        # The child and its DAG tasks read ContractsSettings() from the environment:
        # they get this cfg, with the replay's retry delay (read by the DAG files when
        # the child parses them: seconds instead of production's 5 minutes).
        **contracts_env(cfg.model_copy(update={"dag_retry_delay_s": cfg.replay_retry_delay_s})),
        "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p),
        **_bytecode_cache(settings),
    }
    if os.environ.get("PYTHONDONTWRITEBYTECODE") and "PYTHONPYCACHEPREFIX" not in os.environ:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
    cmd = [sys.executable, "-m", "contracts.replay.runner", str(req_path), str(res_path)]
    tail: deque[str] = deque(maxlen=TAIL_LINES)
    deadline = time.monotonic() + cfg.replay_timeout_s
    with subprocess.Popen(
        cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
    ) as proc:
        if proc.stdout is None:  # stdout=PIPE gives one; this only satisfies the type checker
            raise ContractsError("the replay process has no output pipe")
        for line in proc.stdout:
            if line.startswith(PROGRESS):
                progress(line.removeprefix(PROGRESS).rstrip())
            else:
                tail.append(line.rstrip())
            if time.monotonic() > deadline:
                proc.kill()
                raise ContractsTransientError(f"the replay ran longer than {cfg.replay_timeout_s:.0f} s")
        code = proc.wait()
    (folder / "runner.log.tail").write_text("\n".join(tail))
    if not res_path.exists():
        last = next((ln for ln in reversed(tail) if ln.strip()), "no output")
        raise ContractsError(f"the replay process stopped (exit {code}) before its result: {last[:300]}")
    outcome = RunnerResult.model_validate_json(res_path.read_bytes())
    if outcome.error is not None or outcome.result is None:
        raise ContractsError(f"replay failed: {outcome.error} (log tail: {folder / 'runner.log.tail'})")
    if not keep:
        shutil.rmtree(folder, ignore_errors=True)
    return outcome.result


__all__ = ["contracts_env", "run_replay"]
