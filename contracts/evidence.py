"""Story 1's result claims next to what the replayed quarter measured (`contracts.replay`).

The story's figures: "schema-related breakages fell from 4/quarter to 0",
"p95 DAG runtime variance dropped 35% due to fewer retries; on-call pages
fell 60%", "average lead time for changes stayed at ~2 days". Each claim
keeps the story's figure and takes its measured value from the
`ReplayResult` of the same run; an arm that was not replayed leaves its
claims "not measured", never a pass. The without-gate arm is the baseline:
its figures are in each claim's method and details.

Comparators: breakages with the gate must be 0 (==); the variance and the
pages must drop at least as much as the story says (<= -35%, <= -60%): a
larger drop supports "fewer retries" all the more; the lead time with the
gate must stay within 1-3 days ("~2").
"""

from __future__ import annotations

from contracts.replay.model import ArmResult, ReplayResult
from contracts.replay.script import ChangeKind
from starlab.evidence import Claim

STORY = "1-contracts"
COMMAND = "starlab contracts replay"


def _fmt(value: float | None, unit: str = "", digits: int = 1) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}{unit}"


def _arm_details(arm: ArmResult | None) -> dict[str, object]:
    if arm is None:
        return {"replayed": False}
    return {
        "quarter": f"{arm.quarter_start}..{arm.quarter_end}",
        "breakages": [f"{b.change_id} day {b.day}: {b.reach.value} ({b.task_id})" for b in arm.breakages],
        "failed_runs": arm.failed_runs,
        "retries": arm.retries,
        "pages": arm.pages,
        "runtime_variance_p95_s2": arm.runtime_variance_p95_s2,
        "runtime_deviation_p95_s": arm.runtime_deviation_p95_s,
        "blocked": arm.blocked,
        "caught_before_deploy": arm.caught_before_deploy,
        "fix_commits": arm.fix_commits,
        "lead_time_mean_days": arm.lead_time_mean_days,
        "dag_runs": len(arm.runs),
        "days_replayed": list(arm.days_replayed),
        "wall_s": arm.wall_s,
    }


def claims_from_replay(result: ReplayResult, command: str = COMMAND) -> list[Claim]:
    """The four result claims of story 1, measured by one replay of both arms."""
    without, with_gate = result.without, result.with_gate
    any_arm = with_gate or without
    kinds = {k: sum(1 for c in any_arm.changes if c.kind is k) for k in ChangeKind} if any_arm else {}
    scope = (
        f"{result.changes} scripted upstream changes ({kinds.get(ChangeKind.SAFE, 0)} safe, "
        f"{kinds.get(ChangeKind.BREAKING, 0)} breaking, {kinds.get(ChangeKind.URGENT, 0)} urgent) replayed "
        "over a 13-week quarter, once without and once with the gate, with real dag.test() runs of "
        "contract_gate and analytics_daily on each replayed day"
    )
    details = {"without_gate": _arm_details(without), "with_gate": _arm_details(with_gate)}
    base_breakages = None if without is None else len(without.breakages)
    return [
        Claim(
            story=STORY,
            claim="schema-related breakages per quarter: 0 with the gate (story: 4 -> 0)",
            metric="breakages_per_quarter_with_gate",
            unit="breakages",
            claimed=0,
            comparator="==",
            measured=None if with_gate is None else len(with_gate.breakages),
            method=(
                f"{scope}. A breakage is a change whose effect failed a dbt build, a dbt test or a consumer "
                "(the stream job's pinned reader, the Sales report) in production. Without the gate: "
                f"{_fmt(None if base_breakages is None else float(base_breakages), digits=0)} breakage(s)"
                + (f" ({', '.join(b.change_id for b in without.breakages)})" if without else "")
            ),
            command=command,
            details=details,
        ),
        Claim(
            story=STORY,
            claim="p95 DAG runtime variance -35% from fewer retries",
            metric="dag_runtime_variance_p95_change",
            unit="%",
            claimed=-35,
            comparator="<=",
            measured=result.variance_change_pct,
            method=(
                "per run of analytics_daily (the DAG both arms run): (runtime - median runtime of the "
                "quarter)^2, runtime = wall time of the whole run, every attempt and retry wait included "
                f"(retry delay {result.retry_delay_s:g} s in the replay"
                + ("; both arms played at once on the same cores" if result.arms_at_once else "")
                + "); p95 over the quarter's runs, "
                "then (with - without) / without. p95 without: "
                f"{_fmt(without.runtime_variance_p95_s2 if without else None, ' s^2')} "
                f"({without.retries if without else 'n/a'} retries); with: "
                f"{_fmt(with_gate.runtime_variance_p95_s2 if with_gate else None, ' s^2')} "
                f"({with_gate.retries if with_gate else 'n/a'} retries)"
            ),
            command=command,
            details=details,
        ),
        Claim(
            story=STORY,
            claim="on-call pages -60%",
            metric="pages_change",
            unit="%",
            claimed=-60,
            comparator="<=",
            measured=result.pages_change_pct,
            method=(
                "a page is a DAG run that failed after its retries (analytics_daily or contract_gate); "
                f"without the gate: {without.pages if without else 'n/a'} page(s), with it: "
                f"{with_gate.pages if with_gate else 'n/a'} (the pre-deploy check still pages when live "
                "data breaks a contract CI cannot see)"
            ),
            command=command,
            details=details,
        ),
        Claim(
            story=STORY,
            claim="average lead time for changes stays ~2 days with the gate",
            metric="lead_time_mean_with_gate",
            unit="days",
            claimed=(1.0, 3.0),
            comparator="range",
            measured=None if with_gate is None else with_gate.lead_time_mean_days,
            method=(
                "simulated days from opening a pull request to its landing in production (review and fix "
                "times from the script; a blocked change lands when its review and its fix are both done); "
                f"with the gate {with_gate.blocked if with_gate else 'n/a'} change(s) blocked and "
                f"{with_gate.fix_commits if with_gate else 'n/a'} fix commit(s); without it "
                f"{_fmt(without.lead_time_mean_days if without else None, ' days')} and "
                f"{without.fix_commits if without else 'n/a'} fix commit(s) after pages"
            ),
            command=command,
            details=details,
        ),
    ]


def outcome_claims(command: str = "starlab demo contracts") -> list[Claim]:
    """Story 1's result figures no local run can observe: recorded as not measured, never as passes.

    Other teams adopting a playbook happens in an organisation, not on a laptop;
    the claim keeps the story's figure so the report shows it unmeasured.
    """
    return [
        Claim(
            story=STORY,
            claim="the documented playbook was adopted by 3 other data teams",
            metric="playbook_adopting_teams",
            unit="teams",
            claimed=3,
            comparator=">=",
            measured=None,
            method="not measured: adoption by other teams is an organisational outcome no local run can show",
            command=command,
        ),
    ]


__all__ = ["COMMAND", "STORY", "claims_from_replay", "outcome_claims"]
