"""`run_replay`: play the scripted quarter in both arms (Airflow child processes) and return typed results.

Backs story 1's results in `starlab contracts replay` and `starlab demo
contracts`. The work happens in `contracts.replay.runner`, started here as
children (one per arm by default, both at once, each with a private copy of
the migrated Airflow home; or one for every arm) with `AIRFLOW_HOME` set
(Airflow reads its configuration at import, so it never leaks into the
caller) and with the replay's retry delay set before the DAG files are
parsed. Their progress lines are forwarded; their results come back as JSON
and are parsed into one `ReplayResult`.
"""

from __future__ import annotations

import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
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


@dataclass
class _Child:
    """One runner process: its request and result files (the request names its arms), its output's tail."""

    request: Path
    result: Path
    log_tail: Path
    env: dict[str, str]
    tail: deque[str] = field(default_factory=lambda: deque(maxlen=TAIL_LINES))
    proc: subprocess.Popen[str] | None = None


def _private_airflow_home(settings: Settings, folder: Path) -> Settings:
    """A copy of the migrated Airflow home for one child, so two children never share a metadata DB.

    Airflow's metadata DB here is SQLite: two processes running `dag.test()` on
    one file would wait on (and time out on) each other's write locks. A copy
    of the migrated file costs a few milliseconds; `airflow db migrate` again
    would cost about a minute.
    """
    home = folder / "airflow"
    shutil.copytree(
        settings.airflow_home_dir, home, ignore=shutil.ignore_patterns("logs"), dirs_exist_ok=True
    )
    (home / "logs").mkdir(exist_ok=True)
    return settings.model_copy(update={"airflow_home": home})


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

    With `cfg.replay_parallel_arms` (the default) each arm is its own child
    process with its own copy of the Airflow metadata DB, and the two play at
    once: each is mostly one core's work (a dbt process at a time, or CI's gate
    runs), so on two cores the replay takes about the longer arm's time instead
    of the sum. Both arms then share the machine alike, which matters because
    the runtime-variance claim compares their wall-clock runtimes.
    """
    from starlab.stack.components import AirflowHome, airflow_env

    script_path = (script or cfg.replay_script).resolve()
    load_script(script_path)  # bad input fails here, in one line, before any process starts
    AirflowHome(settings).start()  # idempotent: `airflow db migrate` once
    folder = _work_dir(settings, work_dir)
    tag = f"rq{uuid.uuid4().hex[:6]}"
    groups: list[tuple[Arm, ...]] = (
        [(a,) for a in arms] if cfg.replay_parallel_arms and len(arms) > 1 else [tuple(arms)]
    )
    base_env = {
        **os.environ,
        # The child and its DAG tasks read ContractsSettings() from the environment:
        # they get this cfg, with the replay's retry delay (read by the DAG files when
        # the child parses them: seconds instead of production's 5 minutes).
        **contracts_env(cfg.model_copy(update={"dag_retry_delay_s": cfg.replay_retry_delay_s})),
        "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p),
        **_bytecode_cache(settings),
    }
    if os.environ.get("PYTHONDONTWRITEBYTECODE") and "PYTHONPYCACHEPREFIX" not in os.environ:
        base_env.pop("PYTHONDONTWRITEBYTECODE", None)
    children: list[_Child] = []
    for group in groups:
        name = "-".join(a.value for a in group)
        child_dir = folder / f"runner-{name}"
        child_dir.mkdir(parents=True, exist_ok=True)
        own = _private_airflow_home(settings, child_dir) if len(groups) > 1 else settings
        request = RunnerRequest(script=str(script_path), arms=group, work_dir=str(folder), tag=tag, keep=keep)
        req_path = child_dir / "request.json"
        req_path.write_text(request.model_dump_json())
        env = {**base_env, **airflow_env(own), "STARLAB_AIRFLOW_HOME": str(own.airflow_home_dir.resolve())}
        children.append(_Child(req_path, child_dir / "result.json", child_dir / "runner.log.tail", env))
    t0, load_start = time.monotonic(), os.getloadavg()[0]
    results = _run_children(children, cfg.replay_timeout_s, progress)
    if len(results) == 1:
        result = results[0]
    else:
        # One result of both arms, in the requested order, timed as a whole.
        played = {a.arm: a for r in results for a in r.arms}
        result = results[0].model_copy(
            update={
                "arms": tuple(played[a] for a in arms),
                "wall_s": round(time.monotonic() - t0, 1),
                "arms_at_once": True,
                "load_1m": (round(load_start, 2), round(os.getloadavg()[0], 2)),
            }
        )
    if not keep:
        shutil.rmtree(folder, ignore_errors=True)
    return result


def _run_children(
    children: list[_Child],
    timeout_s: float,
    progress: Progress,
    cmd: Sequence[str] = (sys.executable, "-m", "contracts.replay.runner"),
) -> list[ReplayResult]:
    """Start every child, forward their progress lines as they come, and parse their results.

    One reader thread per child puts lines on a queue; this thread alone calls
    `progress` (a rich console is not written from two threads) and enforces
    the deadline. When a child fails, the others are interrupted (half a
    replay is no result) and the failed child's error is the one raised.
    """
    lines: queue.Queue[tuple[int, str | None]] = queue.Queue()

    def read(i: int, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None  # stdout=PIPE
        for line in proc.stdout:
            lines.put((i, line))
        lines.put((i, None))

    deadline = time.monotonic() + timeout_s
    failed: _Child | None = None
    try:
        for i, child in enumerate(children):
            child.result.unlink(missing_ok=True)
            child.proc = subprocess.Popen(
                [*cmd, str(child.request), str(child.result)],
                env=child.env,
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                bufsize=1,
            )
            threading.Thread(target=read, args=(i, child.proc), daemon=True, name=f"replay-{i}").start()
        running = len(children)
        while running and failed is None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise ContractsTransientError(f"the replay ran longer than {timeout_s:.0f} s")
            try:
                i, line = lines.get(timeout=min(left, 5.0))
            except queue.Empty:
                continue
            child = children[i]
            if line is None:  # its output ended: it has exited or is exiting
                running -= 1
                assert child.proc is not None  # started above
                if child.proc.wait() != 0 or not _succeeded(child):
                    failed = child
            elif line.startswith(PROGRESS):
                progress(line.removeprefix(PROGRESS).rstrip())
            else:
                child.tail.append(line.rstrip())
    finally:
        _stop(children)
    if failed is not None:
        _result(failed)  # raises its error
    return [_result(child) for child in children]


def _succeeded(child: _Child) -> bool:
    if not child.result.exists():
        return False
    return RunnerResult.model_validate_json(child.result.read_bytes()).error is None


def _stop(children: list[_Child], grace_s: float = 60.0) -> None:
    """Interrupt children still running, the way Ctrl-C would, then kill what is left after `grace_s`.

    SIGINT lets a runner's `finally` stop its arm's PostgreSQL and Kafka Connect;
    SIGKILL would leave them running.
    """
    live = [c.proc for c in children if c.proc is not None and c.proc.poll() is None]
    for proc in live:
        proc.send_signal(signal.SIGINT)
    for proc in live:
        try:
            proc.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _result(child: _Child) -> ReplayResult:
    child.log_tail.write_text("\n".join(child.tail))
    code = child.proc.returncode if child.proc is not None else None
    if not child.result.exists():
        last = next((ln for ln in reversed(child.tail) if ln.strip()), "no output")
        raise ContractsError(f"the replay process stopped (exit {code}) before its result: {last[:300]}")
    outcome = RunnerResult.model_validate_json(child.result.read_bytes())
    if outcome.error is not None or outcome.result is None:
        raise ContractsError(f"replay failed: {outcome.error} (log tail: {child.log_tail})")
    return outcome.result


__all__ = ["contracts_env", "run_replay"]
