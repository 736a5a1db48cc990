"""The cluster topology (issue 12): three KRaft nodes, a Flink session cluster, a Redis Cluster.

`STARLAB_TOPOLOGY=cluster` swaps the one-process-per-system stack for the
field's own distributed engines, run here for real: the question after "how
did you ensure exactly-once" is "and when a broker dies?", and the answer is
a replicated topic (replication factor 3, `min.insync.replicas` 2, producers
on `acks=all`), a JobManager that resubmits from a checkpoint, and Redis
Cluster slots. Every port is its own (29092.., 8088, 6381..), so a cluster
runs beside the single stack, and every listener is on 127.0.0.1.

Memory on 2 cores / 24 GB (`starlab status` shows each process):
- Kafka: 3 x 1 GB heap (smaller heaps run out in the log cleaner, PITFALLS.md);
- Flink: JobManager 1,024 MB process (about 450 MB heap), two TaskManagers of
  2,048 MB process each (about 540 MB task heap and 635 MB managed memory for RocksDB);
- Redis: 3 x `maxmemory` (256 MB each by default);
- the registry: one Python process.
The sum is about 9.5 GB of process memory; the 2 cores, not memory, are the limit.
"""

from __future__ import annotations

import json
import subprocess
import time
from abc import abstractmethod
from collections.abc import Callable
from functools import partial
from pathlib import Path

import httpx

from starlab.errors import StackError
from starlab.observability import flink as metrics
from starlab.settings import ROOT, Settings, port_range
from starlab.stack import prereqs
from starlab.stack.components import (
    KAFKA_PROPERTIES,
    LOG4J2_PROPERTIES,
    Component,
    FlinkRuntime,
    Health,
    Kafka,
    Redis,
    SchemaRegistry,
    kafka_cluster_id,
)
from starlab.stack.process import port_is_open, wait_until

NODES = (1, 2, 3)

# --- Kafka: three combined broker+controller nodes --------------------------------

CLUSTER_OVERRIDES = """\
# The cluster topology (starlab/stack/cluster.py): three voters, three replicas.
controller.quorum.bootstrap.servers={voters}
offsets.topic.replication.factor=3
transaction.state.log.replication.factor=3
transaction.state.log.min.isr=2
share.coordinator.state.topic.replication.factor=3
share.coordinator.state.topic.min.isr=2
default.replication.factor=3
min.insync.replicas=2
# A replica that missed writes must never become leader: acknowledged records stay.
unclean.leader.election.enable=false
# A SIGKILLed node is fenced in 3 s instead of 9 s, so leadership moves quickly.
broker.session.timeout.ms=3000
broker.heartbeat.interval.ms=500
# Two cores for three nodes: fewer threads each.
num.network.threads=2
num.io.threads=2
log.cleaner.threads=1
"""


def broker_addresses(settings: Settings) -> list[tuple[str, int]]:
    """(host, broker port) of each node, from `cluster_kafka_bootstrap`."""
    out = []
    for entry in settings.cluster_kafka_bootstrap.split(","):
        host, _, port = entry.strip().rpartition(":")
        out.append((host, int(port)))
    if len(out) != len(NODES):
        raise StackError(
            f"STARLAB_CLUSTER_KAFKA_BOOTSTRAP names {len(out)} brokers; the cluster has {len(NODES)}"
        )
    return out


def _override(text: str, extra: str) -> str:
    """`text` with every key of `extra` replaced (and `extra`'s new keys appended)."""
    new = dict(line.split("=", 1) for line in extra.splitlines() if "=" in line and not line.startswith("#"))
    kept = [ln for ln in text.splitlines() if ln.split("=", 1)[0] not in new]
    return "\n".join([*kept, extra])


