"""The PyFlink job of story 3: Kafka -> dedup -> per-minute metrics, lake, late events.

Runs in the Flink virtual environment (PyFlink pins protobuf/numpy versions
that clash with dbt and Airflow), so it imports nothing from starlab: the
launcher (`streaming/job.py`) passes every endpoint and path in a JSON config.
Python only wires the job; the hot path is Flink SQL in the JVM (the files in
`streaming/sql/`), with no Python UDF per record.

    python streaming/flink_job.py --config job.json

Exactly-once, in short: Kafka offsets, dedup state and the aggregates are in
each checkpoint; the Kafka sinks write in transactions committed when the
checkpoint completes; the file sink publishes files on checkpoint completion.
After a crash the job restarts from the last completed checkpoint, so output
since then was never visible and is produced once more, once.
"""

from __future__ import annotations

import argparse
import json
import re
import signal
import sys
import threading
from pathlib import Path
from string import Template

SQL_DIR = Path(__file__).resolve().parent / "sql"


def render_sql(cfg: dict[str, object]) -> tuple[list[str], list[str]]:
    """(DDL statements, INSERT statements) with the config substituted."""
    exactly_once = cfg.get("delivery_guarantee", "exactly-once") == "exactly-once"
    values = {
        **{k: str(v) for k, v in cfg.items() if not isinstance(v, (dict, list))},
        "avro_schema": str(cfg["avro_schema"]).replace("'", "''"),
        "sink_guarantee": f"'sink.delivery-guarantee' = '{cfg.get('delivery_guarantee', 'exactly-once')}',",
        "bounded_option": "'scan.bounded.mode' = 'latest-offset'," if cfg.get("bounded") else "",
        "txn_prefix": cfg.get("txn_prefix", "starlab"),
    }
    if not exactly_once:
        values["sink_guarantee"] = "'sink.delivery-guarantee' = 'at-least-once',"
    ddl: list[str] = []
    inserts: list[str] = []
    for path in sorted(SQL_DIR.glob("*.sql")):
        text = Template(path.read_text()).substitute(values)
        # Strip comment lines, then split on statement-ending semicolons.
        body = "\n".join(line for line in text.splitlines() if not line.strip().startswith("--"))
        for stmt in re.split(r";\s*(?:\n|$)", body):
            if stmt.strip():
                (inserts if stmt.lstrip().upper().startswith("INSERT") else ddl).append(stmt.strip())
    return ddl, inserts


def _strings(value: object) -> list[str]:
    """A JSON list from the job config, as strings (the config is untyped JSON)."""
    return [str(v) for v in value] if isinstance(value, list) else []


