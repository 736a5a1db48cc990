"""Typed results of the replayed quarter: DAG runs, breakages, changes, per arm and compared.

Backs story 1's results, each computed from what the replay recorded (never
typed in): breakages per quarter (4 -> 0), p95 DAG runtime variance (-35%),
on-call pages (-60%), and the friction the gate adds (changes blocked, fix
commits, lead time ~2 days). The models are pydantic because the replay runs
in an Airflow child process and hands its result to the CLI as JSON; the
metrics are properties, derived from the recorded runs, so a figure cannot
drift from the runs it summarizes.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from contracts.replay import metrics
from contracts.replay.script import ChangeKind, Surface

ANALYTICS_DAG = "analytics_daily"
GATE_DAG = "contract_gate"


class Arm(StrEnum):
    WITHOUT_GATE = "without_gate"
    """Before the story's change: no CI gate, no pre-deploy check, the registry judges nothing."""
    WITH_GATE = "with_gate"
    """The story's change: subjects under their modes, the CI gate on every commit, the
    `contract_gate` DAG before every deploy."""

    @property
    def label(self) -> str:
        return "without the gate" if self is Arm.WITHOUT_GATE else "with the gate"

    @property
    def meaning(self) -> str:
        if self is Arm.WITHOUT_GATE:
            return (
                "no CI gate, no pre-deploy check, subjects at NONE (the registry stores schemas but judges "
                "none): a change deploys when its review is done"
            )
        return (
            "subjects under their modes from contracts/subjects.yaml, `run_gate` on every pull request's "
            "commit (exit 1 blocks it until a fix commit passes), the contract_gate DAG before every deploy"
        )


