"""Bench rates from checkpoint steps, and the throughput claims built from them."""

from __future__ import annotations

import pytest

from streaming.bench.run import BEFORE_PROFILE, BenchResult, CommittedProgress, Throughput, rates
from streaming.errors import BenchError
from streaming.evidence import claims_from_bench


def test_whole_run_and_second_half_rates() -> None:
    # 10 s of warm-up at 1,000/s, then 4,000/s: the second half shows the steady rate.
    steps = [(0.0, 1_000), (10.0, 11_000), (15.0, 31_000), (20.0, 51_000), (25.0, 71_000)]
    r = rates(steps, records=80_000)
    assert r.events_per_s == pytest.approx(70_000 / 25)
    assert r.steady_events_per_s == pytest.approx((71_000 - 51_000) / 5)
    assert r.checkpoints == 5


def test_a_second_half_in_one_step_falls_back_to_the_whole_run() -> None:
    r = rates([(0.0, 1_000), (5.0, 2_000), (10.0, 9_000)], records=10_000)
    assert r.steady_events_per_s == r.events_per_s


def test_too_few_steps_is_an_error() -> None:
    with pytest.raises(BenchError, match="use more events"):
        rates([(0.0, 1), (1.0, 2)], records=10)


def _bench(steady: float, cluster: Throughput | None, before: Throughput | None = None) -> BenchResult:
    return BenchResult(
        1_000_000, 20_000, 100_000, 6_000, 3_000, 5_000, 50_000, cores=2,
        flink_steady_events_per_s=steady, cluster=cluster, before_profile=before,
    )  # fmt: skip


def test_the_40k_claim_reads_the_steady_rate_and_names_the_cluster_figure() -> None:
    claims = {c.metric: c for c in claims_from_bench(_bench(41_000, Throughput(9_000, 12_000, 9)), "x")}
    c = claims["flink_steady_events_per_s"]
    assert (c.claimed, c.measured, c.passed) == (40_000, 41_000, True)
    assert "20,500 events/s per core" in c.method and "12,000" in c.method
    low = {c.metric: c for c in claims_from_bench(_bench(30_000, None), "x")}
    assert low["flink_steady_events_per_s"].passed is False


def test_the_before_profile_run_gives_the_gain_of_one_run() -> None:
    r = _bench(45_000, None, before=Throughput(12_000, 15_000, 12))
    assert r.profile_gain == pytest.approx(3.0)
    c = {c.metric: c for c in claims_from_bench(r, "x")}["flink_steady_events_per_s"]
    assert "15,000 events/s in the same run (3.00x)" in c.method
    assert _bench(45_000, None).profile_gain is None
    assert "before profiling" not in claims_from_bench(_bench(45_000, None), "x")[2].method


def test_the_before_profile_run_undoes_the_profile_changes_of_the_mini_cluster() -> None:
    from starlab.flink.job_main import JobConfig, flink_settings

    conf = dict(BEFORE_PROFILE)
    assert set(conf) == {
        "state.backend.rocksdb.use-bloom-filter",
        "state.backend.rocksdb.predefined-options",
        "taskmanager.memory.managed.size",
    }
    # Each is a setting the job really has, with a different value: the override changes something.
    now = flink_settings(JobConfig(name="j", pipeline_name="p", sql_dir="/sql", values={}))
    for key, before in conf.items():
        assert key in now and now[key] != before


def test_committed_progress_steps_once_per_commit_and_drops_the_idle_end() -> None:
    lags = iter([RuntimeError("no offsets yet"), 100, 90, 90, 60, 30, 30, 0])

    def lag() -> int:
        value = next(lags)
        if isinstance(value, Exception):
            raise value
        return value

    done = CommittedProgress(records=100, lag=lag)
    moved = [done.poll() for _ in range(8)]
    # nothing committed, then 0 done (no step), 10, same, 40, 70, same, 100
    assert moved == [False, False, True, False, True, True, False, True]
    assert [d for _, d in done.steps] == [10, 40, 70, 100] and done.finished
    done.steps = [(5.0 * i, d) for i, (_, d) in enumerate(done.steps)]  # one checkpoint per 5 s
    r = done.throughput()
    assert r.checkpoints == 3  # the step that reached the end (an idle tail) is left out
    assert r.events_per_s == pytest.approx(60 / 10)
