"""Story 3's job values without a process: what keeps runs' Kafka transactions apart."""

from __future__ import annotations

from pathlib import Path

from starlab.settings import Settings
from streaming.job import FlinkJob, JobOptions


def test_each_run_has_its_own_transactional_prefix_and_its_restarts_keep_it(tmp_path: Path) -> None:
    s = Settings(home=tmp_path / "home", data_dir=tmp_path / "data")
    a = FlinkJob(s, JobOptions(group_id="starlab-flink-run-a")).template_values()["txn_prefix"]
    b = FlinkJob(s, JobOptions(group_id="starlab-flink-run-b")).template_values()["txn_prefix"]
    again = FlinkJob(s, JobOptions(group_id="starlab-flink-run-a")).template_values()["txn_prefix"]
    # a shared prefix made every start probe past all ids the earlier runs used
    assert a != b
    assert a == again  # a restart of run a aborts run a's lingering transactions
    assert s.metrics_topic in a
