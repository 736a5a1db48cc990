"""Start, stop, crash and resume the Flink job from the main environment.

The job runs as its own process in the Flink venv (`streaming/flink_job.py`),
tracked by a pid file like the other stack services, so the fault test can
SIGKILL it and start a new process that restores from the newest retained
checkpoint.
"""

from __future__ import annotations

import json
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

from starlab.events.model import ALLOWED_LATENESS_MS, schema_str
from starlab.settings import ROOT, Settings
from starlab.stack import prereqs
from starlab.stack.process import ManagedProcess, wait_until
from streaming.ddl import template_values
from streaming.errors import JobError

JOB_SCRIPT = ROOT / "streaming" / "flink_job.py"


def _hms(ms: int) -> str:
    """Milliseconds as H:MM:SS for an INTERVAL ... HOUR TO SECOND literal."""
    s = ms // 1000
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


@dataclass(frozen=True)
class JobOptions:
    checkpoint_interval_ms: int = 5_000
    """Output becomes visible at each checkpoint: a shorter interval means
    fresher output but more checkpoint overhead and more Kafka transactions."""
    lateness_ms: int = ALLOWED_LATENESS_MS
    parallelism: int = 2
    state_ttl_ms: int = 3_600_000
    delivery_guarantee: str = "exactly-once"
    bounded: bool = False
    """Stop at the end offsets seen at start (tests, backfills) instead of running on."""
    group_id: str = "starlab-flink"
    flink_conf: tuple[tuple[str, str], ...] = ()
    """Extra Flink configuration (key, value) pairs, applied last."""