class KafkaNode(Kafka):
    """Node `index` of the three: broker and controller in one JVM (combined mode).

    Combined mode halves the JVMs (3, not 6) on two cores; killing a node kills
    a voter too, and three voters survive the loss of one.
    """

    def __init__(self, settings: Settings, index: int) -> None:
        self.index = index
        self.name = f"kafka-{index}"
        super().__init__(settings)
        self.host, self.port = broker_addresses(settings)[index - 1]
        self.controller_port = self.port + 1
        self.dir = settings.home / "kafka-cluster" / f"node-{index}"

    def voters(self) -> str:
        return ",".join(f"{h}:{p + 1}" for h, p in broker_addresses(self.settings))

    def properties(self) -> str:
        base = KAFKA_PROPERTIES.format(
            host=self.host,
            port=self.port,
            controller_port=self.controller_port,
            log_dirs=(self.dir / "data").resolve(),
            partitions=self.settings.kafka_partitions,
        ).replace("node.id=1", f"node.id={self.index}")
        return _override(base, CLUSTER_OVERRIDES.format(voters=self.voters()))

    def ids(self) -> tuple[str, list[str]]:
        """The cluster id and each controller's directory id, made once and kept.

        Every node is formatted with the same `--initial-controllers` value;
        a node whose data dir was wiped must get the same ids again.
        """
        path = self.settings.home / "kafka-cluster" / "ids.json"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            dirs = [kafka_cluster_id() for _ in NODES]
            path.write_text(json.dumps({"cluster_id": kafka_cluster_id(), "directory_ids": dirs}))
        raw = json.loads(path.read_text())
        return str(raw["cluster_id"]), [str(d) for d in raw["directory_ids"]]

    def prepare(self) -> None:
        java = prereqs.require_java()
        prereqs.resolve_jars(self.settings, "kafka")
        prereqs.resolve_jars(self.settings, "jmx")
        data = (self.dir / "data").resolve()
        data.mkdir(parents=True, exist_ok=True)
        props = self.dir / "server.properties"
        props.write_text(self.properties())
        (self.dir / "log4j2.properties").write_text(LOG4J2_PROPERTIES)
        if port_is_open(self.host, self.controller_port):
            raise StackError(f"{self.name}: controller port {self.controller_port} is in use")
        if (data / "meta.properties").exists():
            return
        cid, dirs = self.ids()
        controllers = ",".join(
            f"{i}@{h}:{p + 1}:{d}"
            for i, (h, p), d in zip(NODES, broker_addresses(self.settings), dirs, strict=True)
        )
        argv = [java, "-cp", self.classpath, "kafka.tools.StorageTool", "format", "-t", cid]
        argv += ["--initial-controllers", controllers, "-c", str(props)]
        proc = subprocess.run(argv, capture_output=True, text=True)
        if proc.returncode != 0:
            out = (proc.stderr or proc.stdout).strip().splitlines()
            raise StackError(f"{self.name} storage format failed: {' | '.join(out[-2:])}")
        # The storage tool gives each node a random directory id; the quorum
        # expects the one named in --initial-controllers for this node.
        meta = data / "meta.properties"
        text = meta.read_text()
        if f"directory.id={dirs[self.index - 1]}" not in text:
            raise StackError(f"{self.name}: formatted with an unexpected directory id ({meta})")

    def jmx_agent(self) -> list[str]:
        jars = sorted((self.settings.jars_dir / "jmx").glob("jmx_prometheus_javaagent-*.jar"))
        if not jars:
            return []
        port = port_range(self.settings.cluster_kafka_jmx_ports)[self.index - 1]
        rules = ROOT / "starlab" / "stack" / "kafka-jmx.yml"
        return [f"-javaagent:{jars[-1].resolve()}={self.host}:{port}:{rules}"]

    def probe(self) -> str | None:
        # One node cannot be healthy alone (a quorum needs two voters), so
        # `up` starting the nodes one by one waits only for the controller's
        # listener here; `KafkaCluster` waits for the three brokers together.
        if not port_is_open(self.host, self.controller_port):
            return "controller port closed"
        return None


