"""Story 1's claims from a replay result, the human report, and the producer's records per version."""

from __future__ import annotations

import json
from datetime import date

import pytest

from contracts.errors import ContractsError
from contracts.evidence import STORY, claims_from_replay
from contracts.replay.model import (
    ANALYTICS_DAG,
    GATE_DAG,
    Arm,
    ArmResult,
    Breakage,
    ChangeOutcome,
    DagRunRecord,
    Reach,
    ReplayResult,
    TaskRun,
)
from contracts.replay.producer import record_for
from contracts.replay.report import render_human
from contracts.replay.script import ChangeKind, Fill, Surface
from starlab.events.model import Event, schema_str
from starlab.evidence import Status


def _run(dag: str, day: int, runtime: float, *, tries: int = 1, failed: bool = False) -> DagRunRecord:
    return DagRunRecord(
        dag_id=dag,
        run_id=f"manual__{dag}_{day}",
        day=day,
        logical_date=date(2026, 3, 1 + day % 28),
        state="failed" if failed else "success",
        runtime_s=runtime,
        tasks=(TaskRun(task_id="build", state="x", tries=tries),),
    )


def _change(
    cid: str, kind: ChangeKind, landed: int, *, blocked: bool = False, fixes: int = 0
) -> ChangeOutcome:
    return ChangeOutcome(
        change_id=cid,
        kind=kind,
        surface=Surface.APP_DB,
        title=cid,
        opened_day=landed - 2,
        landed_day=landed,
        blocked_by_gate=blocked,
        gate_rules=("AVRO_INCOMPATIBLE",) if blocked else (),
        fix_commits=fixes,
    )


def _arm(arm: Arm, runs: list[DagRunRecord], breakages: int, blocked: bool) -> ArmResult:
    return ArmResult(
        arm=arm,
        quarter_start=date(2026, 3, 2),
        quarter_end=date(2026, 5, 31),
        days_replayed=tuple(sorted({r.day for r in runs})),
        runs=tuple(runs),
        changes=(
            _change("C01", ChangeKind.SAFE, 4),
            _change("B1", ChangeKind.BREAKING, 22, blocked=blocked, fixes=1),
        ),
        breakages=tuple(
            Breakage(change_id="B1", day=22, reach=Reach.DBT_BUILD, task_id="build", detail="stg_items")
            for _ in range(breakages)
        ),
        wall_s=100.0,
        setup_s=30.0,
    )


@pytest.fixture
def result() -> ReplayResult:
    steady = [_run(ANALYTICS_DAG, d, 15.0 + (d % 3)) for d in range(1, 11)]
    without = _arm(Arm.WITHOUT_GATE, [*steady, _run(ANALYTICS_DAG, 22, 60.0, tries=3, failed=True)], 1, False)
    # the pre-deploy check failed once: a page with the gate too
    with_gate = _arm(Arm.WITH_GATE, [*steady, _run(GATE_DAG, 22, 5.0, failed=True)], 0, True)
    return ReplayResult(
        script="quarter.yaml",
        changes=2,
        arms=(without, with_gate),
        wall_s=200.0,
        retry_delay_s=3.0,
        real=("dag.test() runs",),
        simulated=("the calendar",),
    )


def test_claims_take_their_measurements_from_the_replay(result: ReplayResult) -> None:
    claims = {c.metric: c for c in claims_from_replay(result)}
    assert {c.story for c in claims.values()} == {STORY}
    breakages = claims["breakages_per_quarter_with_gate"]
    assert breakages.measured == 0 and breakages.status is Status.PASS
    assert "Without the gate: 1 breakage(s) (B1)" in breakages.method
    variance = claims["dag_runtime_variance_p95_change"]
    assert variance.measured == pytest.approx(result.variance_change_pct)
    assert variance.measured is not None and variance.measured < -35 and variance.status is Status.PASS
    pages = claims["pages_change"]
    # 1 page each: the story's -60% does not hold, and the claim says so
    assert pages.measured == 0.0 and pages.status is Status.FAIL
    lead = claims["lead_time_mean_with_gate"]
    assert lead.measured == pytest.approx(2.0) and lead.status is Status.PASS


def test_an_arm_not_replayed_leaves_its_claims_not_measured(result: ReplayResult) -> None:
    only_without = result.model_copy(update={"arms": result.arms[:1]})
    for claim in claims_from_replay(only_without):
        assert claim.status is Status.NOT_MEASURED, claim.metric


def test_the_human_report_has_both_arms_the_deltas_and_what_was_simulated(result: ReplayResult) -> None:
    text = render_human(result)
    assert "without the gate" in text and "with the gate" in text
    line = next(ln for ln in text.splitlines() if ln.startswith("breakages reaching dbt or a consumer"))
    assert line.split()[-2:] == ["1", "0"]
    assert "B1 broke on day 22, reached a dbt build" in text
    assert "B1 blocked by the CI gate (AVRO_INCOMPATIBLE)" in text
    assert "Simulated:" in text and "the calendar" in text


def _event() -> Event:
    return Event(
        event_id="e1",
        user_id="u1",
        item_id="i1",
        event_type="click",
        event_ts=1,
        ingest_ts=2,
        platform="ios",
        session_id="s1",
    )


def test_the_producer_fills_new_fields_and_drops_removed_ones() -> None:
    schema = json.loads(schema_str())
    fields = [f for f in schema["fields"] if f["name"] != "platform"]
    fields.append({"name": "client_platform", "type": "string"})
    fields.append({"name": "app_version", "type": ["null", "string"], "default": None})
    fields.append({"name": "referrer", "type": ["null", "string"], "default": None})
    schema["fields"] = fields
    fills = {"client_platform": Fill.model_validate({"copy": "platform"}), "app_version": Fill(const="7.4.0")}
    record = record_for(schema, _event(), fills)
    assert "platform" not in record
    assert record["client_platform"] == "ios" and record["app_version"] == "7.4.0"
    assert record["referrer"] is None  # optional and no fill: null


def test_a_required_field_without_a_fill_is_an_error() -> None:
    schema = {"type": "record", "name": "E", "fields": [{"name": "tenant", "type": "string"}]}
    with pytest.raises(ContractsError, match="tenant"):
        record_for(schema, _event(), {})
