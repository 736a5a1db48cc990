"""Story 3's Flink job: its SQL, its topics and lake, its options, on the kernel's Flink runner.

Backs story 3's "Kafka + Flink ... exactly-once semantics", "stateful
deduplication (event_id) and watermarking (allowed lateness: 10 minutes)":
the SQL in `streaming/sql/` reads the events topic, dedups keep-first on
event_id, writes per-minute metrics, the lake's Iceberg table and the
late-events topic, all exactly-once. Starting, stopping with a savepoint, crashing and
restoring are the kernel's (`starlab.flink.runner.FlinkJob`); this module
only says what this story's job is, and raises its own `JobError`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from starlab.events.model import ALLOWED_LATENESS_MS
from starlab.flink import ddl
from starlab.flink.errors import FlinkError
from starlab.flink.job_main import JobConfig, RenderedSql
from starlab.flink.runner import DeliveryGuarantee, RunnerOptions
from starlab.flink.runner import FlinkJob as FlinkRunner
from starlab.lake.catalog import CATALOG_NAME, flink_catalog_ddl
from starlab.lake.events import EVENTS_TABLE, ensure_events_table
from starlab.settings import Settings
from starlab.stack.process import ManagedProcess
from streaming.errors import JobError, StreamConfigError

SQL_DIR = Path(__file__).resolve().parent / "sql"
PIPELINE_NAME = "starlab-engagement-stream"


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


def _guarantee(value: str) -> DeliveryGuarantee:
    try:
        return DeliveryGuarantee(value)
    except ValueError:
        choices = ", ".join(g.value for g in DeliveryGuarantee)
        raise StreamConfigError(f"delivery guarantee {value!r} is not one of {choices}") from None


@contextmanager
def _as_job_error() -> Iterator[None]:
    """The runner's errors as this story's `JobError` (the message is kept)."""
    try:
        yield
    except FlinkError as exc:
        raise JobError(str(exc)) from exc


class FlinkJob:
    """Story 3's streaming job; `name` keeps pid, log and checkpoints apart per job."""

    def __init__(self, settings: Settings, options: JobOptions | None = None, name: str = "flink-job"):
        self.settings = settings
        self.options = options or JobOptions()
        self.name = name
        o = self.options
        with _as_job_error():
            self.runner = FlinkRunner(
                settings,
                name=name,
                sql_dir=SQL_DIR,
                values=self.template_values(),
                options=RunnerOptions(
                    checkpoint_interval_ms=o.checkpoint_interval_ms,
                    parallelism=o.parallelism,
                    state_ttl_ms=o.state_ttl_ms,
                    bounded=o.bounded,
                    delivery_guarantee=_guarantee(o.delivery_guarantee),
                    flink_conf=o.flink_conf,
                ),
                pipeline_name=PIPELINE_NAME,
            )

    def template_values(self) -> dict[str, str]:
        """What `streaming/sql/*.sql` substitute beyond the runner's standard values."""
        o, s = self.options, self.settings
        return {
            "events_topic": s.events_topic,
            "metrics_topic": s.metrics_topic,
            "late_topic": s.late_topic,
            "lake_catalog_ddl": flink_catalog_ddl(s),
            "lake_table": f"`{CATALOG_NAME}`.`{s.lake_namespace}`.`{EVENTS_TABLE}`",
            # the event's columns and Avro schema, rendered from the contract (one home for them)
            **ddl.template_values(),
            "lateness_hms": ddl.interval_hms(o.lateness_ms),
            "group_id": o.group_id,
            "startup_mode": "earliest-offset",
            # One prefix per consumer group, i.e. per run: restarts of a run keep it (they
            # must abort their own lingering transactions), a new run starts a fresh one.
            # A prefix shared by every run made each start probe, one InitProducerId at a
            # time, past every transactional id the earlier runs had used (the Kafka sink's
            # INCREMENTING strategy stops at the first unused id): its writers took 30 s to
            # initialize on the cluster after a few dozen runs, on every start and restore.
            "txn_prefix": f"starlab-{self.name}-{s.metrics_topic}-{o.group_id}",
        }

    # --- the runner, under this story's name and errors ------------------------

    @property
    def proc(self) -> ManagedProcess:
        return self.runner.proc

    @property
    def base(self) -> Path:
        return self.runner.base

    @property
    def checkpoint_dir(self) -> Path:
        return self.runner.checkpoint_dir

    def latest_checkpoint(self) -> Path | None:
        return self.runner.latest_checkpoint()

    def config(self, restore: bool = False) -> JobConfig:
        return self.runner.config(restore)

    def rendered_sql(self) -> RenderedSql:
        """The job's SQL with the current settings (`starlab stream sql`)."""
        with _as_job_error():
            return self.runner.rendered_sql()

    def start(self, restore: bool = False, timeout_s: float = 120) -> None:
        """Start the job process; with `restore`, resume from the last checkpoint."""
        ensure_events_table(self.settings)  # the kernel owns the table; the job only appends
        with _as_job_error():
            self.runner.start(restore=restore, timeout_s=timeout_s)

    def restart(self, timeout_s: float = 300, new_jobmanager: bool = False) -> Path | None:
        """After a crash: restore from the newest checkpoint, retrying while dependencies recover
        (`new_jobmanager`: submit while the session cluster's restarted JobManager comes up)."""
        with _as_job_error():
            return self.runner.restart(timeout_s, new_jobmanager=new_jobmanager)

    def rescale(self, parallelism: int, timeout_s: float = 180) -> str:
        """Stop with a savepoint and continue from it at another parallelism."""
        with _as_job_error():
            return self.runner.rescale(parallelism, timeout_s)

    def wait_ready(self, timeout_s: float = 120) -> Path:
        """Wait for the first completed checkpoint: tasks deployed, state backend up."""
        with _as_job_error():
            return self.runner.wait_ready(timeout_s)

    def running(self) -> bool:
        return self.runner.running()

    def wait_finished(self, timeout_s: float) -> None:
        """For bounded jobs: wait until the process exits."""
        with _as_job_error():
            self.runner.wait_finished(timeout_s)

    def stop(self, timeout_s: float = 60) -> bool:
        """Stop with a savepoint (commits open transactions), then make sure."""
        return self.runner.stop(timeout_s)

    def kill(self) -> None:
        """SIGKILL the job process tree: a crash, not a shutdown."""
        self.runner.kill()
