"""The cluster topology on real engines: three KRaft nodes, a Flink session cluster, Redis Cluster.

Issue 12: the stack comes up whole (3 brokers, 16,384 slots, 4 task slots),
a job submitted to the session cluster is rescaled with savepoints from
parallelism 2 to 4 and down to 1 with 0 lost and 0 duplicated, nothing of
the cluster listens on any interface but 127.0.0.1 while the job runs, and
a live stream survives SIGKILLs of the leading broker, a TaskManager and
the JobManager exactly-once (seed from `STARLAB_TEST_SEED`, default 11, so
it can be run on several seeds).
The cluster runs on ports of its own, beside the single stack the other
tests use, and is stopped at the end of the module if it was started here.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from starlab.events.generator import Generator, GeneratorConfig
from starlab.events.producer import EdgeProducer
from starlab.flink.session import SessionCluster
from starlab.kafka_io import ensure_topics
from starlab.settings import Settings
from starlab.stack import manager
from starlab.stack.cluster import CLUSTER_SERVERS
from starlab.stack.process import wildcard_listeners
from streaming.job import PIPELINE_NAME, FlinkJob, JobOptions
from streaming.scenario import Fault, RunOptions, reset_stream, run_stream
from streaming.telemetry import consumer_lag
from streaming.topics import stream_topics
from streaming.verify import verify

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    settings = Settings(topology="cluster", data_dir=tmp_path_factory.mktemp("cluster-data"))
    # Started here only if no part of it runs yet; then stopped here too. A
    # cluster someone started stays (a slow health probe must not stop it).
    # Its own servers only: Prometheus, shared with the single stack, may be up already.
    procs = [getattr(c, "proc", None) for c in manager.components(settings, CLUSTER_SERVERS)]
    running = any(p is not None and p.pid() is not None for p in procs)
    manager.up(settings, progress=lambda m: None)
    yield settings
    if not running:
        manager.down(settings, [n for n in CLUSTER_SERVERS if n != "flink"], progress=lambda m: None)


def test_the_cluster_comes_up_whole(cluster: Settings) -> None:
    unhealthy = [f"{h.name}: {h.detail}" for h in manager.status(cluster) if not h.healthy]
    assert not unhealthy
    overview = httpx.get(f"{cluster.cluster_flink_rest_url}/overview", timeout=5).json()
    assert (overview["taskmanagers"], overview["slots-total"]) == (2, 4)


def _parallelism(session: SessionCluster) -> int:
    (job,) = session.active(PIPELINE_NAME)
    raw = httpx.get(f"{session.rest_url}/jobs/{job.job_id}", timeout=5).json()
    return max(v["parallelism"] for v in raw["vertices"])


def _caught_up(settings: Settings, group: str, timeout_s: float = 180) -> None:
    deadline = time.monotonic() + timeout_s
    while sum(consumer_lag(settings, group, settings.events_topic).values()) > 0:
        assert time.monotonic() < deadline, "the job did not catch up"
        time.sleep(1)


def test_rescale_2_to_4_to_1_with_savepoints_loses_and_duplicates_nothing(cluster: Settings) -> None:
    group = f"starlab-flink-rescale-{uuid.uuid4().hex[:6]}"
    job = FlinkJob(cluster, JobOptions(parallelism=2, checkpoint_interval_ms=2_000, group_id=group))
    reset_stream(cluster, job)
    ensure_topics(cluster, stream_topics(cluster))
    cfg = GeneratorConfig(seed=5, events=30_000, start_ms=int(time.time() * 1000), rate_per_s=2_000)
    gen = Generator(cfg)
    emissions = list(gen.emissions())
    thirds = [emissions[: len(emissions) // 3], emissions[len(emissions) // 3 : 2 * len(emissions) // 3]]
    thirds.append(emissions[2 * len(emissions) // 3 :])
    session = job.runner.session
    assert session is not None  # submitted to the session cluster, not a mini-cluster
    savepoints: list[str] = []
    try:
        job.start()
        job.wait_ready()
        assert _parallelism(session) == 2
        with EdgeProducer(cluster) as producer:
            for chunk, next_p in zip(thirds, (4, 1, None), strict=True):
                for e in chunk:
                    producer.send(e.raw)
                producer.flush(timeout_s=60)
                _caught_up(cluster, group)
                if next_p is None:
                    break
                savepoints.append(job.rescale(next_p))
                assert _parallelism(session) == next_p
                if next_p == 4:
                    # every process of both topologies, the job's JVMs on the TaskManagers included
                    assert wildcard_listeners(cluster.run_dir) == []
        assert producer.stats.delivery_failures == 0
        # Until the checkpoint that commits the last transactions (2 s apart when idle; much
        # longer on a starved machine), within a deadline that only bounds a broken job.
        time.sleep(4)
        report = verify(cluster, gen.manifest)
        deadline = time.monotonic() + 90
        while not report.ok and time.monotonic() < deadline:
            time.sleep(2)
            report = verify(cluster, gen.manifest)
    finally:
        job.stop()
    assert len(savepoints) == 2 and all("savepoint-" in p for p in savepoints)
    assert (report.lost, report.duplicated, report.late_missing, report.metric_mismatches) == (0, 0, 0, 0)
    assert report.ok, report.examples


def test_the_cluster_registry_and_topics_keep_three_replicas(cluster: Settings, tmp_path: Path) -> None:
    from confluent_kafka.admin import AdminClient

    md = AdminClient({"bootstrap.servers": cluster.kafka_bootstrap}).list_topics(timeout=10)
    for name in ("_schemas", cluster.events_topic):
        replicas = {len(p.replicas) for p in md.topics[name].partitions.values()}
        assert replicas == {3}, name


def test_a_live_stream_survives_broker_taskmanager_and_jobmanager_kills(cluster: Settings) -> None:
    seed = int(os.environ.get("STARLAB_TEST_SEED", "11"))
    faults = [Fault.parse(f) for f in ("kill-broker@0.2", "kill-tm@0.5", "kill-jm@0.8")]
    opts = RunOptions(events=200_000, rate=1_500, seed=seed, faults=faults, catch_up_timeout_s=600)
    r = run_stream(cluster, opts, progress=print)
    rep = r.report
    for i in r.impacts:  # the table, in the test's output
        recovery = "n/a" if i.recovery_s is None else f"{i.recovery_s:.1f} s"
        print(f"{i.fault}: no committed output for {i.pause_s:.1f} s, recovered in {recovery}")
    assert [i.fault for i in r.impacts] == ["kill-broker", "kill-tm", "kill-jm"], r.faults_done
    assert rep.expected_unique == 200_000
    assert (rep.lost, rep.duplicated, rep.metric_mismatches) == (0, 0, 0)
    assert rep.late_captured == rep.expected_late > 0
    assert r.delivery_failures == 0  # no acknowledged record lost by the producers
    assert rep.ok, rep.to_dict()
