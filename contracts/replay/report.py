"""The replay's result for people: both arms side by side, what broke or was blocked, what was real.

Backs story 1's follow-up "quantifying the trade-off between developer
friction and reliability": the reliability side (breakages, failed runs,
retries, runtime spread, pages) and the friction side (changes blocked, fix
commits, lead time) in one table, with the simulated and the real parts of
the replay listed under it.
"""

from __future__ import annotations

from collections.abc import Callable

from contracts.replay.model import ArmResult, ReplayResult


def _num(value: float | int | None, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, int) or float(value).is_integer():
        return f"{int(value)}"
    return f"{value:.{digits}f}"


def _pct(value: float | None) -> str:
    return "" if value is None else f"{value:+.0f}%"


ROWS: tuple[tuple[str, Callable[[ArmResult], float | int | None]], ...] = (
    ("breakages reaching dbt or a consumer", lambda a: len(a.breakages)),
    ("failed DAG runs", lambda a: a.failed_runs),
    ("retries", lambda a: a.retries),
    ("runtime variance p95 (s^2)", lambda a: a.runtime_variance_p95_s2),
    ("runtime |deviation| p95 (s)", lambda a: a.runtime_deviation_p95_s),
    ("pages (runs failed after retries)", lambda a: a.pages),
    ("changes blocked by the CI gate", lambda a: a.blocked),
    ("caught by the pre-deploy check", lambda a: a.caught_before_deploy),
    ("fix commits", lambda a: a.fix_commits),
    ("lead time, mean (days)", lambda a: a.lead_time_mean_days),
    ("days replayed", lambda a: len(a.days_replayed)),
    ("DAG runs", lambda a: len(a.runs)),
    ("events lost by the stream job", lambda a: a.events_lost),
    ("arm wall time (s)", lambda a: a.wall_s),
)


def render_human(result: ReplayResult) -> str:
    arms = result.arms
    width = max(len(label) for label, _ in ROWS) + 2
    head = "".ljust(width) + "".join(a.arm.label.rjust(18) for a in arms)
    lines = [
        f"Replayed quarter: {result.changes} upstream changes ({result.script}), "
        f"{len(arms)} arm(s) in {result.wall_s:.0f} s on {result.cores} cores "
        f"(1-min load {result.load_1m[0]:g} at the start, {result.load_1m[1]:g} at the end)",
        "",
        head,
    ]
    changes = {
        "runtime variance p95 (s^2)": result.variance_change_pct,
        "pages (runs failed after retries)": result.pages_change_pct,
        "retries": result.retries_change_pct,
    }
    for label, get in ROWS:
        row = label.ljust(width) + "".join(_num(get(a)).rjust(18) for a in arms)
        if len(arms) == 2 and label in changes:
            row += f"   {_pct(changes[label])}"
        lines.append(row)
    for a in arms:
        lines += ["", f"{a.arm.label} ({a.quarter_start} .. {a.quarter_end}): {a.arm.meaning}"]
        for b in a.breakages:
            lines.append(
                f"  {b.change_id} broke on day {b.day}, reached a {b.reach.value} ({b.task_id}): {b.detail}"
            )
        for c in a.changes:
            if c.blocked_by_gate:
                landed = f"landed day {c.landed_day}" if c.landed_day is not None else "never landed"
                lines.append(
                    f"  {c.change_id} blocked by the CI gate ({', '.join(c.gate_rules)}); fix {landed}"
                )
            if c.caught_before_deploy:
                lines.append(f"  {c.change_id} caught by contract_gate before deploy ({c.title})")
        if not a.breakages and not a.blocked and not a.caught_before_deploy:
            lines.append("  nothing broke, nothing was blocked")
    lines += ["", "Real:"] + [f"  - {x}" for x in result.real]
    lines += ["Simulated:"] + [f"  - {x}" for x in result.simulated]
    return "\n".join(lines)


__all__ = ["render_human"]