class Reach(StrEnum):
    """How far a breaking change got before something stopped it."""

    DBT_BUILD = "dbt build"
    """A model failed to build."""
    DBT_TEST = "dbt test"
    """A data or unit test failed."""
    CONSUMER = "consumer"
    """A reader of a topic or table failed (the stream job's pinned reader, the Sales report)."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TaskRun(_Frozen):
    task_id: str
    state: str
    tries: int
    """Attempts made (Airflow's try_number): 1 = no retry."""


class Failure(_Frozen):
    """Why a run failed, as its failing task recorded it."""

    task_id: str
    reach: Reach | None
    """None: the pre-deploy check, or a failure that is not a contract breakage."""
    detail: str
    findings: tuple[str, ...] = ()
    """The pre-deploy check's findings, one line each (empty for other failures)."""


class DagRunRecord(_Frozen):
    dag_id: str
    run_id: str
    day: int
    logical_date: date
    state: str
    runtime_s: float
    """Wall time of the whole run: every attempt and every retry wait (real seconds)."""
    tasks: tuple[TaskRun, ...]
    failure: Failure | None = None

    @property
    def failed(self) -> bool:
        return self.state == "failed"

    @property
    def retries(self) -> int:
        return sum(max(0, t.tries - 1) for t in self.tasks)


class GateRun(_Frozen):
    """One CI gate run (`run_gate`) on a change's commit in the scratch repository."""

    change_id: str
    day: int
    commit: str
    exit_code: int
    rules: tuple[str, ...]
    wall_s: float
    fix: bool
    """True for the run on the fix commit."""


class Breakage(_Frozen):
    """A change that reached a dbt build or test, or a consumer, in production."""

    change_id: str
    day: int
    reach: Reach
    task_id: str
    detail: str


class ChangeOutcome(_Frozen):
    change_id: str
    kind: ChangeKind
    surface: Surface
    title: str
    opened_day: int
    landed_day: int | None
    """Day the change (or its fix) reached production; None if it never did in the quarter."""
    blocked_by_gate: bool = False
    gate_rules: tuple[str, ...] = ()
    caught_before_deploy: bool = False
    """Stopped by the `contract_gate` DAG: live data broke a contract the CI gate cannot see."""
    broke: Reach | None = None
    fix_commits: int = 0

    @property
    def lead_time_days(self) -> int | None:
        return None if self.landed_day is None else self.landed_day - self.opened_day


class ArmResult(_Frozen):
    arm: Arm
    quarter_start: date
    quarter_end: date
    days_replayed: tuple[int, ...]
    runs: tuple[DagRunRecord, ...]
    changes: tuple[ChangeOutcome, ...]
    breakages: tuple[Breakage, ...]
    gate_runs: tuple[GateRun, ...] = ()
    events_lost: int = 0
    """Events the stream consumer skipped to recover from an unreadable producer change."""
    wall_s: float
    setup_s: float

    def runs_of(self, dag_id: str) -> tuple[DagRunRecord, ...]:
        return tuple(r for r in self.runs if r.dag_id == dag_id)

    @property
    def analytics_runs(self) -> tuple[DagRunRecord, ...]:
        return self.runs_of(ANALYTICS_DAG)

    @property
    def failed_runs(self) -> int:
        return metrics.failed_runs(self.runs)

    @property
    def retries(self) -> int:
        return metrics.retries(self.runs)

    @property
    def pages(self) -> int:
        return metrics.pages(self.runs)

    @property
    def runtime_variance_p95_s2(self) -> float | None:
        """p95 of (runtime - median)^2 over the downstream DAG's runs (the DAG both arms run)."""
        return metrics.runtime_variance_p95(self.analytics_runs)

    @property
    def runtime_deviation_p95_s(self) -> float | None:
        return metrics.runtime_deviation_p95(self.analytics_runs)

    @property
    def blocked(self) -> int:
        return sum(1 for c in self.changes if c.blocked_by_gate)

    @property
    def caught_before_deploy(self) -> int:
        return sum(1 for c in self.changes if c.caught_before_deploy)

    @property
    def fix_commits(self) -> int:
        return sum(c.fix_commits for c in self.changes)

    @property
    def lead_time_mean_days(self) -> float | None:
        return metrics.mean([float(t) for c in self.changes if (t := c.lead_time_days) is not None])

    @property
    def held_runs(self) -> int:
        """Days the downstream DAG did not run because the pre-deploy check failed."""
        gate_failed = {r.day for r in self.runs_of(GATE_DAG) if r.failed}
        ran = {r.day for r in self.analytics_runs}
        return len(gate_failed - ran)


class ReplayResult(_Frozen):
    """Both arms of one replay, and what was real and what was simulated."""

    script: str
    changes: int
    arms: tuple[ArmResult, ...]
    wall_s: float
    retry_delay_s: float
    real: tuple[str, ...]
    simulated: tuple[str, ...]
    cores: int = 0
    arms_at_once: bool = False
    """The arms played side by side (one process each): their runtimes shared the same machine."""
    load_1m: tuple[float, float] = (0.0, 0.0)
    """The machine's 1-minute load average when the replay started and ended: runtimes are wall
    seconds on a shared machine, and this says how shared it was."""

    def arm(self, arm: Arm) -> ArmResult | None:
        return next((a for a in self.arms if a.arm is arm), None)

    @property
    def without(self) -> ArmResult | None:
        return self.arm(Arm.WITHOUT_GATE)

    @property
    def with_gate(self) -> ArmResult | None:
        return self.arm(Arm.WITH_GATE)

    def _pair(self) -> tuple[ArmResult, ArmResult] | None:
        a, b = self.without, self.with_gate
        return (a, b) if a is not None and b is not None else None

    @property
    def variance_change_pct(self) -> float | None:
        pair = self._pair()
        return None if pair is None else metrics.percent_change(*(a.runtime_variance_p95_s2 for a in pair))

    @property
    def pages_change_pct(self) -> float | None:
        pair = self._pair()
        return None if pair is None else metrics.percent_change(*(float(a.pages) for a in pair))

    @property
    def retries_change_pct(self) -> float | None:
        pair = self._pair()
        return None if pair is None else metrics.percent_change(*(float(a.retries) for a in pair))


__all__ = [
    "ANALYTICS_DAG",
    "GATE_DAG",
    "Arm",
    "ArmResult",
    "Breakage",
    "ChangeOutcome",
    "DagRunRecord",
    "Failure",
    "GateRun",
    "Reach",
    "ReplayResult",
    "TaskRun",
]
