"""Background processes of the local stack: start detached, track by pid file, stop.

Each service runs in its own session (process group) so `down` can signal the
whole tree (a JVM and anything it forked) and leave nothing behind.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from starlab.errors import StackError


def port_is_open(host: str, port: int, timeout_s: float = 0.3) -> bool:
    """True if something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie still answers kill(0); read its state to tell.
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0]
    except (OSError, IndexError):
        return True
    return state != "Z"


def wait_until(check: Callable[[], bool], timeout_s: float, what: str, interval_s: float = 0.25) -> None:
    """Poll `check` until it is true or raise StackError naming `what`."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(interval_s)
    raise StackError(f"{what} did not become healthy within {timeout_s:.0f}s")


@dataclass
class ManagedProcess:
    """A long-running service started by starlab and tracked by a pid file."""

    name: str
    run_dir: Path
    logs_dir: Path

    @property
    def pid_file(self) -> Path:
        return self.run_dir / f"{self.name}.pid"

    @property
    def log_file(self) -> Path:
        return self.logs_dir / f"{self.name}.log"

    def pid(self) -> int | None:
        try:
            pid = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None
        return pid if pid_alive(pid) else None

    def start(
        self,
        argv: Sequence[str],
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> int:
        """Start detached with output to the log file; returns the pid."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.logs_dir.mkdir(parents=True, exist_ok=True)
        full_env = {**os.environ, **(env or {})}
        with self.log_file.open("ab") as log:
            log.write(f"\n=== starting {self.name}: {' '.join(argv)}\n".encode())
            log.flush()
            try:
                proc = subprocess.Popen(
                    list(argv),
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    env=full_env,
                    cwd=cwd,
                    start_new_session=True,
                )
            except FileNotFoundError as exc:
                raise StackError(f"{self.name}: cannot run {argv[0]!r}: {exc.strerror}") from None
        self.pid_file.write_text(str(proc.pid))
        return proc.pid

    def exited_early(self) -> str | None:
        """If the process died, the tail of its log (for the error message)."""
        if self.pid() is not None:
            return None
        try:
            tail = self.log_file.read_text(errors="replace").strip().splitlines()[-5:]
        except OSError:
            tail = []
        return " | ".join(tail) or "no output"

    def stop(self, timeout_s: float = 20.0) -> bool:
        """SIGTERM the process group, SIGKILL after `timeout_s`; True if one ran."""
        pid = self.pid()
        self.pid_file.unlink(missing_ok=True)
        if pid is None:
            return False
        for sig, wait_s in ((signal.SIGTERM, timeout_s), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(pid, sig)
            except ProcessLookupError:
                return True
            deadline = time.monotonic() + wait_s
            while time.monotonic() < deadline:
                if not pid_alive(pid):
                    _reap(pid)
                    return True
                time.sleep(0.1)
        raise StackError(f"{self.name} (pid {pid}) survived SIGKILL")

    def kill(self) -> None:
        """SIGKILL at once (fault injection: a crash, not a shutdown)."""
        pid = self.pid()
        if pid is not None:
            os.killpg(pid, signal.SIGKILL)
            wait_until(lambda: not pid_alive(pid), 10, f"{self.name} exit after SIGKILL")
            _reap(pid)


def _reap(pid: int) -> None:
    # Only our own children can be reaped; others were re-parented to init.
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def wildcard_listeners(run_dir: Path) -> list[str]:
    """Listening TCP sockets on every interface (0.0.0.0 or ::) of starlab's processes.

    The processes are those of the pid files in `run_dir` and all their
    descendants (a Flink job's JVM under its Python driver). starlab binds
    everything to 127.0.0.1; an entry here is "name (pid) *:port" (issue 12).
    """
    import psutil

    found = []
    for pid_file in sorted(run_dir.glob("**/*.pid")):
        try:
            root = psutil.Process(int(pid_file.read_text().split()[0]))
            procs = [root, *root.children(recursive=True)]
        except (OSError, ValueError, IndexError, psutil.Error):
            continue
        for proc in procs:
            try:
                conns = proc.net_connections(kind="inet")
                name = proc.name()
            except psutil.Error:
                continue
            for c in conns:
                if c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.ip in ("0.0.0.0", "::"):
                    found.append(f"{pid_file.stem}: {name} ({proc.pid}) *:{c.laddr.port}")
    return sorted(set(found))
