"""The replay's Airflow process: plays the quarter day by day in each arm and runs the real DAGs.

Backs story 1's results (breakages 4 -> 0, runtime variance, pages, lead
time). It runs as a child process of `starlab contracts replay` with
`AIRFLOW_HOME` set (Airflow reads its configuration at import): by default
one child per arm, both at once, each on its own copy of the metadata DB;
or one child playing the arms in turn (`replay_parallel_arms` off), which
amortizes Airflow's import over every `dag.test()` of both.

Per arm: a private world (contracts/replay/world.py; both arms' worlds
start at once, before anything is measured), a scratch repository
(contracts/replay/repo.py), the script's days of event history and day 0's
DAG runs (the first, full build; not measured, they also warm the process
up); then, for every day with a scheduled action, in this order:

1. the day's actions: pull requests opened (with the gate, CI runs `run_gate`
   on each commit against its merge base, two at a time as CI runners would:
   exit 1 blocks it, and its fix commit comes `after_days` later), fix
   commits, incident fixes (revert + fix after a page, without the gate; or
   after the pre-deploy check failed), merges into main; a merge deploys the
   app team's part at once (migrations into PostgreSQL, the producer's
   schema version). A day on which nothing reaches production (only pull
   requests opened) stops here;
2. the app's traffic: a few updates per table through Debezium and the CDC
   bridge, and the day's engagement events from the producer;
3. with the gate, the `contract_gate` DAG on the merged contracts and the
   deployed manifest; if it fails, the deploy is held and analytics does
   not run that day;
4. main is exported as the deployed tree and `analytics_daily` runs on it.

A failed run is attributed to the changes deployed since the last good day
(a non-safe one first); its fix is scheduled `after_days` later (at least
the next day). Usage: python -m contracts.replay.runner REQUEST.json RESULT.json
"""

from __future__ import annotations

import importlib.util
import os
import sys
import time
import traceback
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

from contracts.errors import BadContractInput
from contracts.replay import pipeline
from contracts.replay.model import (
    ANALYTICS_DAG,
    GATE_DAG,
    Arm,
    ArmResult,
    Breakage,
    ChangeOutcome,
    DagRunRecord,
    Failure,
    GateRun,
    Reach,
    ReplayResult,
    TaskRun,
)
from contracts.replay.repo import EditContext, ScratchRepo, change_request
from contracts.replay.script import EVENTS_SUBJECT, Change, ChangeKind, Edits, Script, Surface, load_script
from contracts.replay.timeline import Action, Agenda, Timeline
from contracts.replay.world import TRAFFIC_ROWS, World, settings_env
from contracts.settings import ContractsSettings
from starlab.errors import StarlabError
from starlab.settings import ROOT, Settings

if TYPE_CHECKING:  # Airflow is imported by the DAG files, when they load
    from airflow.sdk import DAG

PRODUCTION_RETRY_DELAY_S = float(ContractsSettings.model_fields["dag_retry_delay_s"].default)
PROGRESS = "PROGRESS "
GATE_WORKERS = 2
"""CI runs at most two pull requests' gates at once (one per core of the target machine)."""
DEPLOYING = frozenset({Action.LAND, Action.INCIDENT_FIX, Action.QUIET})
"""Actions after which production differs (or the day is a quiet baseline day): the DAGs run."""
"""Prefix of the lines the parent forwards to the user."""