class KafkaCluster(Component):
    """No process: ready when all three brokers are in the metadata."""

    name = "kafka-cluster"

    def brokers(self) -> int:
        from confluent_kafka.admin import AdminClient

        try:
            md = AdminClient({"bootstrap.servers": self.settings.cluster_kafka_bootstrap}).list_topics(
                timeout=3
            )
        except Exception:  # KafkaException: no broker answers yet
            return 0
        return len(md.brokers)

    def start(self) -> None:
        wait_until(lambda: self.brokers() == len(NODES), 120, "kafka cluster (3 brokers in metadata)", 1.0)

    def health(self) -> Health:
        n = self.brokers()
        ok = n == len(NODES)
        detail = f"{n} of {len(NODES)} brokers, RF 3, min ISR 2"
        return Health(self.name, self.settings.cluster_kafka_bootstrap, ok, detail)


class ClusterSchemaRegistry(SchemaRegistry):
    """The registry on the cluster's Kafka (its `_schemas` topic has three replicas)."""

    name = "schema-registry-cluster"

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.url = settings.cluster_schema_registry_url
        url = httpx.URL(self.url)
        self.host, self.port = url.host or "127.0.0.1", url.port or 8091

    def argv(self) -> list[str]:
        args = super().argv()
        args[args.index("--port") + 1] = str(self.port)
        args[args.index("--bootstrap") + 1] = self.settings.cluster_kafka_bootstrap
        return [*args, "--replication-factor", "3"]


# --- Redis Cluster: three masters -----------------------------------------------


class RedisNode(Redis):
    """One master of the Redis Cluster; its cluster bus is its port + 10000, on 127.0.0.1 too."""

    def __init__(self, settings: Settings, index: int) -> None:
        self.index = index
        self.name = f"redis-{index}"
        super().__init__(settings)
        self.host, self.port = "127.0.0.1", port_range(settings.cluster_redis_ports)[index - 1]
        self.dir = settings.home / "redis-cluster" / str(self.port)

    def argv(self) -> list[str]:
        return [
            *super().argv(),
            "--cluster-enabled",
            "yes",
            "--cluster-config-file",
            f"nodes-{self.port}.conf",
            # A dead master is marked failed after 2 s (default 15 s).
            "--cluster-node-timeout",
            "2000",
            # Slots of a dead master fail; the others keep serving.
            "--cluster-require-full-coverage",
            "no",
        ]

    def probe(self) -> str | None:
        import redis

        try:
            ok = redis.Redis(host=self.host, port=self.port, socket_timeout=1).ping()
        except redis.RedisError as exc:
            return f"ping failed: {exc}"
        return None if ok else "ping returned false"


class RedisCluster(Component):
    """No process: joins the three masters into one cluster (16,384 slots) once."""

    name = "redis-cluster"

    @property
    def ports(self) -> range:
        return port_range(self.settings.cluster_redis_ports)

    def info(self) -> dict[str, str]:
        import redis

        try:
            raw = redis.Redis(port=self.ports[0], socket_timeout=1).execute_command("CLUSTER INFO")
        except redis.RedisError:
            return {}
        if isinstance(raw, dict):  # redis-py parses CLUSTER INFO into a dict
            return {str(k): str(v) for k, v in raw.items()}
        text = raw.decode() if isinstance(raw, bytes) else str(raw)
        return dict(line.split(":", 1) for line in text.split() if ":" in line)

    def start(self) -> None:
        info = self.info()
        if info.get("cluster_known_nodes") == str(len(self.ports)):
            # Formed before: nodes restarted from their nodes-*.conf rejoin by
            # themselves; the state turns ok once they have gossiped.
            wait_until(lambda: self.info().get("cluster_state") == "ok", 30, "redis cluster state ok", 0.5)
            return
        cli = prereqs.require_binary("redis-cli", "install redis-tools (Debian: apt-get install redis-tools)")
        nodes = [f"127.0.0.1:{p}" for p in self.ports]
        proc = subprocess.run(
            [cli, "--cluster", "create", *nodes, "--cluster-replicas", "0", "--cluster-yes"],
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0:
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-2:]
            raise StackError(f"redis-cli --cluster create failed: {' | '.join(tail)}")
        wait_until(lambda: self.info().get("cluster_state") == "ok", 30, "redis cluster state ok", 0.5)

    def health(self) -> Health:
        info = self.info()
        ok = info.get("cluster_state") == "ok"
        state, nodes = info.get("cluster_state", "unreachable"), info.get("cluster_known_nodes", "0")
        detail = f"state {state}, {nodes} nodes, {info.get('cluster_slots_assigned', '0')} slots"
        return Health(self.name, ",".join(f"127.0.0.1:{p}" for p in self.ports), ok, detail)


