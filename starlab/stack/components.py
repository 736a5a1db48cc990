"""The components of the embedded stack, each with start, health and stop.

Kafka (KRaft, one node), Redis and PostgreSQL (the app team's database in
story 1) are real servers started from jars and Debian's packages, and Kafka
Connect runs Debezium's PostgreSQL connector from Maven Central jars; the
schema registry is starlab's own Confluent-compatible
service (see docs/adr/0001-schema-registry.md); PyFlink and Airflow are
runtimes made ready here (a venv with connector jars, a migrated metadata DB)
and run by the stories when they need them.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from starlab.errors import StackError
from starlab.settings import ROOT, Settings
from starlab.stack import prereqs
from starlab.stack.process import ManagedProcess, pid_alive, port_is_open, wait_until


@dataclass(frozen=True)
class Health:
    name: str
    address: str
    healthy: bool
    detail: str
    pid: int | None = None


class Component(ABC):
    name: str

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @abstractmethod
    def start(self) -> None:
        """Start (or make ready) idempotently and wait on a real health check."""

    @abstractmethod
    def health(self) -> Health: ...

    def stop(self) -> bool:
        """Stop; True if something was running."""
        return False


class ServiceComponent(Component):
    """A server process on a TCP port, owned through a pid file."""

    host: str
    port: int
    start_timeout_s: float = 60.0

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.proc = ManagedProcess(self.name, settings.run_dir, settings.logs_dir)

    @abstractmethod
    def argv(self) -> list[str]: ...

    def env(self) -> dict[str, str]:
        return {}

    def prepare(self) -> None:
        """One-time set-up before the first start (download, format, ...)."""

    @abstractmethod
    def probe(self) -> str | None:
        """None when healthy, else why not."""

    def start(self) -> None:
        if self.proc.pid() is not None:
            if self.probe() is None:
                return
            wait_until(lambda: self.probe() is None, self.start_timeout_s, self.name)
            return
        if port_is_open(self.host, self.port):
            raise StackError(
                f"{self.name}: port {self.host}:{self.port} is already in use by another "
                f"process; stop it or move starlab with STARLAB_* settings (see README)"
            )
        self.prepare()
        self.proc.start(self.argv(), env=self.env(), cwd=ROOT)

        def ready() -> bool:
            if self.proc.exited_early() is not None:
                raise StackError(f"{self.name} exited at start: {self.proc.exited_early()}")
            return self.probe() is None

        wait_until(ready, self.start_timeout_s, self.name)

    def stop(self) -> bool:
        return self.proc.stop()

    def health(self) -> Health:
        pid = self.proc.pid()
        why = self.probe()
        if pid is None and why is None:
            why_detail = "answering, but not started by starlab"
            return Health(self.name, f"{self.host}:{self.port}", True, why_detail)
        detail = why or "ok"
        return Health(self.name, f"{self.host}:{self.port}", why is None, detail, pid)


KAFKA_PROPERTIES = """\
# Written by starlab (starlab/stack/components.py); one KRaft node on loopback.
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers={host}:{controller_port}
listeners=PLAINTEXT://{host}:{port},CONTROLLER://{host}:{controller_port}
advertised.listeners=PLAINTEXT://{host}:{port}
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs={log_dirs}
num.partitions={partitions}
# One node: every internal topic has one replica.
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
default.replication.factor=1
min.insync.replicas=1
# Consumers join at once instead of waiting 3 s for more members.
group.initial.rebalance.delay.ms=0
# Flink's exactly-once sink must set transaction.timeout.ms <= this (15 min).
transaction.max.timeout.ms=900000
auto.create.topics.enable=false
log.retention.hours=168
"""

LOG4J2_PROPERTIES = """\
status = warn
appender.console.type = Console
appender.console.name = STDOUT
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.stdout.ref = STDOUT
logger.server.name = kafka.server.KafkaRaftServer
logger.server.level = INFO
logger.broker.name = kafka.server.BrokerServer
logger.broker.level = INFO
"""


def kafka_cluster_id() -> str:
    """A random cluster id in Kafka's format (URL-safe base64 of a UUID).

    Never one that starts with '-': the storage tool's argument parser would
    read it as an option (Kafka's own Uuid.randomUuid() skips those too).
    """
    while True:
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cid.startswith("-"):
            return cid


class Kafka(ServiceComponent):
    name = "kafka"
    start_timeout_s = 90.0

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.host, self.port = settings.kafka_host, settings.kafka_port
        self.dir = settings.home / "kafka"

    @property
    def classpath(self) -> str:
        return str((self.settings.jars_dir / "kafka").resolve() / "*")

    def prepare(self) -> None:
        java = prereqs.require_java()
        prereqs.resolve_jars(self.settings, "kafka")
        prereqs.resolve_jars(self.settings, "jmx")
        self.dir.mkdir(parents=True, exist_ok=True)
        data = (self.dir / "data").resolve()
        props = self.dir / "server.properties"
        props.write_text(
            KAFKA_PROPERTIES.format(
                host=self.host,
                port=self.port,
                controller_port=self.settings.kafka_controller_port,
                log_dirs=data,
                partitions=self.settings.kafka_partitions,
            )
        )
        (self.dir / "log4j2.properties").write_text(LOG4J2_PROPERTIES)
        if port_is_open(self.host, self.settings.kafka_controller_port):
            raise StackError(
                f"kafka: controller port {self.settings.kafka_controller_port} is in use; "
                "free it or set STARLAB_KAFKA_CONTROLLER_PORT"
            )
        if not (data / "meta.properties").exists():
            # Storage is formatted once; a restart keeps topics and offsets.
            cid = kafka_cluster_id()
            proc = subprocess.run(
                [
                    java,
                    "-cp",
                    self.classpath,
                    "kafka.tools.StorageTool",
                    "format",
                    "--standalone",
                    "-t",
                    cid,
                    "-c",
                    str(props),
                ],
                capture_output=True,
                text=True,
            )
            if proc.returncode != 0:
                out = (proc.stderr or proc.stdout).strip().splitlines()
                raise StackError(f"kafka storage format failed: {' | '.join(out[-2:])}")

    def argv(self) -> list[str]:
        return [
            "java",
            f"-Xms{self.settings.kafka_heap}",
            f"-Xmx{self.settings.kafka_heap}",
            "-XX:+UseG1GC",
            f"-Dlog4j2.configurationFile={(self.dir / 'log4j2.properties').resolve()}",
            *self.jmx_agent(),
            "-cp",
            self.classpath,
            "kafka.Kafka",
            str((self.dir / "server.properties").resolve()),
        ]

    def jmx_agent(self) -> list[str]:
        """Prometheus' JMX exporter inside the broker JVM, on 127.0.0.1 (issue 11)."""
        jars = sorted((self.settings.jars_dir / "jmx").glob("jmx_prometheus_javaagent-*.jar"))
        if not jars:
            return []
        rules = ROOT / "starlab" / "stack" / "kafka-jmx.yml"
        return [f"-javaagent:{jars[-1].resolve()}={self.host}:{self.settings.kafka_jmx_port}:{rules}"]

    def probe(self) -> str | None:
        if not port_is_open(self.host, self.port):
            return "port closed"
        from confluent_kafka.admin import AdminClient

        try:
            md = AdminClient({"bootstrap.servers": self.settings.kafka_bootstrap}).list_topics(timeout=3)
        except Exception as exc:  # KafkaException: broker not ready yet
            return f"metadata request failed: {exc}"
        return None if md.brokers else "no broker in metadata"


class Redis(ServiceComponent):
    name = "redis"

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        from redis.connection import parse_url

        parts = parse_url(settings.redis_url)
        self.host, self.port = parts.get("host", "127.0.0.1"), int(parts.get("port", 6379))
        self.dir = settings.home / "redis"

    def prepare(self) -> None:
        self._binary = prereqs.redis_server_binary()
        self.dir.mkdir(parents=True, exist_ok=True)

    def argv(self) -> list[str]:
        return [
            getattr(self, "_binary", "redis-server"),
            "--bind",
            self.host,
            "--port",
            str(self.port),
            "--dir",
            str(self.dir.resolve()),
            "--daemonize",
            "no",
            "--maxmemory",
            self.settings.redis_maxmemory,
            "--maxmemory-policy",
            self.settings.redis_maxmemory_policy,
            # A cache: rebuilt by pre-warming, not restored from disk.
            "--save",
            "",
            "--appendonly",
            "no",
        ]

    def probe(self) -> str | None:
        import redis

        try:
            ok = redis.Redis.from_url(self.settings.redis_url, socket_timeout=1).ping()
        except redis.RedisError as exc:
            return f"ping failed: {exc}"
        return None if ok else "ping returned false"


class SchemaRegistry(ServiceComponent):
    name = "schema-registry"

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.url = settings.schema_registry_url
        url = httpx.URL(self.url)
        self.host, self.port = url.host or "127.0.0.1", url.port or 8081

    def argv(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "starlab.registry",
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--bootstrap",
            self.settings.kafka_bootstrap,
            "--topic",
            self.settings.schemas_topic,
        ]

    def probe(self) -> str | None:
        try:
            r = httpx.get(f"{self.url}/subjects", timeout=2)
        except httpx.HTTPError as exc:
            return f"GET /subjects failed: {type(exc).__name__}"
        return None if r.status_code == 200 else f"GET /subjects -> {r.status_code}"


class FlinkRuntime(Component):
    """PyFlink in its own venv plus the Kafka/Avro connector jars; no server."""

    name = "flink"

    def start(self) -> None:
        prereqs.require_java()
        prereqs.ensure_flink_venv(self.settings)
        prereqs.resolve_jars(self.settings, "flink")

    def health(self) -> Health:
        py = self.settings.flink_venv_dir / "bin" / "python"
        jars = sorted(p.name for p in (self.settings.jars_dir / "flink").glob("*.jar"))
        addr = self.settings.flink_rest_url or "local mini-cluster"
        if not py.exists():
            return Health(self.name, addr, False, "venv missing (starlab up creates it)")
        needed = ("flink-sql-connector-kafka", "flink-sql-avro-confluent-registry", "iceberg-flink-runtime")
        missing = [n for n in needed if not any(j.startswith(n) for j in jars)]
        if missing:
            return Health(self.name, addr, False, f"jars missing: {', '.join(missing)}")
        return Health(self.name, addr, True, f"PyFlink {self.settings.flink_version}, {len(jars)} jars")


class AirflowHome(Component):
    """AIRFLOW_HOME with a migrated SQLite metadata DB, for `dag.test()` runs."""

    name = "airflow"

    @property
    def home(self) -> Path:
        return self.settings.airflow_home_dir.resolve()

    def env(self) -> dict[str, str]:
        return airflow_env(self.settings)

    def start(self) -> None:
        if (self.home / "airflow.db").exists() and (self.home / ".migrated").exists():
            return
        self.home.mkdir(parents=True, exist_ok=True)
        airflow = Path(sys.executable).with_name("airflow")
        proc = subprocess.run(
            [str(airflow), "db", "migrate"],
            capture_output=True,
            text=True,
            env={**os.environ, **self.env()},
        )
        if proc.returncode != 0:
            raise StackError(f"airflow db migrate failed: {proc.stderr.strip()[-300:]}")
        (self.home / ".migrated").write_text("ok")

    def health(self) -> Health:
        ok = (self.home / ".migrated").exists()
        return Health(self.name, str(self.home), ok, "metadata DB migrated" if ok else "not migrated")


def airflow_env(settings: Settings) -> dict[str, str]:
    """Environment for any Airflow call: project-local home, no examples."""
    home = settings.airflow_home_dir.resolve()
    return {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
    }


# --- story 1: the app team's PostgreSQL and Debezium in Kafka Connect -------

POSTGRES_HBA = """\
# Written by starlab (starlab/stack/components.py). TCP from this host only
# (samehost), and only two roles: the app role owns the app database and has
# REPLICATION for Debezium; the lake role owns the Iceberg catalog's database.
# The superuser has no network login (it is used in single-user mode, before
# the server listens, to create the roles and databases).
host  {database}     {user}  samehost  scram-sha-256
host  replication    {user}  samehost  scram-sha-256
host  {lake_database}     {lake_user}  samehost  scram-sha-256
"""

LAKE_MARKER = "starlab-lake-catalog"
"""A file in the data directory: the lake role and database exist (clusters made before the
lake moved to Iceberg get them on their next start)."""

POSTGRES_SETTINGS: tuple[tuple[str, str], ...] = (
    # pgoutput logical decoding for Debezium.
    ("wal_level", "logical"),
    ("max_wal_senders", "4"),
    ("max_replication_slots", "4"),
    # A dev database beside Kafka and Flink on two cores: small buffers.
    ("shared_buffers", "32MB"),
    ("max_connections", "40"),
    # TCP only: the Debian default socket dir (/var/run/postgresql) may not be writable.
    ("unix_socket_directories", ""),
)


def _sql_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _sql_ident(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


def _closed_parent(path: Path) -> Path | None:
    """The first existing parent of `path` that other users cannot walk through, if any."""
    for parent in path.resolve().parents:
        if parent.exists() and not parent.stat().st_mode & stat.S_IXOTH:
            return parent
    return None


def postgres_dir(home: Path, run_as_other_user: bool) -> Path:
    """Where the cluster lives: `<home>/postgres`, unless the server runs as another OS user
    (root starts it as `postgres`) and a parent of `<home>` is closed to others.

    A fresh `git clone` into `mktemp -d` (mode 700) is exactly that case; then
    the cluster goes under the system temp dir, in a folder named after the
    home's path, so each checkout keeps its own cluster and finds it again.
    """
    default = home / "postgres"
    if not run_as_other_user or _closed_parent(default) is None:
        return default
    digest = hashlib.sha1(str(home.resolve()).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"starlab-postgres-{digest}"


class Postgres(ServiceComponent):
    """Debian's PostgreSQL: a private cluster under `<home>/postgres` with logical WAL.

    The first start runs initdb, then creates the app role (LOGIN, REPLICATION)
    and its database in single-user mode, before any network listener exists.
    Every start applies the baseline migrations (starlab/appdb/sql), so the
    publication Debezium reads exists before Connect starts.
    """

    name = "postgres"

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.addr = settings.postgres
        self.host, self.port = self.addr.host, self.addr.port
        self.dir = postgres_dir(settings.home, bool(prereqs.postgres_run_as()))
        self.data = self.dir / "data"

    def _run_as(self) -> list[str]:
        return prereqs.postgres_run_as()

    def prepare(self) -> None:
        self._bin = prereqs.postgres_bin_dir()
        run_as = self._run_as()
        self.dir.mkdir(parents=True, exist_ok=True)
        if run_as:
            # initdb runs as the postgres OS user: it must own the directory and
            # be able to walk down to it (postgres_dir chose a reachable place).
            closed = _closed_parent(self.dir)
            if closed is not None:
                raise StackError(
                    f"postgres: {closed} is closed to other users, so the postgres OS user cannot "
                    f"reach {self.dir}; `chmod o+x {closed}`"
                )
            shutil.chown(self.dir, "postgres", "postgres")
        if not (self.data / "PG_VERSION").exists():
            self._initdb(run_as)
        if not (self.data / LAKE_MARKER).exists():
            self._create_lake_catalog_db(run_as)
        hba = self.data / "pg_hba.conf"
        lake = self.settings.lake_catalog
        hba.write_text(
            POSTGRES_HBA.format(
                database=_sql_ident(self.addr.database),
                user=_sql_ident(self.addr.user),
                lake_database=_sql_ident(lake.database),
                lake_user=_sql_ident(lake.user),
            )
        )

    def _initdb(self, run_as: list[str]) -> None:
        if self.data.exists():
            shutil.rmtree(self.data)  # a half-made cluster from an interrupted initdb
        steps: list[tuple[list[str], str | None]] = [
            (
                [
                    *run_as,
                    str(self._bin / "initdb"),
                    "-D",
                    str(self.data.resolve()),
                    "-U",
                    "postgres",
                    "--auth=reject",
                    "-E",
                    "UTF8",
                    "--locale=C.UTF-8",
                ],
                None,
            ),
            (
                [
                    *run_as,
                    str(self._bin / "postgres"),
                    "--single",
                    "-D",
                    str(self.data.resolve()),
                    "postgres",
                ],
                # One statement per line: single-user mode ends a statement at a newline.
                f"CREATE ROLE {_sql_ident(self.addr.user)} LOGIN REPLICATION "
                f"PASSWORD {_sql_literal(self.addr.password)};\n"
                f"CREATE DATABASE {_sql_ident(self.addr.database)} OWNER {_sql_ident(self.addr.user)};\n",
            ),
        ]
        for argv, stdin in steps:
            self._run_step(argv, stdin, run_as, on_error=lambda: shutil.rmtree(self.data, ignore_errors=True))

    def _create_lake_catalog_db(self, run_as: list[str]) -> None:
        """The Iceberg catalog's role and database (`lake_catalog_url`), in single-user mode.

        A separate database and role: the catalog is the data platform's, and
        the app team's database (and its CDC publication) never sees it.
        """
        lake = self.settings.lake_catalog
        data = str(self.data.resolve())
        # The server's own settings: with the default wal_level, a cluster that already
        # has Debezium's logical slot refuses to start, single-user mode included.
        flags = [arg for key, value in POSTGRES_SETTINGS for arg in ("-c", f"{key}={value}")]
        single = [*run_as, str(self._bin / "postgres"), "--single", "-D", data, *flags, "postgres"]
        self._run_step(
            single,
            f"CREATE ROLE {_sql_ident(lake.user)} LOGIN PASSWORD {_sql_literal(lake.password)};\n"
            f"CREATE DATABASE {_sql_ident(lake.database)} OWNER {_sql_ident(lake.user)};\n",
            run_as,
            tolerate="already exists",
        )
        (self.data / LAKE_MARKER).write_text("lake role and database created\n")

    @staticmethod
    def _run_step(
        argv: list[str],
        stdin: str | None,
        run_as: list[str],
        on_error: Callable[[], object] | None = None,
        tolerate: str | None = None,
    ) -> None:
        proc = subprocess.run(argv, input=stdin, capture_output=True, text=True)
        out = (proc.stderr or "") + (proc.stdout or "")
        errors = [ln for ln in out.splitlines() if "ERROR:" in ln]
        if tolerate:  # a step re-run after an interrupted start: "role ... already exists" is fine
            errors = [ln for ln in errors if tolerate not in ln]
        if proc.returncode != 0 or errors:
            lines = [ln for ln in out.strip().splitlines() if "ERROR" in ln or "FATAL" in ln or "error" in ln]
            if tolerate:
                lines = [ln for ln in lines if tolerate not in ln]
            last = lines[-1] if lines else " | ".join(out.strip().splitlines()[-2:])
            if on_error is not None:
                on_error()
            raise StackError(f"postgres: {Path(argv[len(run_as)]).name} failed: {last.strip()}")

    def argv(self) -> list[str]:
        conf = [("listen_addresses", self.host), ("port", str(self.port)), *POSTGRES_SETTINGS]
        flags = [arg for key, value in conf for arg in ("-c", f"{key}={value}")]
        binary = str(getattr(self, "_bin", Path("/usr/lib/postgresql/15/bin")) / "postgres")
        return [*self._run_as(), binary, "-D", str(self.data.resolve()), *flags]

    def start(self) -> None:
        super().start()
        self.migrate()

    def migrate(self) -> None:
        """Apply the baseline migrations (idempotent: recorded in schema_migrations)."""
        from starlab.appdb import BASELINE_DIR, apply_migrations, connect

        with connect(self.settings, autocommit=True) as conn:
            apply_migrations(conn, BASELINE_DIR)

    def probe(self) -> str | None:
        if not port_is_open(self.host, self.port):
            return "port closed"
        import psycopg

        try:
            with psycopg.connect(self.settings.postgres_url, connect_timeout=2) as conn:
                row = conn.execute("SELECT current_setting('wal_level')").fetchone()
        except psycopg.Error as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            return f"query failed: {first}"
        wal_level = row[0] if row else None
        return None if wal_level == "logical" else f"wal_level is {wal_level}, Debezium needs logical"

    def stop(self) -> bool:
        # SIGINT is PostgreSQL's fast shutdown; the SIGTERM of ManagedProcess.stop is
        # "smart" and waits for every client session (a replication slot reader,
        # a forgotten psql) to leave.
        pid = self.proc.pid()
        if pid is None:
            return self.proc.stop()
        try:
            os.kill(pid, signal.SIGINT)
        except ProcessLookupError:
            return self.proc.stop()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and pid_alive(pid):
            time.sleep(0.1)
        self.proc.stop()  # reaps, removes the pid file, SIGKILLs only if still alive
        return True


CONNECT_WORKER_PROPERTIES = """\
# Written by starlab (starlab/stack/components.py): Kafka Connect standalone.
bootstrap.servers={bootstrap}
# JSON with schemas: every record carries its Connect schema, from which the
# CDC bridge derives the Avro schema (Confluent's AvroConverter is not on
# Maven Central; see docs/adr/0005-cdc.md).
key.converter=org.apache.kafka.connect.json.JsonConverter
value.converter=org.apache.kafka.connect.json.JsonConverter
key.converter.schemas.enable=true
value.converter.schemas.enable=true
# Standalone keeps source offsets (the last LSN read) in a local file.
offset.storage.file.filename={offsets}
# Default 60 s: a crash would replay up to a minute of changes; 1 s keeps the
# at-least-once replay window short (the bridge is idempotent by key anyway).
offset.flush.interval.ms=1000
plugin.path={plugin_path}
# Debezium 3.x ships ServiceLoader manifests: no classpath scan at start.
plugin.discovery=service_load
listeners=http://{host}:{port}
rest.advertised.host.name={host}
rest.advertised.port={port}
"""

DEBEZIUM_CONNECTOR_PROPERTIES = """\
# Written by starlab (starlab/stack/components.py): Debezium PostgreSQL source.
name={name}
connector.class=io.debezium.connector.postgresql.PostgresConnector
tasks.max=1
plugin.name=pgoutput
database.hostname={pg_host}
database.port={pg_port}
database.user={pg_user}
database.password={pg_password}
database.dbname={pg_database}
topic.prefix={prefix}
table.include.list={tables}
# The publication is created by a migration (starlab/appdb/sql), not here.
publication.name={publication}
publication.autocreate.mode=disabled
slot.name={slot}
snapshot.mode=initial
# How often the task looks for new changes when idle (default 500 ms): most of
# the INSERT -> Kafka latency on a quiet table.
poll.interval.ms=100
# NUMERIC as "123.450" strings instead of base64 bytes of the unscaled value.
decimal.handling.mode=string
# Column type, length and scale as schema parameters: the bridge maps
# numeric(p,s) to Avro decimal(p,s) and timestamptz(3) to timestamp-millis.
column.propagate.source.type=.*
# The broker does not auto-create topics: Connect creates the change topics,
# kept forever (retention.ms=-1) so a backfill can replay a table's history.
topic.creation.default.replication.factor=1
topic.creation.default.partitions=1
topic.creation.default.retention.ms=-1
"""

CONNECT_LOG4J2_PROPERTIES = """\
status = warn
appender.console.type = Console
appender.console.name = STDOUT
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.stdout.ref = STDOUT
logger.connect.name = org.apache.kafka.connect.runtime.Connect
logger.connect.level = INFO
logger.debezium.name = io.debezium.connector.postgresql
logger.debezium.level = INFO
"""


class KafkaConnect(ServiceComponent):
    """Kafka Connect standalone running Debezium's PostgreSQL connector.

    Healthy when Connect's REST API reports the connector and its task
    RUNNING: the worker being up is not enough (a wrong password or a missing
    publication fails the task, not the worker).
    """

    name = "connect"
    start_timeout_s = 120.0

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        url = httpx.URL(settings.connect_url)
        self.host, self.port = url.host or "127.0.0.1", url.port or 8083
        self.dir = settings.home / "connect"

    @property
    def classpath(self) -> str:
        return str((self.settings.jars_dir / "connect").resolve() / "*")

    @property
    def slot(self) -> str:
        # Slot names allow [a-z0-9_] only.
        return "starlab_" + "".join(c if c.isalnum() else "_" for c in self.settings.cdc_topic_prefix.lower())

    def prepare(self) -> None:
        from starlab.appdb import CDC_TABLES, PUBLICATION

        prereqs.require_java()
        pg = self.settings.postgres
        for what, host, port, hint in (
            ("kafka", self.settings.kafka_host, self.settings.kafka_port, "starlab up kafka"),
            ("postgres", pg.host, pg.port, "starlab up postgres"),
        ):
            if not port_is_open(host, port):
                raise StackError(f"connect: {what} at {host}:{port} is not running; start it first ({hint})")
        prereqs.resolve_jars(self.settings, "connect")
        plugin = prereqs.resolve_jars(self.settings, "debezium")
        # plugin.path holds one directory per plugin; the plugin's jars are the
        # resolved Debezium jars, linked rather than copied.
        plugins = self.dir / "plugins"
        plugins.mkdir(parents=True, exist_ok=True)
        link = plugins / "debezium-connector-postgres"
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(plugin.resolve(), target_is_directory=True)
        (self.dir / "worker.properties").write_text(
            CONNECT_WORKER_PROPERTIES.format(
                bootstrap=self.settings.kafka_bootstrap,
                offsets=(self.dir / "offsets.dat").resolve(),
                plugin_path=plugins.resolve(),
                host=self.host,
                port=self.port,
            )
        )
        connector = self.dir / "connector.properties"
        connector.write_text(
            DEBEZIUM_CONNECTOR_PROPERTIES.format(
                name=self.settings.cdc_connector,
                pg_host=pg.host,
                pg_port=pg.port,
                pg_user=pg.user,
                pg_password=pg.password,
                pg_database=pg.database,
                prefix=self.settings.cdc_topic_prefix,
                tables=",".join(t.qualified for t in CDC_TABLES),
                publication=PUBLICATION,
                slot=self.slot,
            )
        )
        connector.chmod(0o600)  # holds the database password
        (self.dir / "log4j2.properties").write_text(CONNECT_LOG4J2_PROPERTIES)

    def argv(self) -> list[str]:
        return [
            "java",
            f"-Xms{self.settings.connect_heap}",
            f"-Xmx{self.settings.connect_heap}",
            "-XX:+UseG1GC",
            f"-Dlog4j2.configurationFile={(self.dir / 'log4j2.properties').resolve()}",
            "-cp",
            self.classpath,
            "org.apache.kafka.connect.cli.ConnectStandalone",
            str((self.dir / "worker.properties").resolve()),
            str((self.dir / "connector.properties").resolve()),
        ]

    def probe(self) -> str | None:
        url = f"{self.settings.connect_url}/connectors/{self.settings.cdc_connector}/status"
        try:
            r = httpx.get(url, timeout=2)
        except httpx.HTTPError as exc:
            return f"GET /connectors/{self.settings.cdc_connector}/status failed: {type(exc).__name__}"
        if r.status_code != 200:
            return f"GET /connectors/{self.settings.cdc_connector}/status -> {r.status_code}"
        return connector_status_problem(r.json())


def connector_status_problem(status: object) -> str | None:
    """None if a Connect status document shows the connector and all tasks RUNNING."""
    if not isinstance(status, dict):
        return "status is not a JSON object"
    connector = status.get("connector") or {}
    tasks = status.get("tasks") or []
    states = [("connector", connector)] + [(f"task {t.get('id')}", t) for t in tasks if isinstance(t, dict)]
    for what, entry in states:
        state = entry.get("state") if isinstance(entry, dict) else None
        if state != "RUNNING":
            trace = str(entry.get("trace") or "").strip().splitlines() if isinstance(entry, dict) else []
            return f"{what} {state or 'missing'}" + (f": {trace[0][:200]}" if trace else "")
    if not tasks:
        return "no task yet"
    return None


SERVERS: dict[str, type[Component]] = {
    "kafka": Kafka,
    "schema-registry": SchemaRegistry,
    "redis": Redis,
    "postgres": Postgres,
    "connect": KafkaConnect,
    "flink": FlinkRuntime,
    "airflow": AirflowHome,
}
"""The systems the stories run on, in start order (the registry needs Kafka; Connect needs
Kafka and PostgreSQL). `starlab.stack.manager.COMPONENTS` adds what watches them."""
