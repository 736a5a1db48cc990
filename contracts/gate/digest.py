"""`starlab contracts digest --since 7d`: the weekly change review as Markdown.

Backs story 1's "set a weekly 15-min change review": every contract change
merged in the window (from git history), with its status (safe, breaking but
versioned with its deprecation date, or violating a rule: merged past the
gate), the consumers it reaches, the commits that made it, and the schedule
of deprecated versions so the review sees what retires next. It is the gate
run over the window: the newest commit before the window against HEAD.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from contracts.errors import BadContractInput
from contracts.gate import git
from contracts.gate.check import GateInputs, run_gate
from contracts.gate.model import ContractChange, Deprecation, GatePolicy, Violation

_SPAN = re.compile(r"^\s*(\d+)\s*([hdw])\s*$", re.IGNORECASE)
_UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}


def parse_since(text: str, now: datetime) -> datetime:
    """`7d`, `2w`, `36h` back from `now`, or an ISO date/time; anything else is bad input."""
    match = _SPAN.match(text)
    if match:
        return now - int(match.group(1)) * _UNITS[match.group(2).lower()]
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise BadContractInput(
            f"--since {text!r}: use a span like 7d, 2w, 36h or a date (YYYY-MM-DD)"
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


@dataclass(frozen=True)
class DigestEntry:
    change: ContractChange
    violations: tuple[Violation, ...]
    commits: tuple[git.Commit, ...]
    status: str


@dataclass(frozen=True)
class Digest:
    since: datetime
    until: datetime
    base_commit: str
    head_commit: str
    entries: tuple[DigestEntry, ...]
    deprecations: tuple[Deprecation, ...]
    today: date
    window_starts_at_root: bool = False
    """True when history is younger than the window: the first commit's own changes are not listed."""


def _status(
    change: ContractChange, violations: Sequence[Violation], schedule: Sequence[Deprecation], today: date
) -> str:
    if violations:
        return "needs attention: " + ", ".join(sorted({v.rule.value for v in violations}))
    if change.breaking:
        retiring = [d for d in schedule if d.model == change.name]
        if retiring:
            when = ", ".join(
                f"v{d.version} until {d.deprecation_date.isoformat()} "
                f"({(d.deprecation_date - today).days} days)"
                for d in retiring
            )
            return f"breaking, versioned: {when}"
        return "breaking"
    return "safe"


def build_digest(
    repo: Path,
    since: str = "7d",
    *,
    now: datetime | None = None,
    ref: str = "HEAD",
    policy: GatePolicy | None = None,
    work_dir: Path | None = None,
) -> Digest:
    now = now or datetime.now(UTC)
    root = git.repo_root(repo)
    start = parse_since(since, now)
    head = git.resolve(root, ref)
    base = git.commit_before(root, start, head)
    at_root = base is None
    if base is None:
        base = git.root_commit(root, head)
    today = now.date()
    report = run_gate(
        GateInputs(root, base, head_ref=head),
        clock=lambda: today,
        policy=policy,
        work_dir=work_dir,
        always_parse_head=True,
    )
    entries = tuple(
        DigestEntry(
            change,
            tuple(report.violations_of(change.name)),
            tuple(git.commits_touching(root, base, head, change.paths)),
            _status(change, report.violations_of(change.name), report.deprecations, today),
        )
        for change in report.changes
    )
    return Digest(start, now, base, head, entries, report.deprecations, today, at_root)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(d: Digest) -> str:
    attention = [e for e in d.entries if e.violations]
    lines = [
        f"# Contract change review: {d.since.date().isoformat()} .. {d.until.date().isoformat()}",
        "",
        f"Window: commits after `{d.base_commit[:10]}` up to `{d.head_commit[:10]}`. "
        f"{len(d.entries)} contract change(s), {len(attention)} needing attention.",
    ]
    if d.window_starts_at_root:
        lines.append(
            f"History starts inside the window: the first commit `{d.base_commit[:10]}` is the baseline."
        )
    lines += ["", "## Changes", ""]
    if not d.entries:
        lines.append("No contract changed in the window.")
    else:
        lines += ["| contract | change | status | impact | commits |", "|---|---|---|---|---|"]
        for e in d.entries:
            commits = (
                "<br>".join(
                    f"`{c.short}` {_cell(c.subject)} ({_cell(c.author)}, {c.committed_at.date().isoformat()})"
                    for c in e.commits
                )
                or "-"
            )
            lines.append(
                f"| {e.change.kind.value} `{e.change.name}` | {e.change.change.value} | {_cell(e.status)} | "
                f"{_cell(e.change.impact.describe())} | {commits} |"
            )
        lines += ["", "## Details", ""]
        for e in d.entries:
            lines.append(f"### {e.change.kind.value} {e.change.name}")
            lines += [f"- {x}" for x in e.change.details]
            for v in e.violations:
                lines.append(f"- **{v.rule.value}** {v.object}: {v.changed}. Fix: {v.fix}")
            lines.append("")
    lines += ["## Deprecation schedule", ""]
    if not d.deprecations:
        lines.append("No model version is deprecated.")
    else:
        lines += [
            "| model | version | deprecation_date | days left | superseded by |",
            "|---|---|---|---|---|",
        ]
        for dep in d.deprecations:
            left = (dep.deprecation_date - d.today).days
            lines.append(
                f"| `{dep.model}` | v{dep.version} | {dep.deprecation_date.isoformat()} | "
                f"{left if left >= 0 else f'{left} (past: remove it)'} | "
                f"{'v' + dep.superseded_by if dep.superseded_by else '-'} |"
            )
    return "\n".join(lines) + "\n"


__all__ = ["Digest", "DigestEntry", "build_digest", "parse_since", "render_markdown"]
