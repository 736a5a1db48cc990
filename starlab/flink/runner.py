"""Start, stop, crash and resume a Flink SQL job from the main environment.

Kernel infrastructure for every story that runs Flink SQL (story 3's
engagement stream, the feature cache's precompute). Backs story 3's
"exactly-once semantics" and its follow-up "idempotent sinks and
checkpointing details": the job runs as its own process in the Flink venv
(`job_main.py`), tracked by a pid file like the stack's services, so a fault
test can SIGKILL it and start a new process that restores from the newest
retained checkpoint, and a clean stop takes a savepoint that commits the
open Kafka transactions.

A story gives a directory of SQL templates and the values to substitute;
the runner adds the values every Kafka job needs (`standard_values`) and the
job-level settings (checkpointing, parallelism, state TTL) from
`RunnerOptions`.
"""

from __future__ import annotations

import logging
import os
import signal
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from starlab.flink import job_main
from starlab.flink.errors import FlinkConfigError, FlinkJobError
from starlab.flink.job_main import JobConfig, RenderedSql, TemplateError
from starlab.flink.session import SessionCluster
from starlab.observability import flink as metrics
from starlab.settings import ROOT, Settings
from starlab.stack import prereqs
from starlab.stack.process import ManagedProcess

log = logging.getLogger(__name__)

JOB_MAIN = Path(job_main.__file__).resolve()
"""The script the Flink venv's python runs."""


class DeliveryGuarantee(StrEnum):
    """What the Kafka sinks promise; `${sink_guarantee}` in the SQL."""

    EXACTLY_ONCE = "exactly-once"
    """Transactions committed at each checkpoint: output visible once, at checkpoints."""
    AT_LEAST_ONCE = "at-least-once"
    """Flushed at checkpoints, visible at once; a restart may write some records twice."""


@dataclass(frozen=True)
class RunnerOptions:
    """Job-level settings every Flink SQL job has; a story sets them from its own settings."""

    checkpoint_interval_ms: int = 5_000
    """Output becomes visible at each checkpoint: a shorter interval means
    fresher output but more checkpoint overhead and more Kafka transactions."""
    parallelism: int = 2
    """One task per core of the target machine (2)."""
    state_ttl_ms: int = 3_600_000
    """How long keyed state outlives its last update (`table.exec.state.ttl`)."""
    bounded: bool = False
    """Stop at the end offsets seen at start (tests, backfills) instead of running on."""
    delivery_guarantee: DeliveryGuarantee = DeliveryGuarantee.EXACTLY_ONCE
    flink_conf: tuple[tuple[str, str], ...] = ()
    """Extra Flink configuration (key, value) pairs, applied last."""

    def __post_init__(self) -> None:
        if self.checkpoint_interval_ms < 100:
            raise FlinkConfigError(
                f"checkpoint_interval_ms must be >= 100, got {self.checkpoint_interval_ms}"
            )
        if self.parallelism < 1:
            raise FlinkConfigError(f"parallelism must be >= 1, got {self.parallelism}")
        if self.state_ttl_ms < 1_000:
            raise FlinkConfigError(f"state_ttl_ms must be >= 1000, got {self.state_ttl_ms}")
        # A str from a CLI option or an older caller: check it names a guarantee.
        try:
            DeliveryGuarantee(self.delivery_guarantee)
        except ValueError:
            choices = ", ".join(g.value for g in DeliveryGuarantee)
            raise FlinkConfigError(
                f"delivery_guarantee {self.delivery_guarantee!r} is not one of {choices}"
            ) from None


def standard_values(settings: Settings, name: str, options: RunnerOptions) -> dict[str, str]:
    """Template values every Kafka job may use; a story's own values may override them.

    - `${bootstrap}`, `${registry_url}`: endpoints from the kernel settings;
    - `${bounded_option}`: the source option that ends a bounded run (or nothing);
    - `${sink_guarantee}`: the Kafka sinks' delivery-guarantee option;
    - `${txn_prefix}`: a transactional-id prefix unique to this job name
      (two jobs sharing one would fence each other's producers).
    """
    guarantee = DeliveryGuarantee(options.delivery_guarantee)
    return {
        "bootstrap": settings.kafka_bootstrap,
        "registry_url": settings.schema_registry_url,
        "bounded_option": "'scan.bounded.mode' = 'latest-offset'," if options.bounded else "",
        "sink_guarantee": f"'sink.delivery-guarantee' = '{guarantee.value}',",
        "txn_prefix": f"starlab-{name}",
    }