# --- Flink: a standalone session cluster from the PyFlink wheel's scripts --------

FLINK_SLOTS_PER_TM = 2
"""2 TaskManagers x 2 slots: a parallelism-2 job survives a TaskManager kill on the
other one, and parallelism 4 fits for the rescale."""


def flink_cluster_dir(settings: Settings) -> Path:
    return (settings.home / "flink-cluster").resolve()


def flink_cluster_conf(settings: Settings) -> dict[str, str]:
    """The session cluster's `config.yaml`: one file for the JobManager and both TaskManagers.

    Every listener on 127.0.0.1 (RPC, blob server, REST, data, metric query
    service); checkpoints and savepoints are jobs' own (`file://` paths on this
    machine are the shared directory every process sees).
    """
    url = httpx.URL(settings.cluster_flink_rest_url)
    base = flink_cluster_dir(settings)
    java_opts = _wheel_java_opts(settings)
    return {
        "jobmanager.rpc.address": "127.0.0.1",
        "jobmanager.bind-host": "127.0.0.1",
        "jobmanager.rpc.port": "6123",
        "blob.server.port": "6124",
        "jobmanager.memory.process.size": "1024m",
        "taskmanager.host": "127.0.0.1",
        "taskmanager.bind-host": "127.0.0.1",
        # Ephemeral ports, bound to the bind-hosts above: the data port takes no
        # range, and two TaskManagers given one range collided on its first port.
        "taskmanager.rpc.port": "0",
        "taskmanager.data.port": "0",
        "metrics.internal.query-service.port": "0",
        "taskmanager.memory.process.size": "2048m",
        "taskmanager.memory.jvm-metaspace.size": "384m",
        "taskmanager.numberOfTaskSlots": str(FLINK_SLOTS_PER_TM),
        # A job's slots spread over both TaskManagers (the default fills the first one):
        # a killed TaskManager then takes half the job, and the restart lands on a JVM
        # that already runs the other half (job classes loaded, JIT warm, RocksDB's
        # native library in memory) instead of an idle one.
        "taskmanager.load-balance.mode": "SLOTS",
        "parallelism.default": "2",
        "rest.address": url.host or "127.0.0.1",
        "rest.bind-address": url.host or "127.0.0.1",
        "rest.port": str(url.port or 8088),
        "rest.flamegraph.enabled": "true",
        "rest.profiling.enabled": "true",
        "rest.profiling.dir": str(base / "profiles"),
        # State backend, checkpoints, restart strategy and max parallelism are
        # each job's own (`starlab/flink/job_main.py: flink_settings`), the same
        # on both topologies.
        # Defaults are 10 s / 50 s: a killed TaskManager would be noticed late.
        "heartbeat.interval": "1000",
        "heartbeat.timeout": "5000",
        # A TaskManager whose JobManager died registers with the new one within
        # 2 s (default back-off up to 30 s).
        "cluster.registration.initial-timeout": "100",
        "cluster.registration.max-timeout": "2000",
        "io.tmp.dirs": str(base / "tmp"),
        "env.java.opts.all": java_opts,
        # Metrics through JMX and the exporter agent on 127.0.0.1 (each process's
        # JVM_ARGS), never Flink's Prometheus reporter, which binds every interface.
        **metrics.reporter_conf(),
    }


