"""The replay's arithmetic: p95, per-run runtime variance, retries and pages from recorded runs."""

from __future__ import annotations

from datetime import date

import pytest

from contracts.replay import metrics
from contracts.replay.model import (
    ANALYTICS_DAG,
    GATE_DAG,
    Arm,
    ArmResult,
    ChangeOutcome,
    DagRunRecord,
    ReplayResult,
    TaskRun,
)
from contracts.replay.script import ChangeKind, Surface


def run(
    dag: str, runtime: float, *, tries: tuple[int, ...] = (1, 1), failed: bool = False, day: int = 1
) -> DagRunRecord:
    return DagRunRecord(
        dag_id=dag,
        run_id=f"manual__{dag}_{day}_{runtime}",
        day=day,
        logical_date=date(2026, 3, day),
        state="failed" if failed else "success",
        runtime_s=runtime,
        tasks=tuple(TaskRun(task_id=f"t{i}", state="x", tries=t) for i, t in enumerate(tries)),
    )


def test_percentile_interpolates_between_order_statistics() -> None:
    values = [float(v) for v in range(1, 11)]  # 1..10
    assert metrics.percentile(values, 50) == pytest.approx(5.5)
    assert metrics.p95(values) == pytest.approx(9.55)  # 9 + 0.55 x (10 - 9)
    assert metrics.percentile([7.0], 95) == 7.0
    assert metrics.p95([]) is None
    with pytest.raises(ValueError):
        metrics.percentile(values, 101)


def test_runtime_variance_is_the_squared_deviation_from_the_same_dags_median() -> None:
    runs = [run(ANALYTICS_DAG, r) for r in (10.0, 12.0, 14.0)] + [run(GATE_DAG, r) for r in (3.0, 5.0)]
    # analytics median 12 -> 4, 0, 4; gate median 4 -> 1, 1
    assert sorted(metrics.runtime_variances(runs)) == [0.0, 1.0, 1.0, 4.0, 4.0]


def test_a_retried_run_dominates_the_p95_of_the_variance() -> None:
    steady = [run(ANALYTICS_DAG, 12.0 + d) for d in (-1, 0, 1, 0, -1, 1, 0, 0, 1, -1)]
    retried = [*steady, run(ANALYTICS_DAG, 42.0, tries=(3, 1), failed=True)]
    assert metrics.runtime_variance_p95(steady) == pytest.approx(1.0)
    assert metrics.runtime_variance_p95(retried) == pytest.approx(
        1.0 + 0.5 * (900.0 - 1.0)
    )  # between 1 and 30^2
    assert metrics.runtime_deviation_p95(steady) == pytest.approx(1.0)


def test_pages_are_runs_failed_after_their_retries_and_retries_count_extra_attempts() -> None:
    runs = [
        run(ANALYTICS_DAG, 10, tries=(1, 3, 0), failed=True),  # one task retried twice, one upstream_failed
        run(ANALYTICS_DAG, 10, tries=(2, 1)),  # a retry that succeeded: no page
        run(GATE_DAG, 3, tries=(1, 1), failed=True),  # failed at once (no retry): a page
    ]
    assert metrics.retries(runs) == 3
    assert metrics.failed_runs(runs) == 2
    assert metrics.pages(runs) == 2


def test_percent_change() -> None:
    assert metrics.percent_change(4.0, 1.0) == pytest.approx(-75.0)
    assert metrics.percent_change(10.0, 10.0) == 0.0
    assert metrics.percent_change(0.0, 3.0) is None  # no baseline, no percentage
    assert metrics.percent_change(None, 1.0) is None


def _arm(arm: Arm, runs: list[DagRunRecord], landed: tuple[int | None, ...]) -> ArmResult:
    changes = tuple(
        ChangeOutcome(
            change_id=f"C{i}",
            kind=ChangeKind.SAFE,
            surface=Surface.DBT,
            title="t",
            opened_day=10,
            landed_day=day,
            blocked_by_gate=arm is Arm.WITH_GATE and i == 0,
            fix_commits=1 if i == 0 else 0,
        )
        for i, day in enumerate(landed)
    )
    return ArmResult(
        arm=arm,
        quarter_start=date(2026, 3, 2),
        quarter_end=date(2026, 5, 31),
        days_replayed=tuple(sorted({r.day for r in runs})),
        runs=tuple(runs),
        changes=changes,
        breakages=(),
        wall_s=1.0,
        setup_s=0.5,
    )


def test_arm_and_comparison_figures_come_from_the_runs() -> None:
    without = _arm(
        Arm.WITHOUT_GATE,
        [run(ANALYTICS_DAG, 10, day=1), run(ANALYTICS_DAG, 40, tries=(3,), failed=True, day=2)],
        (12, 11, None),
    )
    with_gate = _arm(
        Arm.WITH_GATE,
        [run(GATE_DAG, 3, day=1), run(ANALYTICS_DAG, 10, day=1), run(GATE_DAG, 3, failed=True, day=2)],
        (13, 12),
    )
    assert without.pages == 1 and without.retries == 2
    assert without.lead_time_mean_days == pytest.approx(1.5)  # (2 + 1) / 2; a change that never landed is out
    assert with_gate.blocked == 1 and with_gate.fix_commits == 1
    assert with_gate.held_runs == 1  # day 2: the pre-deploy check failed, analytics did not run
    result = ReplayResult(
        script="s.yaml",
        changes=3,
        arms=(without, with_gate),
        wall_s=2.0,
        retry_delay_s=3.0,
        real=(),
        simulated=(),
    )
    assert result.pages_change_pct == 0.0  # 1 page each
    assert result.retries_change_pct == pytest.approx(-100.0)
    assert result.variance_change_pct == pytest.approx(-100.0)  # (40-25)^2 -> one run, no spread