class FlinkJob:
    """One streaming job; `name` keeps pid, log and checkpoints apart per job."""

    def __init__(self, settings: Settings, options: JobOptions | None = None, name: str = "flink-job"):
        self.settings = settings
        self.options = options or JobOptions()
        self.name = name
        self.proc = ManagedProcess(name, settings.run_dir, settings.logs_dir)
        self.base = (settings.home / "flink" / name).resolve()

    @property
    def checkpoint_dir(self) -> Path:
        return self.base / "checkpoints"

    @property
    def lake_events_dir(self) -> Path:
        return (self.settings.lake_dir / "events").resolve()

    def latest_checkpoint(self) -> Path | None:
        """The newest completed checkpoint (it has a _metadata file)."""
        done = [p.parent for p in self.checkpoint_dir.glob("*/chk-*/_metadata")]
        return max(done, key=lambda p: p.stat().st_mtime) if done else None

    def config(self, restore: bool) -> dict[str, object]:
        o = self.options
        restore_from = self.latest_checkpoint() if restore else None
        jars = sorted(str(p.resolve()) for p in (self.settings.jars_dir / "flink").glob("*.jar"))
        return {
            "bootstrap": self.settings.kafka_bootstrap,
            "registry_url": self.settings.schema_registry_url,
            "events_topic": self.settings.events_topic,
            "metrics_topic": self.settings.metrics_topic,
            "late_topic": self.settings.late_topic,
            "lake_events_uri": f"file://{self.lake_events_dir}",
            "avro_schema": json.dumps(json.loads(schema_str())),
            # the event's columns, rendered from the Avro contract (one home for them)
            **template_values(),
            "lateness_hms": _hms(o.lateness_ms),
            "group_id": o.group_id,
            "startup_mode": "earliest-offset",
            "bounded": o.bounded,
            "delivery_guarantee": o.delivery_guarantee,
            "checkpoint_interval_ms": o.checkpoint_interval_ms,
            "checkpoint_dir": str(self.checkpoint_dir),
            "savepoint_dir": f"file://{self.base / 'savepoints'}",
            "parallelism": o.parallelism,
            "state_ttl_ms": o.state_ttl_ms,
            "txn_prefix": f"starlab-{self.name}-{self.settings.metrics_topic}",
            "jars": jars,
            "restore_from": str(restore_from) if restore_from else None,
            "flink_conf": dict(o.flink_conf),
            "flink_rest_url": self.settings.flink_rest_url,
        }

    def start(self, restore: bool = False, timeout_s: float = 120) -> None:
        """Start the job process; with `restore`, resume from the last checkpoint."""
        if self.proc.pid() is not None:
            raise JobError(f"{self.name} is already running (pid {self.proc.pid()})")
        python = prereqs.ensure_flink_venv(self.settings)
        prereqs.resolve_jars(self.settings, "flink")
        self.base.mkdir(parents=True, exist_ok=True)
        self.lake_events_dir.mkdir(parents=True, exist_ok=True)
        cfg_path = self.base / "job.json"
        cfg_path.write_text(json.dumps(self.config(restore), indent=2))
        log_offset = self.proc.log_file.stat().st_size if self.proc.log_file.exists() else 0
        # Flink's own logs (checkpoint durations, restores) beside starlab's.
        flink_logs = (self.settings.logs_dir / "flink").resolve()
        flink_logs.mkdir(parents=True, exist_ok=True)
        self.proc.start(
            [str(python), str(JOB_SCRIPT), "--config", str(cfg_path)],
            env={"FLINK_LOG_DIR": str(flink_logs)},
            cwd=ROOT,
        )

        def started() -> bool:
            text = self._log_since(log_offset)
            if "STARLAB_JOB_STARTED" in text:
                return True
            if self.proc.pid() is None:
                raise JobError(f"{self.name} exited at start: {self._error_line(text)}")
            return False

        wait_until(started, timeout_s, f"{self.name} submission")

    def _log_since(self, offset: int) -> str:
        with self.proc.log_file.open("rb") as fh:
            fh.seek(offset)
            return fh.read().decode(errors="replace")

    @staticmethod
    def _error_line(text: str) -> str:
        lines = [ln for ln in text.splitlines() if "Caused by" in ln or "Exception:" in ln]
        return (lines[-1] if lines else text.strip().splitlines()[-1:] or ["no output"])[-1][:400]

    def wait_ready(self, timeout_s: float = 120) -> Path:
        """Wait for the first completed checkpoint: tasks deployed, state backend up."""

        def ready() -> bool:
            if self.proc.pid() is None:
                raise JobError(f"{self.name} died while starting; see {self.proc.log_file}")
            return self.latest_checkpoint() is not None

        wait_until(ready, timeout_s, f"{self.name} first checkpoint", interval_s=0.5)
        ckpt = self.latest_checkpoint()
        assert ckpt is not None
        return ckpt

    def running(self) -> bool:
        return self.proc.pid() is not None

    def wait_finished(self, timeout_s: float) -> None:
        """For bounded jobs: wait until the process exits."""
        deadline = time.monotonic() + timeout_s
        while self.proc.pid() is not None:
            if time.monotonic() > deadline:
                raise JobError(f"{self.name} did not finish within {timeout_s:.0f}s")
            time.sleep(0.5)
        text = self.proc.log_file.read_text(errors="replace")
        if "STARLAB_JOB_FINISHED FINISHED" not in text.rsplit("=== starting", 1)[-1]:
            raise JobError(f"{self.name} ended without finishing: {self._error_line(text)}")

    def stop(self, timeout_s: float = 60) -> bool:
        """Stop with a savepoint (commits open transactions), then make sure.

        SIGTERM goes to the Python driver only: sent to the process group, it
        would take the JVM down before the savepoint is taken.
        """
        pid = self.proc.pid()
        if pid is None:
            return False
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while self.proc.pid() is not None and time.monotonic() < deadline:
            time.sleep(0.2)
        self.proc.stop(timeout_s=10)  # the JVM, or a driver that hung
        return True

    def kill(self) -> None:
        """SIGKILL the job process tree: a crash, not a shutdown."""
        self.proc.kill()