def _wheel_java_opts(settings: Settings) -> str:
    """The wheel's `env.java.opts.all` (JDK 17's --add-opens list), read from its config.yaml."""
    text = (prereqs.pyflink_home(settings) / "conf" / "config.yaml").read_text()
    for line in text.splitlines():
        if line.strip().startswith("all: --add-"):
            return line.split("all:", 1)[1].strip()
    return ""


class FlinkProcess(Component):
    """Shared part of the JobManager and the TaskManagers: conf dir, env, foreground script."""

    script: str
    start_timeout_s = 120.0

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        from starlab.stack.process import ManagedProcess

        self.proc = ManagedProcess(self.name, settings.run_dir, settings.logs_dir)

    @property
    def conf_dir(self) -> Path:
        return flink_cluster_dir(self.settings) / "conf"

    @property
    def jars(self) -> Path:
        return self.settings.jars_dir / "flink"

    def write_conf(self) -> None:
        home = prereqs.pyflink_home(self.settings)
        self.conf_dir.mkdir(parents=True, exist_ok=True)
        for sub in ("tmp", "profiles"):
            (flink_cluster_dir(self.settings) / sub).mkdir(parents=True, exist_ok=True)
        conf = flink_cluster_conf(self.settings)
        (self.conf_dir / "config.yaml").write_text(
            "# Written by starlab (starlab/stack/cluster.py); flat keys, one per line.\n"
            + "".join(f"{k}: {json.dumps(v)}\n" for k, v in conf.items())
        )
        for name in ("log4j-console.properties", "log4j-cli.properties", "log4j.properties"):
            (self.conf_dir / name).write_text((home / "conf" / name).read_text())

    def env(self) -> dict[str, str]:
        logs = (self.settings.logs_dir / "flink-cluster").resolve()
        logs.mkdir(parents=True, exist_ok=True)
        pid_dir = (self.settings.run_dir / "flink-cluster").resolve()
        pid_dir.mkdir(parents=True, exist_ok=True)
        return {
            "FLINK_CONF_DIR": str(self.conf_dir),
            "FLINK_LOG_DIR": str(logs),
            "FLINK_PID_DIR": str(pid_dir),
            # Every connector jar on the cluster's own class path, loaded once,
            # instead of shipped with each job: each submission's user-code class
            # loader kept the Kafka client's classes alive (its admin thread), and
            # after six submissions a TaskManager died of "OutOfMemoryError:
            # Metaspace" (seen here). Jobs submitted to this cluster ship no jars.
            "HADOOP_CLASSPATH": ":".join(str(p.resolve()) for p in sorted(self.jars.glob("*.jar"))),
        }

    def extra_args(self) -> list[str]:
        return []

    def start(self) -> None:
        if self.proc.pid() is not None:
            wait_until(lambda: self.probe() is None, self.start_timeout_s, self.name, 1.0)
            return
        prereqs.require_java()
        prereqs.ensure_flink_venv(self.settings)
        prereqs.resolve_jars(self.settings, "flink")
        prereqs.resolve_jars(self.settings, "jmx")
        self.write_conf()
        script = prereqs.pyflink_home(self.settings) / "bin" / self.script
        env = self.env()
        # flink-console.sh runs `java $JVM_ARGS ...`; ports stay distinct because each
        # process is started only after the one before is ready.
        agent = metrics.agent_jvm_option(self.settings, metrics.free_port(self.settings))
        if agent:
            env["JVM_ARGS"] = agent
        # start-foreground execs the JVM: the pid starlab keeps is the JVM's.
        self.proc.start(["bash", str(script), "start-foreground", *self.extra_args()], env=env, cwd=ROOT)

        def ready() -> bool:
            if self.proc.exited_early() is not None:
                raise StackError(f"{self.name} exited at start: {self.proc.exited_early()}")
            return self.probe() is None

        wait_until(ready, self.start_timeout_s, self.name, 1.0)

    def stop(self) -> bool:
        return self.proc.stop()

    def kill(self) -> None:
        """SIGKILL (fault injection)."""
        self.proc.kill()

    @abstractmethod
    def probe(self) -> str | None:
        """None when healthy, else why not."""

    def rest(self, path: str) -> object:
        r = httpx.get(f"{self.settings.cluster_flink_rest_url}{path}", timeout=3)
        r.raise_for_status()
        return r.json()


