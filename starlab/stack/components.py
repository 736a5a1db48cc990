"""The components of the embedded stack, each with start, health and stop.

Kafka (KRaft, one node) and Redis are real servers started from jars and
Debian's package; the schema registry is starlab's own Confluent-compatible
service (see docs/adr/0001-schema-registry.md); PyFlink and Airflow are
runtimes made ready here (a venv with connector jars, a migrated metadata DB)
and run by the stories when they need them.
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import uuid
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path

import httpx

from starlab.errors import StackError
from starlab.settings import ROOT, Settings
from starlab.stack import prereqs
from starlab.stack.process import ManagedProcess, port_is_open, wait_until


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
            "-cp",
            self.classpath,
            "kafka.Kafka",
            str((self.dir / "server.properties").resolve()),
        ]

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
        url = httpx.URL(settings.schema_registry_url)
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
            r = httpx.get(f"{self.settings.schema_registry_url}/subjects", timeout=2)
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
        needed = ("flink-sql-connector-kafka", "flink-sql-avro-confluent-registry", "flink-parquet")
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


COMPONENTS: dict[str, type[Component]] = {
    "kafka": Kafka,
    "schema-registry": SchemaRegistry,
    "redis": Redis,
    "flink": FlinkRuntime,
    "airflow": AirflowHome,
}
"""Start order; stop runs in reverse (the registry needs Kafka)."""
