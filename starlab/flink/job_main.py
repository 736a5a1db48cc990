"""The entry script of every starlab Flink SQL job; it runs inside the Flink virtual environment.

    <flink venv>/bin/python starlab/flink/job_main.py --config job.json [--print-sql]

PyFlink pins protobuf/numpy/pandas versions that clash with dbt and Airflow
(ADR 0002), so this file imports nothing from starlab and nothing outside
the standard library at module level: the launcher (`starlab/flink/runner.py`)
writes every endpoint, path and template value into a JSON `JobConfig`, and
the main environment imports this module only for `JobConfig`, `render_sql`
and `flink_settings`, which need no PyFlink.

Python only wires the job; the hot path is Flink SQL in the JVM (a story's
`sql/*.sql` templates, rendered with `string.Template`), with no Python UDF
per record.

Exactly-once, in short (story 3's claim, and the feature cache's output):
Kafka offsets and all operator state are in each checkpoint; the Kafka sinks
write in transactions committed when the checkpoint completes; the file sink
publishes files on checkpoint completion. After a crash the job restarts
from the last completed checkpoint, so output since then was never visible
and is produced once more, once. SIGTERM stops the job with a savepoint,
which commits the open transactions.
"""

from __future__ import annotations

import argparse
import json
import re
import signal
import sys
import threading
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from string import Template

MARK_STARTED = "STARLAB_JOB_STARTED"
"""Printed with the job id once the statement set is submitted."""
MARK_FINISHED = "STARLAB_JOB_FINISHED"
"""Printed with the final status (FINISHED for a bounded job that read to its end)."""
MARK_STOPPED = "STARLAB_JOB_STOPPED"
"""Printed with the savepoint path after a stop-with-savepoint."""


class TemplateError(ValueError):
    """A SQL template is malformed or names a value the config does not give.

    Plain ValueError subclass: this module may not import starlab's errors;
    the runner turns it into `FlinkConfigError`.
    """


@dataclass(frozen=True)
class JobConfig:
    """Everything the job process needs, written as JSON by the runner."""

    name: str
    """The job's name: pid, log and checkpoint directory are kept apart by it."""
    pipeline_name: str
    """Flink's name for the job (web UI, logs)."""
    sql_dir: str
    """Absolute path of the story's SQL templates; files run in name order."""
    values: dict[str, str]
    """Template variable -> text substituted for `${variable}`."""
    jars: list[str] = field(default_factory=list)
    """Absolute paths of the connector jars (Kafka, Avro-Confluent, Parquet)."""
    parallelism: int = 2
    checkpoint_interval_ms: int = 5_000
    checkpoint_dir: str = ""
    savepoint_dir: str = ""
    """A file:// URI the stop-with-savepoint writes to."""
    state_ttl_ms: int = 3_600_000
    bounded: bool = False
    """Stop at the end offsets seen at start instead of running on."""
    restore_from: str | None = None
    """A retained checkpoint to resume from (after a crash)."""
    flink_conf: dict[str, str] = field(default_factory=dict)
    """Extra Flink configuration, applied last (over the defaults below)."""
    flink_rest_url: str | None = None
    """A Flink cluster's REST address; None runs a local mini-cluster."""

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    @classmethod
    def from_json(cls, text: str) -> JobConfig:
        raw = json.loads(text)
        if not isinstance(raw, dict):
            raise ValueError("the job config is not a JSON object")
        return cls(**raw)


@dataclass(frozen=True)
class RenderedSql:
    """The job's statements: DDL and views run one by one, INSERTs go into one statement set."""

    ddl: tuple[str, ...]
    inserts: tuple[str, ...]

    def text(self) -> str:
        """All statements as one SQL script (what `starlab stream sql` prints)."""
        return ";\n\n".join(self.ddl + self.inserts) + ";"


_STATEMENT_END = re.compile(r";\s*(?:\n|$)")


def render_sql(sql_dir: Path, values: Mapping[str, str]) -> RenderedSql:
    """Substitute `values` into every `*.sql` file of `sql_dir` (name order) and split statements.

    Strict: a `${name}` without a value raises `TemplateError` naming the file,
    so a renamed setting cannot reach Flink as literal text. Comment lines
    are dropped before splitting on statement-ending semicolons.
    """
    files = sorted(sql_dir.glob("*.sql"))
    if not files:
        raise TemplateError(f"no *.sql files in {sql_dir}")
    ddl: list[str] = []
    inserts: list[str] = []
    for path in files:
        try:
            text = Template(path.read_text()).substitute(values)
        except KeyError as exc:
            raise TemplateError(f"{path.name}: no value for ${{{exc.args[0]}}}") from None
        except ValueError as exc:  # a bare "$" or "${" that is not a placeholder
            raise TemplateError(f"{path.name}: {exc}") from None
        body = "\n".join(line for line in text.splitlines() if not line.strip().startswith("--"))
        for stmt in _STATEMENT_END.split(body):
            if stmt.strip():
                (inserts if stmt.lstrip().upper().startswith("INSERT") else ddl).append(stmt.strip())
    return RenderedSql(tuple(ddl), tuple(inserts))