class FlinkJobManager(FlinkProcess):
    name = "flink-jobmanager"
    script = "jobmanager.sh"

    def probe(self) -> str | None:
        try:
            self.rest("/overview")
        except httpx.HTTPError as exc:
            return f"GET /overview failed: {type(exc).__name__}"
        return None

    def health(self) -> Health:
        why = self.probe()
        return Health(
            self.name, self.settings.cluster_flink_rest_url, why is None, why or "ok", self.proc.pid()
        )


class FlinkTaskManager(FlinkProcess):
    script = "taskmanager.sh"

    def __init__(self, settings: Settings, index: int) -> None:
        self.index = index
        self.name = f"flink-taskmanager-{index}"
        super().__init__(settings)

    def extra_args(self) -> list[str]:
        return ["-D", f"taskmanager.resource-id={self.name}"]

    def probe(self) -> str | None:
        try:
            tms = self.rest("/taskmanagers")
        except httpx.HTTPError as exc:
            return f"JobManager's GET /taskmanagers failed: {type(exc).__name__}"
        ids = {tm.get("id") for tm in (tms.get("taskmanagers", []) if isinstance(tms, dict) else [])}
        return None if self.name in ids else "not registered with the JobManager"

    def health(self) -> Health:
        why = self.probe()
        detail = why or f"registered, {FLINK_SLOTS_PER_TM} slots"
        return Health(self.name, "127.0.0.1 (ephemeral ports)", why is None, detail, self.proc.pid())


def wait_for_slots(settings: Settings, slots: int, timeout_s: float = 60) -> None:
    """Until the JobManager sees `slots` task slots (after a TaskManager restart)."""

    def enough() -> bool:
        try:
            r = httpx.get(f"{settings.cluster_flink_rest_url}/overview", timeout=3)
            return int(r.json().get("slots-total", 0)) >= slots
        except (httpx.HTTPError, ValueError):
            return False

    deadline = time.monotonic() + timeout_s
    while not enough():
        if time.monotonic() > deadline:
            raise StackError(f"the Flink cluster has fewer than {slots} slots after {timeout_s:.0f}s")
        time.sleep(0.5)


CLUSTER_SERVERS: dict[str, Callable[[Settings], Component]] = {
    **{f"kafka-{i}": partial(KafkaNode, index=i) for i in NODES},
    "kafka-cluster": KafkaCluster,
    "schema-registry-cluster": ClusterSchemaRegistry,
    **{f"redis-{i}": partial(RedisNode, index=i) for i in NODES},
    "redis-cluster": RedisCluster,
    "flink": FlinkRuntime,
    "flink-jobmanager": FlinkJobManager,
    **{f"flink-taskmanager-{i}": partial(FlinkTaskManager, index=i) for i in (1, 2)},
}
"""The cluster topology's systems, in start order; `starlab.stack.manager` picks them by topology."""

CLUSTER_DEPENDS_ON: dict[str, set[str]] = {
    "kafka-cluster": {f"kafka-{i}" for i in NODES},
    "schema-registry-cluster": {"kafka-cluster"},
    "redis-cluster": {f"redis-{i}" for i in NODES},
    "flink-jobmanager": {"flink"},
    **{f"flink-taskmanager-{i}": {"flink-jobmanager"} for i in (1, 2)},
}