class RunnerRequest(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    script: str
    arms: tuple[Arm, ...]
    work_dir: str
    tag: str
    keep: bool = False


class RunnerResult(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    result: ReplayResult | None = None
    error: str | None = None


REAL = (
    "every change applied: SQL migrations in a private PostgreSQL 15, captured by Debezium in Kafka "
    "Connect and re-encoded to Avro by the CDC bridge into the lake; Avro versions the producer "
    "registers and writes with; edits of a copy of dbt_project/",
    "git: each change a commit on a branch of a scratch repository, merged into main; with the gate, "
    "`run_gate` (the Avro modes, dbt's own state:modified contract check) on every commit",
    "the registry, Kafka topics, the lake and the DuckDB warehouse of each arm",
    "every DAG run: dag.test() of contract_gate and analytics_daily in Airflow 3 with its metadata DB, "
    "dbt builds and tests, retries and their waits; runtimes are wall-clock seconds",
)


def simulated(cfg: ContractsSettings) -> tuple[str, ...]:
    return (
        "the calendar: replayed days are the logical dates of their quarter, run back to back; days "
        "without a change are skipped except the script's quiet days",
        "review and fix times (review_days, after_days) and so the lead times, in days, from the script",
        f"the retry delay: {cfg.dag_retry_delay_s:g} s instead of production's "
        f"{PRODUCTION_RETRY_DELAY_S:g} s (the wait is real and inside each run's runtime)",
        "story 3's Flink job: analytics_daily's stream_consumer decodes with the job's pinned schema (v1) "
        "and lands the events, instead of running Flink",
        f"the app's traffic: {TRAFFIC_ROWS} no-op updates per table and {cfg.replay_events_per_day} "
        "generated events per replayed day",
        "on-call: after a page (or a failed pre-deploy check) the script's fix lands after_days later, at "
        "least the next day",
    )


def progress(message: str) -> None:
    print(PROGRESS + message, flush=True)


def _load_dag(name: str) -> DAG:
    path = ROOT / "dags" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"{name}_replay", path)
    if spec is None or spec.loader is None:
        raise BadContractInput(f"cannot load {path}")
    module: ModuleType = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    dag: DAG = getattr(module, f"{name}_dag")
    return dag


@dataclass
class ChangeState:
    change: Change
    branch: str = ""
    commit: str = ""
    blocked: bool = False
    rules: tuple[str, ...] = ()
    landed_day: int | None = None
    caught: bool = False
    broke: Reach | None = None
    failed_day: int | None = None
    incident_scheduled: bool = False
    fix_commits: int = 0


@dataclass
class ArmRun:
    """One arm of the replay."""

    base: Settings
    cfg: ContractsSettings
    script: Script
    arm: Arm
    root: Path
    tag: str
    keep: bool
    dags: dict[str, DAG]
    runs: list[DagRunRecord] = field(default_factory=list)
    gate_runs: list[GateRun] = field(default_factory=list)
    breakages: list[Breakage] = field(default_factory=list)
    days: list[int] = field(default_factory=list)
    suspects: list[str] = field(default_factory=list)
    events_lost: int = 0

    @property
    def gated(self) -> bool:
        return self.arm is Arm.WITH_GATE

    def __post_init__(self) -> None:
        quarter = Timeline(self.script.quarter_start, self.script.days)
        self.timeline = quarter.following() if self.gated else quarter
        self.world = World(self.base, self.script, self.root, self.tag, judged=self.gated)
        self.states = {c.id: ChangeState(c) for c in self.script.changes}
        self.fills = self.script.fills()
        self.world_s = 0.0

    def start_world(self) -> None:
        """PostgreSQL, Debezium, topics and subjects (thread-safe: both arms start theirs at once)."""
        t0 = time.monotonic()
        progress(f"{self.arm.label}: starting PostgreSQL, Debezium and the arm's topics")
        self.world.start()
        self.world_s = time.monotonic() - t0

    def run(self) -> ArmResult:
        """Replay the quarter on the started world; the world is stopped at the end."""
        t0 = time.monotonic()
        try:
            self._env(self.world.settings)
            self.settings = Settings()
            self.repo = ScratchRepo.create(self.root / "repo")
            self.deployed = self.root / "deployed"
            self.repo.export(self.deployed)
            self._producer_schema()
            self._history()
            setup_s = self.world_s + time.monotonic() - t0
            progress(f"{self.arm.label}: set up in {setup_s:.0f} s; replaying {self.timeline.start}..")
            agenda = Agenda()
            for c in self.script.changes:
                agenda.add(c.day, Action.OPEN, c.id)
            for q in self.script.quiet_days:
                agenda.add(q, Action.QUIET)
            self.agenda = agenda
            with ThreadPoolExecutor(max_workers=GATE_WORKERS, thread_name_prefix="ci") as ci:
                self.ci = ci
                for day, items in agenda:
                    self._day(day, [(i.action, i.change_id) for i in items])
        finally:
            self.world.stop(keep_files=self.keep)
        return ArmResult(
            arm=self.arm,
            quarter_start=self.timeline.start,
            quarter_end=self.timeline.end,
            days_replayed=tuple(self.days),
            runs=tuple(self.runs),
            changes=tuple(self._outcome(s) for s in self.states.values()),
            breakages=tuple(self.breakages),
            gate_runs=tuple(self.gate_runs),
            events_lost=self.events_lost,
            wall_s=round(self.world_s + time.monotonic() - t0, 1),
            setup_s=round(setup_s, 1),
        )

    # --- setup -------------------------------------------------------------------

    def _env(self, settings: Settings) -> None:
        for key, value in settings_env(settings).items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value

    def _producer_schema(self) -> None:
        _, path = self.repo.latest_version(EVENTS_SUBJECT)
        self.producer_schema = (self.repo.path / path).read_text()

    def _history(self) -> None:
        """Events of the days before day 1, then day 0's DAG runs, which are not measured.

        Day 0 lands the history and does the first (full) build, and it warms the
        process up: the first dag.test() of a DAG in a process pays for Airflow's
        sync of the DAG and the tasks' first imports (about 30 s here), which would
        otherwise land in the first arm's first measured run.
        """
        for day in range(1 - self.script.history_days, 1):
            self._produce(day)
        first = self.timeline.date_of(0)
        warm = self._run_dag(ANALYTICS_DAG, 0, first, self._analytics_conf())
        if warm.failed:
            raise StarlabError(f"{self.arm.label}: day 0 (history) failed: {warm.failure}")
        if self.gated:
            conf = {"contracts_root": str(self.repo.path), "manifest": self._manifest()}
            warm = self._run_dag(GATE_DAG, 0, first, conf)
            if warm.failed:
                raise StarlabError(
                    f"{self.arm.label}: the contracts do not hold at the start: {warm.failure}"
                )
        self.runs.clear()

    def _produce(self, day: int) -> None:
        self.world.produce(
            day, self.timeline.date_of(day), self.producer_schema, self.fills, self.cfg.replay_events_per_day
        )

    # --- a day --------------------------------------------------------------------

    def _day(self, day: int, first: list[tuple[Action, str | None]]) -> None:
        """The day's actions (and any they schedule for the same day), then, if production changed
        or it is a quiet day, the day's traffic and DAG runs."""
        when = self.timeline.date_of(day)
        marks = self.world.capture_marks()
        t0 = time.monotonic()
        done: list[str] = []
        runs_dags = False
        items = first
        while items:
            self.pending: list[tuple[ChangeState, Future[GateRun], bool]] = []
            for action, change_id in items:
                runs_dags = runs_dags or action in DEPLOYING
                if change_id is not None:
                    getattr(self, f"_{action.value}")(day, when, self.states[change_id])
                    done.append(f"{action.value} {change_id}")
            # CI runs the day's pull requests side by side (as CI runners would), then
            # their verdicts schedule what follows, possibly on the same day.
            for st, job, fix in self.pending:
                self._verdict(day, st, job.result(), fix=fix)
            items = [(i.action, i.change_id) for i in self.agenda.pop_day(day)]
        what = ", ".join(done) or "quiet"
        if not runs_dags:
            progress(f"{self.arm.label} day {day}: {what} (nothing deployed: no DAG run)")
            return
        self.world.app_traffic(day)
        self.world.wait_for_capture({t: TRAFFIC_ROWS for t in self.world.change_topics()}, before=marks)
        self.world.bridge()
        self._produce(day)
        self.days.append(day)
        summary = [f"changes+traffic {time.monotonic() - t0:.0f} s"]
        if self.gated:
            conf = {"contracts_root": str(self.repo.path), "manifest": self._manifest()}
            rec = self._run_dag(GATE_DAG, day, when, conf)
            summary.append(f"contract_gate {rec.state} in {rec.runtime_s:.0f} s")
            if rec.failed:
                self._attribute(day, rec, pre_deploy=True)
                progress(f"{self.arm.label} day {day}: {what}; {'; '.join(summary)}; deploy held")
                return
        self.repo.export(self.deployed)
        rec = self._run_dag(ANALYTICS_DAG, day, when, self._analytics_conf())
        summary.append(f"analytics_daily {rec.state} in {rec.runtime_s:.0f} s ({rec.retries} retries)")
        if rec.failed:
            self._attribute(day, rec, pre_deploy=False)
        else:
            self.suspects.clear()
        progress(f"{self.arm.label} day {day}: {what}; {'; '.join(summary)}")

    def _analytics_conf(self) -> dict[str, str | bool]:
        # land_events: no Flink job runs in the replay, the DAG's stream step lands the events
        return {"project_dir": str(self.deployed / "dbt_project"), "land_events": True}

    def _manifest(self) -> str:
        return str(pipeline.dbt_work_dir(self.settings) / "target" / "manifest.json")

    # --- actions ---------------------------------------------------------------------

    def _ctx(self, when: date, landing: date | None = None) -> EditContext:
        return EditContext(when, (landing or when) + timedelta(days=self.cfg.min_deprecation_days))

    def _open(self, day: int, when: date, st: ChangeState) -> None:
        c = st.change
        self.repo.checkout("main")
        st.branch = f"change/{c.id.lower()}"
        self.repo.checkout(st.branch, new=True)
        self.repo.apply(c, c.id.lower(), self._ctx(when))
        st.commit = self.repo.commit(f"{c.id}: {c.title}")
        self.repo.checkout("main")
        if not self.gated:
            self.agenda.add(day + c.review_days, Action.LAND, c.id)
            return
        self._submit_gate(day, when, st, c, fix=False)

    def _fix(self, day: int, when: date, st: ChangeState) -> None:
        c, fix = st.change, st.change.fix
        if fix is None:
            return
        self.repo.checkout(st.branch)
        self.repo.revert_no_commit(st.commit)
        self.repo.apply(
            fix, f"{c.id.lower()}_fix", self._ctx(when, self.timeline.date_of(self._landing(day, c)))
        )
        st.commit = self.repo.commit(f"{c.id} fix: {fix.title}")
        self.repo.checkout("main")
        st.fix_commits += 1
        self._submit_gate(day, when, st, fix, fix=True)

    @staticmethod
    def _landing(fix_day: int, c: Change) -> int:
        """A blocked change merges when its own review and the fix's re-review are both done."""
        return max(c.day + c.review_days, fix_day + (c.fix.review_days if c.fix else 0))

    def _submit_gate(self, day: int, when: date, st: ChangeState, edits: Edits, *, fix: bool) -> None:
        job = self.ci.submit(self._gate, day, when, st, edits, fix=fix)
        self.pending.append((st, job, fix))

    def _verdict(self, day: int, st: ChangeState, gate: GateRun, *, fix: bool) -> None:
        c = st.change
        if gate.exit_code == 0:
            self.agenda.add(self._landing(day, c) if fix else day + c.review_days, Action.LAND, c.id)
        elif not fix:
            st.blocked, st.rules = True, gate.rules
            if c.fix is not None:
                self.agenda.add(day + c.fix.after_days, Action.FIX, c.id)

    def _land(self, day: int, when: date, st: ChangeState) -> None:
        self.repo.merge_into_main(st.branch, f"Merge {st.branch}: {st.change.title}")
        self._deploy_upstream()
        if st.landed_day is None:
            st.landed_day = day
        self.suspects.append(st.change.id)

    def _incident_fix(self, day: int, when: date, st: ChangeState) -> None:
        """After a page (or a failed pre-deploy check): revert the change and land its fix on main."""
        c = st.change
        self.repo.checkout("main")
        self.repo.revert_no_commit(st.commit)
        if c.app_db is not None and c.app_db.revert_sql:
            self.repo.add_migration(f"{c.id}_revert", c.app_db.revert_sql)
        if c.fix is not None:
            self.repo.apply(c.fix, f"{c.id.lower()}_fix", self._ctx(when))
        self.repo.commit(f"{c.id} incident fix: revert, then {c.fix.title if c.fix else 'nothing else'}")
        st.fix_commits += 1
        self._deploy_upstream()
        if c.surface is Surface.PRODUCER and st.failed_day is not None:
            # The stream job cannot read the records the broken version wrote: on-call
            # restarts it past them, and those events are lost.
            self.events_lost += pipeline.skip_unreadable(self.settings, self.timeline.date_of(st.failed_day))
        self.suspects.append(c.id)

    def _deploy_upstream(self) -> None:
        """The app team's part of what main now holds: its migrations and the producer's version."""
        self.world.apply_migrations(self.repo.path / "app" / "migrations")
        self._producer_schema()

    # --- CI gate --------------------------------------------------------------------

    def _gate(self, day: int, when: date, st: ChangeState, edits: Edits, *, fix: bool) -> GateRun:
        """`run_gate` on the change's commit against its merge base (CI on a pull request); in a CI thread."""
        from contracts.gate import GateInputs, GatePolicy, run_gate

        base = self.repo.git("merge-base", "main", st.commit)
        body = change_request(st.change, edits)
        t0 = time.monotonic()
        try:
            report = run_gate(
                GateInputs(self.repo.path, base, head_ref=st.commit, change_request=body),
                clock=lambda: when,
                policy=GatePolicy(min_deprecation_days=self.cfg.min_deprecation_days),
                work_dir=self.root / "gate" / f"{st.change.id.lower()}{'-fix' if fix else ''}",
            )
            code, rules = report.exit_code, tuple(dict.fromkeys(v.rule.value for v in report.violations))
        except BadContractInput as exc:  # CI exits 2: the pull request is blocked all the same
            code, rules = 2, (f"BAD_INPUT: {str(exc).splitlines()[0][:160]}",)
        run = GateRun(
            change_id=st.change.id,
            day=day,
            commit=st.commit,
            exit_code=code,
            rules=rules,
            wall_s=round(time.monotonic() - t0, 1),
            fix=fix,
        )
        self.gate_runs.append(run)
        progress(
            f"{self.arm.label} day {day}: CI gate on {st.change.id}{' fix' if fix else ''}: exit {code}"
            + (f" ({', '.join(rules)})" if rules else "")
        )
        return run

    # --- DAG runs ----------------------------------------------------------------------

    def _run_dag(self, dag_id: str, day: int, when: date, conf: Mapping[str, str | bool]) -> DagRunRecord:
        from airflow.utils.session import create_session

        dag = self.dags[dag_id]
        logical = datetime.combine(when + timedelta(days=1), dtime(), tzinfo=UTC)
        t0 = time.monotonic()
        dr = dag.test(logical_date=logical, run_conf=dict(conf))
        runtime = time.monotonic() - t0
        with create_session() as session:
            tis = list(dr.get_task_instances(session=session))
        if dr.data_interval_start is None or dr.data_interval_start.date() != when:
            raise StarlabError(f"{dag_id}: data interval {dr.data_interval_start} is not {when}")
        tasks = tuple(
            TaskRun(task_id=ti.task_id, state=str(ti.state), tries=int(ti.try_number or 0))
            for ti in sorted(tis, key=lambda t: t.task_id)
        )
        state = str(dr.state)
        failure = None
        if state == "failed":
            failed = [t.task_id for t in tasks if t.state == "failed"]
            failure = self._failure(dag_id, when, failed[0] if failed else "?")
        return self._keep(
            DagRunRecord(
                dag_id=dag_id,
                run_id=str(dr.run_id),
                day=day,
                logical_date=when,
                state=state,
                runtime_s=round(runtime, 2),
                tasks=tasks,
                failure=failure,
            )
        )

    def _keep(self, rec: DagRunRecord) -> DagRunRecord:
        self.runs.append(rec)
        return rec

    def _failure(self, dag_id: str, when: date, task_id: str) -> Failure:
        if dag_id == ANALYTICS_DAG:
            outcome = pipeline.read_outcome(self.settings, when, task_id)
            if outcome is not None and not outcome.ok:
                return Failure(task_id=task_id, reach=outcome.reach, detail=outcome.detail)
            return Failure(
                task_id=task_id, reach=None, detail="failed without a recorded outcome (see the log)"
            )
        from contracts.validate import store

        path = store.interval_dir(self.settings, when) / store.REPORT
        if path.exists():
            report = store.read_report(path)
            if report.findings:
                return Failure(
                    task_id=task_id,
                    reach=None,
                    detail=report.findings[0].line(),
                    findings=tuple(f.line() for f in report.findings),
                )
        return Failure(task_id=task_id, reach=None, detail="pre-deploy check failed (see the log)")

    def _attribute(self, day: int, rec: DagRunRecord, *, pre_deploy: bool) -> None:
        """Blame a contract failure on a change deployed since the last good day; schedule its fix.

        Only failures that are about a contract are blamed: a pre-deploy check
        with findings, or an analytics step that recorded how far a breakage
        got. Anything else (a service down through all retries) is a failed run
        and a page, but no change's fault.
        """
        failure = rec.failure
        if (
            failure is None
            or (not pre_deploy and failure.reach is None)
            or (pre_deploy and not failure.findings)
        ):
            progress(f"{self.arm.label} day {day}: {rec.dag_id} failed, not on a contract: {failure}")
            return
        fresh = [self.states[i] for i in reversed(self.suspects) if not self.states[i].incident_scheduled]
        chosen = next((s for s in fresh if s.change.kind is not ChangeKind.SAFE), fresh[0] if fresh else None)
        if chosen is None:
            return  # an incident already open (its fix is scheduled): another page, not another breakage
        chosen.failed_day = day
        chosen.incident_scheduled = True
        if pre_deploy:
            chosen.caught = True
        elif failure.reach is not None:
            chosen.broke = failure.reach
            self.breakages.append(
                Breakage(
                    change_id=chosen.change.id,
                    day=day,
                    reach=failure.reach,
                    task_id=failure.task_id,
                    detail=failure.detail,
                )
            )
        after = chosen.change.fix.after_days if chosen.change.fix else 1
        self.agenda.add(day + max(1, after), Action.INCIDENT_FIX, chosen.change.id)

    def _outcome(self, st: ChangeState) -> ChangeOutcome:
        c = st.change
        return ChangeOutcome(
            change_id=c.id,
            kind=c.kind,
            surface=c.surface,
            title=c.title,
            opened_day=c.day,
            landed_day=st.landed_day,
            blocked_by_gate=st.blocked,
            gate_rules=st.rules,
            caught_before_deploy=st.caught,
            broke=st.broke,
            fix_commits=st.fix_commits,
        )


def run(req: RunnerRequest) -> ReplayResult:
    t0 = time.monotonic()
    load_start = os.getloadavg()[0]
    script = load_script(Path(req.script))
    cfg = ContractsSettings()
    base = Settings()
    dags = {name: _load_dag(name) for name in (GATE_DAG, ANALYTICS_DAG)}
    runs = [
        ArmRun(
            base,
            cfg,
            script,
            arm,
            Path(req.work_dir) / arm.value,
            f"{req.tag}{'g' if arm is Arm.WITH_GATE else 'n'}",
            req.keep,
            dags,
        )
        for arm in req.arms
    ]
    # Both arms' PostgreSQL and Debezium start at once (their JVM start is most of the
    # set-up); nothing is measured yet, so the overlap distorts no runtime.
    with ThreadPoolExecutor(max_workers=len(runs), thread_name_prefix="world") as pool:
        started = [pool.submit(r.start_world) for r in runs]
        errors = [f.exception() for f in started]
    if any(errors):
        for r in runs:
            r.world.stop(keep_files=req.keep)
        first = next(e for e in errors if e is not None)
        raise first if isinstance(first, StarlabError) else StarlabError(f"starting an arm failed: {first}")
    arms = []
    for i, r in enumerate(runs):
        try:
            arms.append(r.run())
        except BaseException:
            for later in runs[i + 1 :]:
                later.world.stop(keep_files=req.keep)
            raise
    return ReplayResult(
        script=req.script,
        changes=len(script.changes),
        arms=tuple(arms),
        wall_s=round(time.monotonic() - t0, 1),
        retry_delay_s=cfg.dag_retry_delay_s,
        real=REAL,
        simulated=simulated(cfg),
        cores=os.cpu_count() or 0,
        load_1m=(round(load_start, 2), round(os.getloadavg()[0], 2)),
    )


def main(request_path: str, result_path: str) -> int:
    req = RunnerRequest.model_validate_json(Path(request_path).read_bytes())
    try:
        out = RunnerResult(result=run(req))
    except StarlabError as exc:
        out = RunnerResult(error=str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        traceback.print_exc()
    Path(result_path).write_text(out.model_dump_json())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))


__all__ = ["PROGRESS", "REAL", "RunnerRequest", "RunnerResult", "main", "run", "simulated"]