def configure(t_env: object, cfg: dict[str, object]) -> None:
    conf = t_env.get_config()  # type: ignore[attr-defined]
    settings = {
        "pipeline.name": "starlab-engagement-stream",
        "pipeline.jars": ";".join(f"file://{j}" for j in _strings(cfg["jars"])),
        "parallelism.default": str(cfg.get("parallelism", 2)),
        "execution.checkpointing.interval": f"{cfg.get('checkpoint_interval_ms', 5000)} ms",
        "execution.checkpointing.mode": "EXACTLY_ONCE",
        "execution.checkpointing.dir": f"file://{cfg['checkpoint_dir']}",
        # Keep checkpoints when the job dies, so a restarted process can resume.
        "execution.checkpointing.externalized-checkpoint-retention": "RETAIN_ON_CANCELLATION",
        "execution.checkpointing.num-retained": "3",
        "execution.checkpointing.min-pause": "500 ms",
        # RocksDB: with the heap backend and checkpointing the dedup state
        # stalled past 200 s on 1M ids here (PITFALLS.md); RocksDB ran in 11 s.
        "state.backend.type": "rocksdb",
        "state.backend.incremental": "true",
        # Dedup and minute aggregates keep state per key for this long after
        # its last update: longer than the 10 min allowed lateness plus the
        # minutes a client retry takes, short enough to bound memory.
        "table.exec.state.ttl": f"{cfg.get('state_ttl_ms', 3_600_000)} ms",
        # A partition without data must not hold the watermark back forever.
        "table.exec.source.idle-timeout": "30 s",
        "restart-strategy.type": "fixed-delay",
        "restart-strategy.fixed-delay.attempts": "20",
        "restart-strategy.fixed-delay.delay": "3 s",
        "table.exec.sink.upsert-materialize": "NONE",
        # SQL operators copy what they keep, so records need not be copied
        # between chained operators: 18k -> 23k events/s in `stream bench`.
        "pipeline.object-reuse": "true",
        # No mini-batch: with it the planner turns keep-first dedup into an
        # updating Rank, which the append-only lake and late sinks refuse.
        "table.exec.mini-batch.enabled": "false",
    }
    if cfg.get("flink_rest_url"):
        # docker compose: submit to the JobManager instead of a local
        # mini-cluster. pipeline.jars are shipped with the job; the lake and
        # checkpoint paths must be on storage every TaskManager mounts.
        # Not exercised here: this machine has no Docker engine.
        from urllib.parse import urlparse

        url = urlparse(str(cfg["flink_rest_url"]))
        settings["execution.target"] = "remote"
        settings["rest.address"] = url.hostname or "localhost"
        settings["rest.port"] = str(url.port or 8081)
    extra = cfg.get("flink_conf")
    if isinstance(extra, dict):
        settings.update({str(k): str(v) for k, v in extra.items()})
    if cfg.get("restore_from"):
        settings["execution.state-recovery.path"] = str(cfg["restore_from"])
    for key, value in settings.items():
        conf.set(key, value)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, type=Path, help="job config JSON from streaming/job.py")
    parser.add_argument("--print-sql", action="store_true", help="print the rendered SQL and exit")
    args = parser.parse_args(argv)
    cfg = json.loads(args.config.read_text())
    ddl, inserts = render_sql(cfg)
    if args.print_sql:
        print(";\n\n".join(ddl + inserts) + ";")
        return 0

    from pyflink.table import EnvironmentSettings, TableEnvironment

    t_env = TableEnvironment.create(EnvironmentSettings.in_streaming_mode())
    configure(t_env, cfg)
    for stmt in ddl:
        t_env.execute_sql(stmt)
    stmt_set = t_env.create_statement_set()
    for stmt in inserts:
        stmt_set.add_insert_sql(stmt)
    result = stmt_set.execute()
    client = result.get_job_client()
    print(f"STARLAB_JOB_STARTED {client.get_job_id()}", flush=True)

    if cfg.get("bounded"):
        # A bounded job ends by itself; the local mini-cluster shuts down
        # with it, so there is no status left to poll afterwards.
        result.wait()
        print("STARLAB_JOB_FINISHED FINISHED", flush=True)
        return 0

    # SIGTERM means "stop cleanly": stop-with-savepoint takes a final
    # checkpoint that commits the open Kafka transactions. A plain kill would
    # leave a transaction open, and read_committed consumers cannot read past
    # an open transaction until the broker times it out (up to 15 min).
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    while True:
        status = client.get_job_status().result()
        if status.is_globally_terminal_state():
            print(f"STARLAB_JOB_FINISHED {status.name}", flush=True)
            return 0 if status.name == "FINISHED" else 1
        if stop.is_set():
            # PyFlink 2.2's stop_with_savepoint wrapper misses the format
            # argument the Java API has had since 1.15: call Java directly.
            from pyflink.java_gateway import get_gateway

            fmt = get_gateway().jvm.org.apache.flink.core.execution.SavepointFormatType.CANONICAL
            path = client._j_job_client.stopWithSavepoint(False, str(cfg["savepoint_dir"]), fmt).get()
            print(f"STARLAB_JOB_STOPPED {path}", flush=True)
            return 0
        stop.wait(0.5)


if __name__ == "__main__":
    sys.exit(main())
