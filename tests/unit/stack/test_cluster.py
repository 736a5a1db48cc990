"""The cluster topology's components as `starlab up` writes and orders them (no process started)."""

from __future__ import annotations

from pathlib import Path

import pytest

from starlab.errors import StackError
from starlab.settings import Settings
from starlab.stack import manager
from starlab.stack.cluster import (
    ClusterSchemaRegistry,
    KafkaNode,
    RedisNode,
    broker_addresses,
    flink_cluster_conf,
)


def _cluster(tmp_path: Path, **kw: str) -> Settings:
    return Settings(topology="cluster", home=tmp_path / "home", **kw)  # type: ignore[arg-type]


def test_the_topology_points_every_client_at_the_cluster_unless_told_otherwise(tmp_path: Path) -> None:
    s = _cluster(tmp_path)
    assert s.kafka_bootstrap == "127.0.0.1:29092,127.0.0.1:29094,127.0.0.1:29096"
    assert (s.redis_url, s.flink_rest_url) == ("redis://127.0.0.1:6381/0", "http://127.0.0.1:8088")
    assert s.schema_registry_url == "http://127.0.0.1:8091"
    assert s.kafka_replication == 3 and s.kafka_port == 29092
    assert _cluster(tmp_path, redis_url="redis://127.0.0.1:7000/0").redis_url == "redis://127.0.0.1:7000/0"
    single = Settings(home=tmp_path / "home")
    assert (single.kafka_bootstrap, single.flink_rest_url, single.kafka_replication) == (
        "127.0.0.1:9092",
        None,
        1,
    )


def test_up_starts_the_cluster_in_order_and_one_node_brings_only_itself(tmp_path: Path) -> None:
    s = _cluster(tmp_path)
    names = [c.name for c in manager.components(s)]
    assert names[:4] == ["kafka-1", "kafka-2", "kafka-3", "kafka-cluster"]
    assert names.index("redis-cluster") > names.index("redis-3")
    assert names[-6:-3] == ["flink-jobmanager", "flink-taskmanager-1", "flink-taskmanager-2"]
    # one Prometheus watches both topologies: the demo's alerts and dashboards work on either
    assert names[-3:] == ["alert-receiver", "alertmanager", "prometheus"]
    assert [c.name for c in manager.components(s, ["prometheus"])] == names[-3:]
    assert [c.name for c in manager.components(s, ["flink-taskmanager-2"])] == [
        "flink",
        "flink-jobmanager",
        "flink-taskmanager-2",
    ]
    # the single stack's servers and their exporters stay apart
    assert not {"kafka", "redis", "lag-exporter", "redis-exporter"} & set(names)


def test_each_kraft_node_is_a_voter_with_three_replicas_on_loopback(tmp_path: Path) -> None:
    s = _cluster(tmp_path)
    props = dict(
        line.split("=", 1)
        for line in KafkaNode(s, 2).properties().splitlines()
        if "=" in line and not line.startswith("#")
    )
    assert props["node.id"] == "2"
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:29094,CONTROLLER://127.0.0.1:29095"
    assert props["controller.quorum.bootstrap.servers"] == "127.0.0.1:29093,127.0.0.1:29095,127.0.0.1:29097"
    assert props["default.replication.factor"] == "3" and props["min.insync.replicas"] == "2"
    assert props["transaction.state.log.min.isr"] == "2"
    assert props["unclean.leader.election.enable"] == "false"
    # each key once: the cluster's values replace the single node's, not follow them
    keys = [ln.split("=", 1)[0] for ln in KafkaNode(s, 2).properties().splitlines() if "=" in ln]
    assert len(keys) == len(set(keys))


def test_a_bootstrap_list_that_is_not_three_brokers_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StackError, match="names 2 brokers"):
        broker_addresses(_cluster(tmp_path, cluster_kafka_bootstrap="127.0.0.1:1,127.0.0.1:2"))


def test_redis_nodes_are_cluster_masters_on_their_own_ports(tmp_path: Path) -> None:
    argv = " ".join(RedisNode(_cluster(tmp_path), 3).argv())
    assert "--bind 127.0.0.1 --port 6383" in argv
    assert "--cluster-enabled yes" in argv and "--cluster-config-file nodes-6383.conf" in argv


def test_the_registry_of_the_cluster_keeps_three_replicas_of_its_schemas(tmp_path: Path) -> None:
    argv = ClusterSchemaRegistry(_cluster(tmp_path)).argv()
    assert argv[argv.index("--port") + 1] == "8091"
    assert argv[argv.index("--bootstrap") + 1].startswith("127.0.0.1:29092,")
    assert argv[-2:] == ["--replication-factor", "3"]


def test_the_session_cluster_listens_on_loopback_and_exports_metrics_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("starlab.stack.cluster._wheel_java_opts", lambda _s: "--add-opens=x")
    conf = flink_cluster_conf(_cluster(tmp_path))
    for key in (
        "jobmanager.bind-host",
        "taskmanager.bind-host",
        "rest.bind-address",
        "jobmanager.rpc.address",
    ):
        assert conf[key] == "127.0.0.1", key
    assert conf["rest.port"] == "8088"
    # a job's slots spread over both TaskManagers, so a TaskManager kill leaves a warm half
    assert conf["taskmanager.load-balance.mode"] == "SLOTS"
    assert not any(k.startswith("restart-strategy") for k in conf)  # the job's own, one place
    # metrics through JMX (no port) and the loopback agent, never the Prometheus reporter
    assert not any(k.startswith("metrics.reporter.prom") for k in conf)
    assert conf["metrics.reporter.jmx.factory.class"].endswith("JMXReporterFactory")
