"""Lag semantics of the exporter: a partition never committed lags by all it holds, never by 0."""

from __future__ import annotations

from starlab.observability.lag import GroupLag, LagCollector


def test_lag_is_end_minus_committed() -> None:
    assert GroupLag("g", "t", 0, committed=70, log_start=0, log_end=100).lag == 30


def test_an_uncommitted_partition_lags_by_everything_retained() -> None:
    assert GroupLag("g", "t", 1, committed=-1, log_start=20, log_end=100).lag == 80


def test_a_committed_offset_past_the_end_is_no_negative_lag() -> None:
    assert GroupLag("g", "t", 0, committed=120, log_start=0, log_end=100).lag == 0


def test_collector_exports_lag_committed_and_end_per_partition() -> None:
    c = LagCollector("127.0.0.1:1")
    c._rows = [
        GroupLag("g", "t", 0, 70, 0, 100),
        GroupLag("g", "t", 1, -1, 0, 5),
        GroupLag("h", "t", 0, 100, 0, 100),
    ]
    fams = {f.name: f for f in c.collect()}
    lag = {
        (s.labels["group"], s.labels["partition"]): s.value
        for s in fams["starlab_kafka_consumergroup_lag"].samples
    }
    assert lag == {("g", "0"): 30, ("g", "1"): 5, ("h", "0"): 0}
    ends = fams["starlab_kafka_topic_end_offset"].samples
    assert sorted((s.labels["partition"], s.value) for s in ends) == [("0", 100), ("1", 5)]
    committed = {
        s.labels["partition"]: s.value for s in fams["starlab_kafka_consumergroup_committed_offset"].samples
    }
    assert committed["1"] == -1