def flink_settings(cfg: JobConfig) -> dict[str, str]:
    """The Flink configuration of the job: starlab's defaults, then `cfg.flink_conf`."""
    settings = {
        "pipeline.name": cfg.pipeline_name,
        "pipeline.jars": ";".join(f"file://{j}" for j in cfg.jars),
        "parallelism.default": str(cfg.parallelism),
        "execution.checkpointing.interval": f"{cfg.checkpoint_interval_ms} ms",
        "execution.checkpointing.mode": "EXACTLY_ONCE",
        "execution.checkpointing.dir": f"file://{cfg.checkpoint_dir}",
        # Keep checkpoints when the job dies, so a restarted process can resume.
        "execution.checkpointing.externalized-checkpoint-retention": "RETAIN_ON_CANCELLATION",
        "execution.checkpointing.num-retained": "3",
        "execution.checkpointing.min-pause": "500 ms",
        # RocksDB: with the heap backend and checkpointing the dedup state
        # stalled past 200 s on 1M ids here (PITFALLS.md); RocksDB ran in 11 s.
        "state.backend.type": "rocksdb",
        "execution.checkpointing.incremental": "true",
        # The profile (docs/profiles/before.md) put a third of the job's CPU
        # in RocksDB, much of it block-index seeks of the dedup's lookups for
        # event ids it has never seen. Bloom filters answer most of those
        # without reading a block, and the flash preset (bigger write buffers
        # and blocks, fewer compaction stalls) suits the local disk: the
        # bounded read of 1.5M events went from 11,160 to 16,227 events/s
        # (second half: 21,650) on 2 cores, one run each (issue 12).
        "state.backend.rocksdb.use-bloom-filter": "true",
        "state.backend.rocksdb.predefined-options": "FLASH_SSD_OPTIMIZED",
        # State per key is kept this long after its last update; each story
        # sets it from what its operators need (story 3: dedup longer than
        # the 10 min lateness plus the edge's retry window).
        "table.exec.state.ttl": f"{cfg.state_ttl_ms} ms",
        # A partition without data must not hold the watermark back forever.
        "table.exec.source.idle-timeout": "30 s",
        # Restarts back off 1 s, 2 s, 4 s ... up to 15 s, forever: a job whose
        # broker is still failing over keeps trying instead of using up a fixed
        # number of attempts (issue 12's cascading faults).
        "restart-strategy.type": "exponential-delay",
        "restart-strategy.exponential-delay.initial-backoff": "1 s",
        "restart-strategy.exponential-delay.max-backoff": "15 s",
        "restart-strategy.exponential-delay.backoff-multiplier": "2.0",
        "restart-strategy.exponential-delay.reset-backoff-threshold": "2 min",
        "restart-strategy.exponential-delay.jitter-factor": "0.1",
        # A checkpoint that fails while a broker fails over fails that
        # checkpoint, not the job.
        "execution.checkpointing.tolerable-failed-checkpoints": "5",
        # Key groups fixed before the first run, so keyed state (dedup, the
        # per-minute metrics) can be redistributed when the job is rescaled.
        "pipeline.max-parallelism": "128",
        # Operator uids from the plan's node ids, not from the job graph's hash:
        # at parallelism 1 the planner chains every operator into one task, the
        # hashes change, and a savepoint taken at 4 "cannot map state" (seen here).
        "table.exec.uid.generation": "ALWAYS",
        # The Iceberg sink's writer and committer get no uid from the planner
        # (the connector builds them itself), so their ids hash the job graph.
        # The committer's max parallelism is 1: at parallelism 1 the writer
        # would chain into it, both ids would change, and a savepoint taken at
        # 4 could not restore the committer's state at 1 (issue 12; Iceberg
        # v1 sink, apache/iceberg#14063). Never chaining operators of
        # different max parallelism keeps those ids the same at any parallelism.
        "pipeline.operator-chaining.chain-operators-with-different-max-parallelism": "false",
        "table.exec.sink.upsert-materialize": "NONE",
        # SQL operators copy what they keep, so records need not be copied
        # between chained operators: 18k -> 23k events/s in `stream bench`.
        "pipeline.object-reuse": "true",
        # No mini-batch: with it the planner turns keep-first dedup into an
        # updating Rank, which append-only sinks (a lake, a late topic) refuse.
        "table.exec.mini-batch.enabled": "false",
    }
    if cfg.flink_rest_url:
        # A session cluster (the cluster topology, compose): submit to its
        # JobManager instead of a local mini-cluster. pipeline.jars are shipped
        # with the job; the lake and checkpoint paths must be on storage every
        # TaskManager sees (one machine here; a shared volume in compose).
        from urllib.parse import urlparse

        url = urlparse(cfg.flink_rest_url)
        settings["execution.target"] = "remote"
        settings["rest.address"] = url.hostname or "localhost"
        settings["rest.port"] = str(url.port or 8081)
        # The client retries a submission refused for a connection problem: after
        # a JobManager restart the driver plans the job while the JobManager is
        # still starting, and submits within half a second of its REST answering.
        # The same 60 s of patience as the defaults (20 tries, 3 s apart).
        settings["rest.retry.delay"] = "500 ms"
        settings["rest.retry.max-attempts"] = "120"
    else:
        # The local mini-cluster listens on loopback only: REST (and the web
        # UI), the blob server and the TaskManager's services. Without these
        # its REST and blob server bind every interface (issue 12).
        settings |= {
            # RocksDB's block cache and write buffers come out of managed
            # memory; the mini-cluster's default left them small (the
            # session cluster sizes its own TaskManagers).
            "taskmanager.memory.managed.size": "512m",
            "rest.address": "127.0.0.1",
            "rest.bind-address": "127.0.0.1",
            "jobmanager.bind-host": "127.0.0.1",
            "taskmanager.bind-host": "127.0.0.1",
            "taskmanager.host": "127.0.0.1",
        }
    settings.update(cfg.flink_conf)
    if cfg.restore_from:
        settings["execution.state-recovery.path"] = cfg.restore_from
    return settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run one starlab Flink SQL job (in the Flink venv).")
    parser.add_argument("--config", required=True, type=Path, help="job config JSON written by the runner")
    parser.add_argument("--print-sql", action="store_true", help="print the rendered SQL and exit")
    args = parser.parse_args(argv)
    cfg = JobConfig.from_json(args.config.read_text())
    sql = render_sql(Path(cfg.sql_dir), cfg.values)
    if args.print_sql:
        print(sql.text())
        return 0

    from pyflink.common import Configuration
    from pyflink.table import EnvironmentSettings, TableEnvironment

    # The whole configuration goes in at creation: the deployment target (local
    # mini-cluster or a session cluster) and its bind addresses are read then,
    # and settings made on the created environment come too late for them.
    conf = Configuration()
    for key, value in flink_settings(cfg).items():
        conf.set_string(key, value)
    env_settings = EnvironmentSettings.new_instance().in_streaming_mode().with_configuration(conf).build()
    t_env = TableEnvironment.create(env_settings)
    for stmt in sql.ddl:
        t_env.execute_sql(stmt)
    stmt_set = t_env.create_statement_set()
    for stmt in sql.inserts:
        stmt_set.add_insert_sql(stmt)
    result = stmt_set.execute()
    client = result.get_job_client()
    print(f"{MARK_STARTED} {client.get_job_id()}", flush=True)

    if cfg.bounded:
        # A bounded job ends by itself; the local mini-cluster shuts down
        # with it, so there is no status left to poll afterwards.
        result.wait()
        print(f"{MARK_FINISHED} FINISHED", flush=True)
        return 0

    # SIGTERM means "stop cleanly": stop-with-savepoint takes a final
    # checkpoint that commits the open Kafka transactions. A plain kill would
    # leave a transaction open, and read_committed consumers cannot read past
    # an open transaction until the broker times it out (up to 15 min).
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    while True:
        try:
            status = client.get_job_status().result()
        except Exception as exc:  # py4j's error: the mini-cluster went down with a failed job
            print(f"{MARK_FINISHED} FAILED {str(exc).splitlines()[0][:300]}", flush=True)
            return 1
        if status.is_globally_terminal_state():
            print(f"{MARK_FINISHED} {status.name}", flush=True)
            return 0 if status.name == "FINISHED" else 1
        if stop.is_set():
            # PyFlink 2.2's stop_with_savepoint wrapper misses the format
            # argument the Java API has had since 1.15: call Java directly.
            from pyflink.java_gateway import get_gateway

            fmt = get_gateway().jvm.org.apache.flink.core.execution.SavepointFormatType.CANONICAL
            path = client._j_job_client.stopWithSavepoint(False, cfg.savepoint_dir, fmt).get()
            print(f"{MARK_STOPPED} {path}", flush=True)
            return 0
        stop.wait(0.5)


if __name__ == "__main__":
    # Run as a script, this file's directory is sys.path[0]; its sibling
    # modules (errors.py, ddl.py) must not shadow a library of the same name.
    if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
        sys.path.pop(0)
    sys.exit(main())
