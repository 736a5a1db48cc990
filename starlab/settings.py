"""Typed settings for every endpoint and path, read from `STARLAB_*` variables.

Precedence: environment > `.env` file in the working directory > defaults.
The defaults are the embedded local stack on 127.0.0.1 (`starlab up`);
docker-compose.yml sets the same variable names to its service addresses, so
the same code runs in both.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

from pydantic import model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

Topology = Literal["single", "cluster"]


@dataclass(frozen=True)
class PostgresAddress:
    """Where the app database is and who connects (parsed from `postgres_url`)."""

    host: str
    port: int
    user: str
    password: str
    database: str


LAKE_CATALOG_POSTGRES_URL = "postgresql://lake:lake@127.0.0.1:5433/lake"
"""The lake catalog's place on the stack's PostgreSQL, when `STARLAB_LAKE_CATALOG_URL` asks for it."""


def _address(url: str, default: str) -> PostgresAddress:
    u = urlsplit(url)
    return PostgresAddress(
        host=u.hostname or "127.0.0.1",
        port=u.port or 5432,
        user=unquote(u.username or default),
        password=unquote(u.password or ""),
        database=u.path.lstrip("/") or default,
    )


class Settings(BaseSettings):
    """All of starlab's configuration; one attribute per `STARLAB_<NAME>`."""

    model_config = SettingsConfigDict(env_prefix="STARLAB_", env_file=".env", extra="ignore", frozen=True)

    # --- topology (issue 12) --------------------------------------------------
    topology: Topology = "single"
    """`single`: one process per system (one broker, Flink's mini-cluster in the job's
    JVM, one Redis). `cluster`: three KRaft nodes, a Flink session cluster (one
    JobManager, two TaskManagers) and a three-master Redis Cluster, on ports of their
    own, so both can run side by side. The cluster's addresses below replace
    `kafka_bootstrap`, `schema_registry_url`, `redis_url` and `flink_rest_url`
    unless those are set explicitly."""
    cluster_kafka_bootstrap: str = "127.0.0.1:29092,127.0.0.1:29094,127.0.0.1:29096"
    """The three KRaft nodes' broker listeners; each node's controller listens one port up."""
    cluster_kafka_jmx_ports: str = "9405-9407"
    cluster_schema_registry_url: str = "http://127.0.0.1:8091"
    """The cluster's registry keeps its schemas on the cluster's Kafka."""
    cluster_redis_ports: str = "6381-6383"
    """The Redis Cluster's masters; each node's cluster bus is its port + 10000."""
    cluster_flink_rest_url: str = "http://127.0.0.1:8088"
    """The session cluster's REST endpoint (8081-8083 are taken by the registry,
    compose and Connect)."""
    cluster_kafka_partitions: int = 2
    """Event topic partitions on the cluster. 2, as on the single topology: with 4
    partitions on 2 source tasks, each task reads two partitions unevenly while
    it catches up after a fault, its watermark trails one of them, and events
    the 10-minute lateness should drop were counted (seen here: 437 late events
    missed). Parallelism 4 in the rescale leaves two source tasks idle."""

    # --- paths -------------------------------------------------------------
    home: Path = Path(".starlab")
    """Runtime state of the local stack: jars, logs, pids, data dirs, venvs."""
    data_dir: Path = Path("data")
    """Generated inputs and the lake; git-ignored."""
    reports_dir: Path = Path("reports")
    """Evidence reports; `reports/latest/` is the newest."""
    reports_keep_runs: int = 20
    """Run folders (`reports/<run-id>/`) kept; each report build removes the oldest beyond this."""

    # --- Kafka -------------------------------------------------------------
    kafka_bootstrap: str = "127.0.0.1:9092"
    """Bootstrap servers clients connect to."""
    kafka_controller_port: int = 9093
    """KRaft controller listener of the embedded broker (127.0.0.1 only)."""
    kafka_heap: str = "1G"
    """Broker JVM heap; smaller heaps run out of memory in the log cleaner."""
    kafka_partitions: int = 2
    """Partitions of the event topics: one per core of the target machine."""

    # --- schema registry ---------------------------------------------------
    schema_registry_url: str = "http://127.0.0.1:8081"
    """Confluent-REST-compatible schema registry."""
    schemas_topic: str = "_schemas"
    """Compacted topic the embedded registry stores schemas in."""

    # --- Redis -------------------------------------------------------------
    redis_url: str = "redis://127.0.0.1:6380/0"
    """6380, not 6379, so a distribution-started redis-server never collides."""
    redis_maxmemory: str = "256mb"
    redis_maxmemory_policy: str = "allkeys-lfu"
    """LFU eviction (story 004's hot-key argument); configurable per run."""

    # --- API ---------------------------------------------------------------
    api_host: str = "127.0.0.1"
    api_port: int = 8000

    # --- topics ------------------------------------------------------------
    events_topic: str = "engagement.events"
    dlq_topic: str = "engagement.events.dlq"
    late_topic: str = "engagement.events.late"
    metrics_topic: str = "engagement.metrics.1m"

    # --- Flink ---------------------------------------------------------------
    flink_version: str = "2.2.1"
    """PyFlink version; the Kafka connector 5.0.0-2.2 is built for 2.2."""
    flink_venv: Path | None = None
    """Virtual environment of the Flink job; default `<home>/venvs/flink`."""
    flink_rest_url: str | None = None
    """A Flink cluster's REST address (compose); unset = local mini-cluster."""
    flink_job_jvm_opts: str = ""
    """Extra JVM options of a job's own JVM on the single topology (the mini-cluster), e.g.
    `-XX:+UseParallelGC`: how `starlab stream profile` tries a JVM change (issue 12, item 5)."""

    # --- Airflow & warehouse ----------------------------------------------
    airflow_home: Path | None = None
    """AIRFLOW_HOME; default `<home>/airflow`."""
    duckdb_path: Path | None = None
    """Warehouse file; default `<data_dir>/warehouse.duckdb`."""

    # --- app team's database and CDC (story 1) ------------------------------
    # PostgreSQL owned by "the app team" and Debezium in Kafka Connect reading
    # its write-ahead log; starlab/cdc re-encodes the changes to Avro.
    postgres_url: str = "postgresql://app:app@127.0.0.1:5433/app"
    """The app database as its owner role; 5433, not 5432, so a distribution-started
    PostgreSQL never collides. User and database name are created by `starlab up`."""
    connect_url: str = "http://127.0.0.1:8083"
    """Kafka Connect's REST address (standalone worker running Debezium)."""
    connect_heap: str = "256m"
    """Connect worker JVM heap; one source task on two tables needs no more."""
    cdc_topic_prefix: str = "app"
    """Debezium's `topic.prefix`: change topics are `<prefix>.public.<table>` and the
    bridge's Avro topics `<prefix>.<table>`."""
    cdc_connector: str = "app-postgres"
    """Name of the Debezium connector in Connect (its status is the health check)."""

    # --- the lake: Iceberg tables in a JDBC catalog (story 3) ----------------
    lake_catalog_url: str | None = None
    """Iceberg's JDBC catalog, shared by Flink's sink and PyIceberg readers. Unset: a SQLite
    file beside the warehouse (`<data_dir>/lake/catalog.db`), so every data dir (a test's,
    a bench's) carries its own catalog. `postgresql://lake:lake@127.0.0.1:5433/lake` puts it
    on the stack's PostgreSQL, in a database and role of its own that `starlab up` creates
    (never the app team's); see docs/adr/0006-iceberg-lake.md."""
    lake_namespace: str = "lake"
    """Iceberg namespace of the lake's tables (`lake.events`)."""

    @model_validator(mode="before")
    @classmethod
    def _cluster_addresses(cls, data: Any) -> Any:
        """On the cluster topology, point the clients at the cluster unless told otherwise."""
        if not isinstance(data, dict) or data.get("topology") != "cluster":
            return data
        defaults = {name: field.default for name, field in cls.model_fields.items()}

        def given(name: str) -> Any:
            return data.get(name, defaults[name])

        first_redis = port_range(str(given("cluster_redis_ports")))[0]
        derived = {
            "kafka_bootstrap": given("cluster_kafka_bootstrap"),
            "schema_registry_url": given("cluster_schema_registry_url"),
            "redis_url": f"redis://127.0.0.1:{first_redis}/0",
            "flink_rest_url": given("cluster_flink_rest_url"),
            "kafka_partitions": given("cluster_kafka_partitions"),
        }
        return {**derived, **data}

    @property
    def clustered(self) -> bool:
        return self.topology == "cluster"

    @property
    def kafka_replication(self) -> int:
        """Replicas of every topic starlab creates: 3 on the cluster (min.insync.replicas 2)."""
        return 3 if self.clustered else 1

    @property
    def postgres(self) -> PostgresAddress:
        """`postgres_url` split into the parts the stack and Debezium need."""
        return _address(self.postgres_url, "app")

    @property
    def lake_catalog(self) -> PostgresAddress:
        """The PostgreSQL role and database `starlab up` creates for an Iceberg catalog there
        (from `lake_catalog_url` when it names PostgreSQL, else the default below)."""
        url = self.lake_catalog_url or ""
        return _address(url if url.startswith("postgresql") else LAKE_CATALOG_POSTGRES_URL, "lake")

    # --- observability: Prometheus, Alertmanager, exporters (issue 11) --------
    # Ports are all on 127.0.0.1 and none is the distribution default, so a
    # Debian-started Prometheus (9090) or Alertmanager (9093, which is also
    # Kafka's controller port here) never collides.
    prometheus_url: str = "http://127.0.0.1:9190"
    """Prometheus' HTTP API and classic UI (`/classic/graph`)."""
    alertmanager_url: str = "http://127.0.0.1:9193"
    alert_receiver_url: str = "http://127.0.0.1:9195"
    """starlab's webhook receiver: Alertmanager posts every notification here."""
    scrape_interval_s: int = 1
    """Scrape and rule-evaluation interval. 1 s, not Prometheus' usual 15 s: a demo's stall
    lasts 30 s, and an SLO alert with a `for` of seconds needs samples every second."""
    slo_time_scale: float = 1.0
    """Divides every SLO window, `for` and `keep_firing_for` (60 turns the SRE workbook's
    1h/5m and 6h/30m burn-rate pairs into 1m/5s and 6m/30s for a demo of minutes)."""
    kafka_jmx_port: int = 9404
    """The JMX exporter java agent inside the broker's JVM."""
    lag_exporter_port: int = 9309
    redis_exporter_port: int = 9122
    postgres_exporter_port: int = 9188
    flink_metrics_ports: str = "9250-9259"
    """Flink's Prometheus reporter: each job process takes the first free port of the range,
    and Prometheus scrapes the whole range (a closed port is a target that is down)."""
    process_metrics_ports: str = "9280-9299"
    """Short-lived Python processes (stream harness, producer, materializer, APIs) serve
    `/metrics` on the first free port here and announce it to Prometheus by file_sd."""

    # --- derived paths ------------------------------------------------------
    @property
    def lake_dir(self) -> Path:
        """The lake: dimension files under `dims/`, the Iceberg warehouse under `warehouse/`."""
        return self.data_dir / "lake"

    @property
    def lake_warehouse_dir(self) -> Path:
        """Where the Iceberg tables' data and metadata files live (local file system)."""
        return self.lake_dir / "warehouse"

    @property
    def jars_dir(self) -> Path:
        return self.home / "jars"

    @property
    def logs_dir(self) -> Path:
        return self.home / "logs"

    @property
    def prometheus_dir(self) -> Path:
        """Prometheus' config, rules, file_sd targets and TSDB."""
        return self.home / "prometheus"

    @property
    def alerts_log(self) -> Path:
        """Every notification the webhook receiver got, one JSON object per line."""
        return self.home / "alerts" / "alerts.jsonl"

    @property
    def run_dir(self) -> Path:
        return self.home / "run"

    @property
    def flink_venv_dir(self) -> Path:
        return self.flink_venv or self.home / "venvs" / "flink"

    @property
    def airflow_home_dir(self) -> Path:
        return self.airflow_home or self.home / "airflow"

    @property
    def warehouse_path(self) -> Path:
        return self.duckdb_path or self.data_dir / "warehouse.duckdb"

    @property
    def kafka_port(self) -> int:
        """The (first) broker's port."""
        return int(self.kafka_bootstrap.split(",")[0].rsplit(":", 1)[1])

    @property
    def kafka_host(self) -> str:
        return self.kafka_bootstrap.split(",")[0].rsplit(":", 1)[0]


def port_range(spec: str) -> range:
    """`"9280-9299"` -> range(9280, 9300); a bad spec names the expected form."""
    from starlab.errors import ConfigError

    try:
        lo, hi = (int(x) for x in spec.split("-", 1))
    except ValueError:
        raise ConfigError(f"port range {spec!r}: expected LOW-HIGH, e.g. 9280-9299") from None
    if not 0 < lo <= hi < 65536:
        raise ConfigError(f"port range {spec!r}: expected 0 < LOW <= HIGH < 65536")
    return range(lo, hi + 1)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (cached; tests build `Settings(...)` directly)."""
    return Settings()


ROOT = Path(__file__).resolve().parent.parent
"""The repository root: where the pom files, dbt_project/ and dags/ live."""

__all__ = ["ROOT", "PostgresAddress", "Settings", "Topology", "get_settings", "port_range"]
