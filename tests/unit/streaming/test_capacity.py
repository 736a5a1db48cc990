"""The capacity plan's formulas on hand-computed numbers, its JSON file, and the document it renders."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from streaming.capacity import (
    FACTORS,
    Assumptions,
    Measured,
    human_bytes,
    human_count,
    plan,
    plans,
    render_markdown,
)
from streaming.errors import StreamConfigError, StreamError


def measured(**changes: object) -> Measured:
    # Round numbers so every expected size below can be checked by hand:
    # 5,000 events/s per core, 100 B per event, 100 B per key, 1 MB/s of checkpoint per slot,
    # 1,000 B per Redis key, 1 MB/s into one partition.
    base = Measured(
        cores=2,
        events_per_s=10_000.0,
        cluster_events_per_s=6_000.0,
        event_bytes=100.0,
        live_keys=1_000,
        state_bytes=100_000,
        checkpoint_ms=1_000.0,
        checkpointed_bytes=2_000_000,
        redis_feature_keys=1_000,
        redis_bytes=1_000_000,
        partition_bytes_per_s=1_000_000.0,
        partition_events_per_s=10_000.0,
        demo_events_per_s=1_000.0,
        demo_feature_keys=1_000,
        state_ttl_s=3_600.0,
        measured_at="2025-01-02T03:04:05Z",
        host="test box, 2 cores",
        git_commit="0123abc",
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


HALF = Assumptions(headroom=0.5)


def test_the_derived_units_are_ratios_of_the_same_run() -> None:
    m = measured()
    assert m.events_per_s_per_core == 5_000
    assert m.state_bytes_per_key == 100
    assert m.checkpoint_bytes_per_s == 2_000_000
    assert m.checkpoint_bytes_per_s_per_slot == 1_000_000
    assert m.redis_bytes_per_key == 1_000
    assert m.cluster_ratio == 0.6
    assert measured(cluster_events_per_s=None).cluster_ratio is None


@pytest.mark.parametrize(
    ("factor", "slots", "taskmanagers"),
    [(1, 1, 1), (3, 2, 1), (5, 2, 1), (10, 4, 1), (11, 5, 2)],
)
def test_slots_are_the_rate_over_per_core_throughput_at_headroom(
    factor: int, slots: int, taskmanagers: int
) -> None:
    # 1,000/s x factor over 5,000/s per core x 0.5: 5x is exactly 2 slots, not 3 from float noise
    p = plan(measured(), HALF, factor)
    assert p.events_per_s == 1_000 * factor
    assert p.flink_slots == slots
    assert p.flink_taskmanagers == taskmanagers  # 4 slots per TaskManager


def test_partitions_are_at_least_the_slots_and_otherwise_follow_the_bytes() -> None:
    # 10x: 1 MB/s in, 1 MB/s per partition at 0.5 -> 2 by throughput, but 4 source slots
    p = plan(measured(), HALF, 10)
    assert (p.kafka_partitions, p.kafka_partitions_by) == (4, "source parallelism")
    # 1,000 B events: 10 MB/s in -> 20 partitions by throughput, more than the 4 slots
    big = plan(measured(event_bytes=1_000.0), HALF, 10)
    assert big.input_bytes_per_s == 10_000_000
    assert (big.kafka_partitions, big.kafka_partitions_by) == (20, "throughput")


def test_brokers_never_drop_below_the_replication_factor() -> None:
    for factor in FACTORS[:3]:
        p = plan(measured(), HALF, factor)
        assert p.kafka_brokers == 3
        assert p.kafka_brokers_by == "replication factor"
    assert plan(measured(), dataclasses.replace(HALF, replication_factor=5), 1).kafka_brokers == 5


def test_brokers_grow_with_the_write_budget_and_with_the_partition_count() -> None:
    # 10x: 1 MB/s in, x3 replicas, over 1 MB/s per broker at 0.5 -> 6
    by_write = plan(measured(), dataclasses.replace(HALF, broker_write_bytes_per_s=1e6), 10)
    assert (by_write.kafka_brokers, by_write.kafka_brokers_by) == (6, "write budget")
    # 20 partitions x 3 replicas over 5 per broker -> 12
    by_count = plan(measured(event_bytes=1_000.0), dataclasses.replace(HALF, max_partitions_per_broker=5), 10)
    assert (by_count.kafka_brokers, by_count.kafka_brokers_by) == (12, "partitions per broker")


def test_kafka_disk_is_retention_times_input_times_replicas() -> None:
    p = plan(measured(), HALF, 10)
    assert p.kafka_disk_bytes == pytest.approx(1_000_000 * 24 * 3600 * 3)
    assert p.kafka_volume_bytes == pytest.approx(p.kafka_disk_bytes / 3 / 0.5)


def test_state_is_one_ttl_of_keys_and_scales_linearly_with_the_factor() -> None:
    one = plan(measured(), HALF, 1)
    assert one.live_keys == 3_600_000  # 1,000/s for 3,600 s
    assert one.state_bytes_total == pytest.approx(360_000_000)  # x 100 B per key
    for factor in (10, 100, 1000):
        p = plan(measured(), HALF, factor)
        assert p.state_bytes_total == pytest.approx(one.state_bytes_total * factor)


def test_the_checkpoint_estimate_is_a_slots_state_over_a_slots_upload_rate() -> None:
    p = plan(measured(), HALF, 10)
    # 36 million keys x 100 B over 4 slots = 900 MB per slot, at 1 MB/s per slot
    assert p.state_bytes_per_slot == pytest.approx(900_000_000)
    assert p.checkpoint_s_estimate == pytest.approx(900)


def test_redis_keeps_three_shards_until_the_memory_passes_the_shard_ceiling() -> None:
    # 1,000 keys x factor x 1,000 B x 1.3 overhead
    small = plan(measured(), HALF, 1000)
    assert small.redis_bytes == pytest.approx(1.3e9)
    assert (small.redis_shards, small.redis_nodes) == (3, 6)
    capped = plan(measured(), dataclasses.replace(HALF, redis_max_bytes_per_shard=1e8), 1000)
    assert capped.redis_shards == 13
    assert capped.redis_nodes == 26  # one replica each
    assert capped.redis_maxmemory_bytes == pytest.approx(1.3e9 / 13 / 0.5)


def test_more_slots_than_the_max_parallelism_is_a_warning() -> None:
    assert plan(measured(), HALF, 100).warnings == ()  # 40 slots
    p = plan(measured(), HALF, 1000)  # 400 slots
    assert len(p.warnings) == 1
    assert "pipeline.max-parallelism 128" in p.warnings[0]


def test_each_plan_shows_its_formulas_with_the_numbers() -> None:
    formulas = dict(plan(measured(), HALF, 10).formulas)
    assert formulas["flink_slots"] == "ceil(10,000 / (5,000 * 0.5)) = 4"
    assert formulas["kafka_partitions"] == "max(ceil(1,000,000 / (1,000,000 * 0.5)), 4) = 4"


@pytest.mark.parametrize(
    "change",
    [
        {"events_per_s": 0.0},
        {"partition_bytes_per_s": -1.0},
        {"checkpointed_bytes": 0},
        {"cluster_events_per_s": 0.0},
        {"cores": 0},
    ],
)
def test_a_non_positive_measurement_is_refused(change: dict[str, object]) -> None:
    name = next(iter(change))
    with pytest.raises(StreamConfigError, match=f"'{name}' must be > 0"):
        measured(**change)


@pytest.mark.parametrize("factor", [0, -10])
def test_a_factor_below_one_is_refused(factor: int) -> None:
    with pytest.raises(StreamConfigError, match="scale factor"):
        plan(measured(), HALF, factor)


def test_an_assumption_out_of_range_is_refused() -> None:
    with pytest.raises(StreamConfigError, match="headroom"):
        Assumptions(headroom=0.0)
    with pytest.raises(StreamConfigError, match="redis_overhead_factor"):
        Assumptions(redis_overhead_factor=0.9)


def test_measurements_round_trip_through_json(tmp_path: Path) -> None:
    m = measured()
    assert Measured.from_json(m.to_json()) == m
    none = measured(cluster_events_per_s=None)
    path = tmp_path / "capacity" / "measured.json"
    none.save(path)
    assert Measured.load(path) == none
    assert json.loads(path.read_text())["cluster_events_per_s"] is None


def _bad(tmp_path: Path, edit: dict[str, object], drop: str | None = None) -> str:
    raw = json.loads(measured().to_json())
    raw.update(edit)
    if drop:
        del raw[drop]
    path = tmp_path / "measured.json"
    path.write_text(json.dumps(raw))
    with pytest.raises(StreamConfigError) as e:
        Measured.load(path)
    message = str(e.value)
    assert str(path) in message
    assert "\n" not in message
    return message


def test_a_missing_field_names_the_file_and_the_field(tmp_path: Path) -> None:
    assert "'event_bytes' is missing" in _bad(tmp_path, {}, drop="event_bytes")


def test_a_field_of_the_wrong_type_names_the_file_and_the_field(tmp_path: Path) -> None:
    assert "'live_keys' must be an integer" in _bad(tmp_path, {"live_keys": "many"})
    assert "'events_per_s' must be a number" in _bad(tmp_path, {"events_per_s": True})
    assert "'host' must be a non-empty string" in _bad(tmp_path, {"host": ""})


def test_a_zero_throughput_in_the_file_names_the_file_and_the_field(tmp_path: Path) -> None:
    assert "'partition_bytes_per_s' must be > 0" in _bad(tmp_path, {"partition_bytes_per_s": 0})


def test_an_unknown_field_is_refused_rather_than_dropped(tmp_path: Path) -> None:
    assert "unknown field 'event_byte'" in _bad(tmp_path, {"event_byte": 1.0})


def test_a_file_that_is_not_json_or_not_there_is_one_terminal_line(tmp_path: Path) -> None:
    path = tmp_path / "measured.json"
    path.write_text("{not json")
    with pytest.raises(StreamConfigError, match="not JSON"):
        Measured.load(path)
    with pytest.raises(StreamError, match="cannot read"):
        Measured.load(tmp_path / "absent.json")


def test_numbers_are_humanized() -> None:
    assert human_bytes(12_345_678) == "12.3 MB"
    assert human_bytes(1.2e9) == "1.2 GB"
    assert human_bytes(450_000) == "450 kB"
    assert human_bytes(85) == "85 B"
    assert human_count(45_000) == "45,000"
    assert human_count(9e9) == "9.0 billion"


def _doc(m: Measured | None = None) -> str:
    m = m or measured()
    return render_markdown(m, HALF, plans(m, HALF), measurements_file="docs/scaling.json")


def _section(doc: str, title: str) -> str:
    return doc.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]


def test_the_sizes_table_has_a_column_per_factor() -> None:
    header = _section(_doc(), "Sizes").strip().splitlines()[0]
    assert header == "|  | 1x (demo) | 10x | 100x | 1,000x |"


def test_every_measured_figure_is_in_the_document_with_its_value() -> None:
    measured_table = _section(_doc(), "Measured on this machine")
    for f in dataclasses.fields(Measured):
        if f.name not in ("measured_at", "host", "git_commit"):
            assert f"(`{f.name}`)" in measured_table, f.name
    assert "| 100,000 (100 kB) | bytes |" in measured_table  # state_bytes, exact and humanized
    doc = _doc()
    assert "2025-01-02T03:04:05Z" in doc
    assert "`0123abc`" in doc


def test_measured_and_extrapolated_figures_are_told_apart() -> None:
    rows = {
        line.split(" | ")[0].strip("| "): line.split(" | ")[1]
        for line in _section(_doc(), "Measured vs extrapolated").strip().splitlines()[2:]
    }
    assert rows["`events_per_s`"] == "measured"
    assert rows["`state_bytes_per_key`"] == "measured (ratio)"
    assert rows["`demo_events_per_s`"] == "configured"
    assert rows["`broker_write_bytes_per_s`"] == "assumed"
    assert rows["Kafka brokers"].startswith("extrapolated")
    assert rows["Flink state, total"].startswith("extrapolated")
    extrapolated = [k for k, v in rows.items() if v.startswith("extrapolated")]
    sizes = _section(_doc(), "Sizes").strip().splitlines()[2:]
    assert len(extrapolated) == len([r for r in sizes if r.startswith("| ")])


def test_a_cluster_figure_not_measured_is_said_so() -> None:
    doc = _doc(measured(cluster_events_per_s=None))
    assert "| `cluster_events_per_s` | not measured |" in doc
    assert "cluster_ratio" not in doc


def test_the_document_covers_kubernetes_limits_and_the_parallelism_warning() -> None:
    doc = _doc()
    k8s = _section(doc, "On Kubernetes")
    for name in (
        *("FlinkDeployment", "FlinkSessionJob", "upgradeMode: savepoint", "autoscaler"),
        *("KafkaNodePool", "KafkaTopic", "KRaft", "RedisCluster", "clusterSize", "redis-cluster"),
    ):
        assert name in k8s, name
    assert "| KafkaTopic `spec.partitions` | 1 | 4 | 40 | 400 |" in k8s
    assert "pipeline.max-parallelism 128" in _section(doc, "Sizes")
    assert "Hot keys" in _section(doc, "Limits of this plan")


def test_rendering_is_deterministic_and_refuses_no_plans() -> None:
    assert _doc() == _doc()
    with pytest.raises(StreamConfigError):
        render_markdown(measured(), HALF, [])