class FlinkJob:
    """One Flink SQL job process; `name` keeps pid, log and checkpoints apart per job."""

    def __init__(
        self,
        settings: Settings,
        name: str,
        sql_dir: Path,
        values: Mapping[str, str],
        options: RunnerOptions | None = None,
        pipeline_name: str | None = None,
    ) -> None:
        self.settings = settings
        self.name = name
        self.sql_dir = sql_dir.resolve()
        self.options = options or RunnerOptions()
        self.values = {**standard_values(settings, name, self.options), **values}
        self.pipeline_name = pipeline_name or f"starlab-{name}"
        self.proc = ManagedProcess(name, settings.run_dir, settings.logs_dir)
        self.base = (settings.home / "flink" / name).resolve()

    @property
    def session(self) -> SessionCluster | None:
        """The session cluster the job is submitted to (cluster topology, compose), else None."""
        url = self.settings.flink_rest_url
        return SessionCluster(url) if url else None

    @property
    def checkpoint_dir(self) -> Path:
        return self.base / "checkpoints"

    def latest_checkpoint(self) -> Path | None:
        """The newest completed checkpoint (it has a _metadata file)."""
        done = [p.parent for p in self.checkpoint_dir.glob("*/chk-*/_metadata")]
        return max(done, key=lambda p: p.stat().st_mtime) if done else None

    def config(
        self, restore: bool = False, restore_from: Path | str | None = None, parallelism: int | None = None
    ) -> JobConfig:
        """The job's config; with `restore`, it resumes from the newest retained checkpoint,
        with `restore_from` from that savepoint or checkpoint; `parallelism` overrides the
        options' (a rescale: keyed state is redistributed over the 128 key groups)."""
        o = self.options
        if restore_from is None and restore:
            restore_from = self.latest_checkpoint()
        on_classpath = set(self.jvm_classpath().split(":"))
        jars = sorted(
            str(p.resolve())
            for p in (self.settings.jars_dir / "flink").glob("*.jar")
            if str(p.resolve()) not in on_classpath
        )
        # On a session cluster they are all on the class path (see jvm_classpath).
        return JobConfig(
            name=self.name,
            pipeline_name=self.pipeline_name,
            sql_dir=str(self.sql_dir),
            values=dict(self.values),
            jars=jars,
            parallelism=parallelism or o.parallelism,
            checkpoint_interval_ms=o.checkpoint_interval_ms,
            checkpoint_dir=str(self.checkpoint_dir),
            savepoint_dir=f"file://{self.base / 'savepoints'}",
            state_ttl_ms=o.state_ttl_ms,
            bounded=o.bounded,
            restore_from=str(restore_from) if restore_from else None,
            flink_conf={**self.metrics_conf(), **dict(o.flink_conf)},
            flink_rest_url=self.settings.flink_rest_url,
        )

    def jvm_classpath(self) -> str:
        """Jars for the JVM's own class path (PyFlink's launcher adds `HADOOP_CLASSPATH` to it):
        `prereqs.FLINK_CLASSPATH_JARS` says which and why."""
        on_path = prereqs.flink_classpath_jars(self.settings)
        if self.session is not None:
            # The driver plans the SQL (connector factories, the lake's catalog)
            # with the same jars the session cluster has on its class path.
            on_path = sorted(p.resolve() for p in (self.settings.jars_dir / "flink").glob("*.jar"))
        return ":".join(str(p) for p in [*on_path, *self.metrics_reporter_jars()])

    def metrics_reporter_jars(self) -> list[Path]:
        """Flink's JMX reporter, as the PyFlink wheel ships it: on the JVM class path,
        because the local mini-cluster does not load reporters from `plugins/`."""
        return metrics.reporter_jars(self.settings)

    def metrics_conf(self) -> dict[str, str]:
        """Flink's JMX reporter, filtered to what the dashboards and SLOs read.

        Not Flink's Prometheus reporter: it has no host option and listens on
        every interface. The JMX reporter opens no port; the JMX exporter agent
        in the same JVM (`metrics_jvm_args`) serves the MBeans on 127.0.0.1
        under the Prometheus reporter's names (`starlab/flink/flink-jmx.yml`).
        A session cluster's reporters are the cluster's, not the job's.
        """
        if (
            self.session is not None
            or not self.metrics_reporter_jars()
            or not metrics.agent_jars(self.settings)
        ):
            return {}
        return metrics.reporter_conf()

    def metrics_jvm_args(self) -> str | None:
        """`-javaagent:` for the job's JVM, on the first free port of `STARLAB_FLINK_METRICS_PORTS`."""
        if not self.metrics_conf():
            return None
        return metrics.agent_jvm_option(self.settings, metrics.free_port(self.settings))

    def jvm_args(self) -> str:
        """The job JVM's extra options: the metrics agent, then `STARLAB_FLINK_JOB_JVM_OPTS`."""
        return " ".join(a for a in (self.metrics_jvm_args(), self.settings.flink_job_jvm_opts.strip()) if a)

    def rendered_sql(self) -> RenderedSql:
        """The SQL the job runs, rendered here in the main environment (no PyFlink needed)."""
        try:
            return job_main.render_sql(self.sql_dir, self.values)
        except TemplateError as exc:
            raise FlinkConfigError(f"{self.name}: {exc}") from None

    def start(
        self,
        restore: bool = False,
        timeout_s: float = 120,
        restore_from: Path | str | None = None,
        parallelism: int | None = None,
        new_jobmanager: bool = False,
    ) -> None:
        """Start the job process; with `restore`, resume from the last checkpoint
        (`restore_from`: from that savepoint; `parallelism`: at another parallelism).

        Returns once the job is submitted (its tasks may still be deploying:
        `wait_ready` waits for the first checkpoint). `new_jobmanager`: the
        session cluster's JobManager was just restarted, so no job of ours can
        be left on it; the check for one is skipped, and the driver plans the
        job while the JobManager is still starting (its REST client retries
        the submission until the JobManager answers).
        """
        if self.proc.pid() is not None:
            raise FlinkJobError(f"{self.name} is already running (pid {self.proc.pid()})")
        self.rendered_sql()  # a missing template value fails here, in one line, not in the JVM
        if self.session is not None and not new_jobmanager:
            # A job outlives its driver on a session cluster: one left by a
            # killed driver would write beside this one.
            self.session.cancel_all(self.pipeline_name)
        python = prereqs.ensure_flink_venv(self.settings)
        prereqs.resolve_jars(self.settings, "flink")
        prereqs.resolve_jars(self.settings, "jmx")
        self.base.mkdir(parents=True, exist_ok=True)
        cfg_path = self.base / "job.json"
        cfg_path.write_text(self.config(restore, restore_from, parallelism).to_json())
        log_offset = self.proc.log_file.stat().st_size if self.proc.log_file.exists() else 0
        # Flink's own logs (checkpoint durations, restores) beside starlab's.
        flink_logs = (self.settings.logs_dir / "flink").resolve()
        flink_logs.mkdir(parents=True, exist_ok=True)
        env = {"JVM_ARGS": jvm_args} if (jvm_args := self.jvm_args()) else {}
        self.proc.start(
            [str(python), str(JOB_MAIN), "--config", str(cfg_path)],
            env={
                **env,  # PyFlink's launcher puts JVM_ARGS on the job JVM's command line
                "FLINK_LOG_DIR": str(flink_logs),
                "HADOOP_CLASSPATH": self.jvm_classpath(),
                # No Beam worker pool: starlab's jobs have no Python UDFs, and
                # the pool would listen on every interface (issue 12).
                "_python_worker_execution_mode": "process",
            },
            cwd=ROOT,
        )

        def started() -> bool:
            text = self._log_since(log_offset)
            if job_main.MARK_STARTED in text:
                return True
            if self.proc.pid() is None:
                raise FlinkJobError(f"{self.name} exited at start: {self._error_line(text)}")
            return False

        self._wait(started, timeout_s, "submission")

    def restart(self, timeout_s: float = 300, new_jobmanager: bool = False) -> Path | None:
        """Start again from the newest checkpoint, and keep trying until it sticks.

        After a crash the job's dependencies may still be failing over (a
        broker restarting, a TaskManager gone): a submission can fail at
        start. Like Flink's own exponential-delay restarts, this backs off
        1 s, 2 s, 4 s ... 15 s and tries again instead of giving up, for up to
        `timeout_s`. Returns the checkpoint it restored from. `new_jobmanager`:
        see `start`.
        """
        deadline = time.monotonic() + timeout_s
        backoff = 1.0
        first: FlinkJobError | None = None
        while True:
            ckpt = self.latest_checkpoint()
            try:
                self.start(
                    restore=True,
                    timeout_s=max(10.0, deadline - time.monotonic()),
                    new_jobmanager=new_jobmanager,
                )
                return ckpt
            except FlinkJobError as exc:
                first = first or exc
                log.warning("%s: restart failed (%s); again in %.0f s", self.name, exc, backoff)
                if time.monotonic() + backoff > deadline:
                    raise FlinkJobError(f"{self.name}: no restart within {timeout_s:.0f}s: {first}") from None
                self.proc.stop(timeout_s=10)  # a driver that is half up
                time.sleep(backoff)
                backoff = min(backoff * 2, 15.0)

    def stop_with_savepoint(self, timeout_s: float = 120) -> str:
        """Stop the job with a savepoint and return the savepoint's path (a rescale's first half)."""
        if self.proc.pid() is None:
            raise FlinkJobError(f"{self.name} is not running: no savepoint to take")
        offset = self.proc.log_file.stat().st_size
        self.stop(timeout_s)
        marks = [ln for ln in self._log_since(offset).splitlines() if ln.startswith(job_main.MARK_STOPPED)]
        if not marks:
            raise FlinkJobError(f"{self.name}: stopped without a savepoint; see {self.proc.log_file}")
        return marks[-1].split(" ", 1)[1].strip()

    def rescale(self, parallelism: int, timeout_s: float = 180) -> str:
        """Stop with a savepoint, start from it at `parallelism`; returns the savepoint used.

        Keyed state (dedup ids, per-minute aggregates) is split by key group,
        and the key groups (`pipeline.max-parallelism` 128) are the same at
        every parallelism, so each new subtask takes whole key groups.
        """
        savepoint = self.stop_with_savepoint(timeout_s)
        self.start(restore_from=savepoint.removeprefix("file:"), parallelism=parallelism)
        self.wait_ready(timeout_s)
        return savepoint

    def _wait(self, check: Callable[[], bool], timeout_s: float, what: str, interval_s: float = 0.25) -> None:
        deadline = time.monotonic() + timeout_s
        while not check():
            if time.monotonic() > deadline:
                raise FlinkJobError(
                    f"{self.name}: no {what} within {timeout_s:.0f}s; see {self.proc.log_file}"
                )
            time.sleep(interval_s)

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
        found: list[Path] = []

        def ready() -> bool:
            if self.proc.pid() is None:
                raise FlinkJobError(f"{self.name} died while starting; see {self.proc.log_file}")
            ckpt = self.latest_checkpoint()
            if ckpt is not None:
                found.append(ckpt)
            return ckpt is not None

        self._wait(ready, timeout_s, "first checkpoint", interval_s=0.5)
        return found[-1]

    def running(self) -> bool:
        return self.proc.pid() is not None

    def wait_finished(self, timeout_s: float) -> None:
        """For bounded jobs: wait until the process exits, and check it read to its end."""
        self._wait(lambda: self.proc.pid() is None, timeout_s, "end of the bounded run", interval_s=0.5)
        text = self.proc.log_file.read_text(errors="replace")
        if f"{job_main.MARK_FINISHED} FINISHED" not in text.rsplit("=== starting", 1)[-1]:
            raise FlinkJobError(f"{self.name} ended without finishing: {self._error_line(text)}")

    def stop(self, timeout_s: float = 60) -> bool:
        """Stop with a savepoint (commits open transactions), then make sure; True if it ran.

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
        if self.session is not None:
            self.session.cancel_all(self.pipeline_name)  # the driver hung before its savepoint
        return True

    def kill(self) -> None:
        """SIGKILL the job process tree: a crash, not a shutdown.

        On a session cluster the job runs in the cluster's TaskManagers, not
        under the driver: it is cancelled too (open transactions stay open
        until the restored job aborts them, as after a crash). The cluster's
        own crashes are SIGKILLs of its JobManager and TaskManagers
        (`starlab.stack.cluster`).
        """
        self.proc.kill()
        if self.session is not None:
            self.session.cancel_all(self.pipeline_name)


__all__ = ["JOB_MAIN", "DeliveryGuarantee", "FlinkJob", "RunnerOptions", "standard_values"]
