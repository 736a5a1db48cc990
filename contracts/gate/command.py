"""Typer commands `starlab contracts check` and `starlab contracts digest` (wired by contracts/cli.py).

Backs story 1's "contract checks in CI" (the gate a pull request runs) and
"a weekly 15-min change review" (the digest). Exit codes of `check`: 0 no
violation, 1 at least one violation (all are printed), 2 input the gate
cannot judge (unknown ref, bad YAML, invalid schema), in one line on stderr.
Register both on a Typer group with `register(app)`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from pathlib import Path

import typer
from rich.console import Console

from contracts.errors import BadContractInput
from contracts.gate import git
from contracts.gate.check import GateInputs, run_gate, utc_today
from contracts.gate.digest import build_digest, render_markdown
from contracts.gate.model import GatePolicy
from contracts.gate.report import render_human, to_json, to_junit
from starlab.errors import StarlabError

err = Console(stderr=True, highlight=False, soft_wrap=True)

CHECK_EPILOG = (
    "Examples:\n\n"
    "  starlab contracts check --base origin/main\n\n"
    "  starlab contracts check --base origin/main --change-request pr-body.md --junit-xml gate.xml\n\n"
    "  starlab contracts check --base HEAD~1 --format json --change-date head-commit"
)
DIGEST_EPILOG = (
    "Examples:\n\n"
    "  starlab contracts digest --since 7d\n\n"
    "  starlab contracts digest --since 2026-11-01 --out review.md"
)


class OutputFormat(StrEnum):
    HUMAN = "human"
    JSON = "json"


def _fail(message: str) -> typer.Exit:
    err.print(f"error: {message}", markup=False)
    return typer.Exit(2)


def _change_date(value: str, repo: Path) -> date:
    if value == "today":
        return utc_today()
    if value == "head-commit":
        return git.commit_time(git.repo_root(repo), "HEAD").astimezone(UTC).date()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise BadContractInput(f"--change-date {value!r}: use today, head-commit or YYYY-MM-DD") from None


def check(
    base: str = typer.Option(..., "--base", help="Git ref holding the baseline contracts (origin/main)."),
    repo: Path = typer.Option(Path("."), "--repo", help="Any path inside the repository to check."),
    output_format: OutputFormat = typer.Option(
        OutputFormat.HUMAN, "--format", help="human (default) or json, printed to stdout."
    ),
    junit_xml: Path | None = typer.Option(
        None, "--junit-xml", help="Also write the result as JUnit XML to this file (one case per violation)."
    ),
    change_request: Path | None = typer.Option(
        None,
        "--change-request",
        help="Pull-request body file: a contract change fails without a filled change request in it.",
    ),
    change_date: str = typer.Option(
        "today",
        "--change-date",
        help="Date the deprecation notice counts from: today (UTC), head-commit, or YYYY-MM-DD.",
    ),
    min_deprecation_days: int = typer.Option(
        GatePolicy().min_deprecation_days,
        "--min-deprecation-days",
        min=0,
        help="Days between the change and a superseded version's deprecation_date (story: 2 weeks).",
    ),
) -> None:
    """Compare every contract at BASE with the working tree; report all violations (exit 1) or none (0)."""
    try:
        body = None
        if change_request is not None:
            try:
                body = change_request.read_text(encoding="utf-8")
            except OSError as exc:
                raise BadContractInput(
                    f"--change-request: cannot read {change_request}: {exc.strerror}"
                ) from None
        when = _change_date(change_date, repo)
        report = run_gate(
            GateInputs(repo, base, change_request=body),
            clock=lambda: when,
            policy=GatePolicy(min_deprecation_days=min_deprecation_days),
        )
    except StarlabError as exc:  # BadContractInput and the kernel's schema/config errors
        raise _fail(str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from None
    if junit_xml is not None:
        junit_xml.parent.mkdir(parents=True, exist_ok=True)
        junit_xml.write_text(to_junit(report), encoding="utf-8")
    typer.echo(to_json(report) if output_format is OutputFormat.JSON else render_human(report))
    raise typer.Exit(report.exit_code)


def digest(
    since: str = typer.Option("7d", "--since", help="Window: a span back from now (7d, 2w, 36h) or a date."),
    repo: Path = typer.Option(Path("."), "--repo", help="Any path inside the repository."),
    ref: str = typer.Option("HEAD", "--ref", help="The end of the window (a branch or commit)."),
    out: Path | None = typer.Option(None, "--out", help="Write the Markdown here instead of stdout."),
) -> None:
    """The weekly change review: every contract change in the window with its impact and status."""
    try:
        result = build_digest(repo, since, now=datetime.now(UTC), ref=ref)
    except StarlabError as exc:
        raise _fail(str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from None
    text = render_markdown(result)
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {out} ({len(result.entries)} change(s))")


def register(app: typer.Typer) -> None:
    """Add `check` and `digest` to a Typer group (the `contracts` group)."""
    app.command("check", epilog=CHECK_EPILOG)(check)
    app.command("digest", epilog=DIGEST_EPILOG)(digest)


__all__ = ["CHECK_EPILOG", "DIGEST_EPILOG", "OutputFormat", "check", "digest", "register"]
