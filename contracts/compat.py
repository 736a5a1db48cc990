"""`starlab contracts compat V1.avsc [V2.avsc ...] NEW.avsc --mode MODE`: one schema change, judged.

Backs story 1 ("every schema change is checked in CI with the registry's
compatibility mode, agreeing with Confluent's verdicts"): the last file is the
candidate, the others its registered history, oldest first; the verdict is
`starlab.schema.check`'s, the same function the registry answers with, and it
agrees with Java Avro (Confluent's reference) on every case of the
differential corpus (`tests/integration/schema/test_java_differential.py`).

Exit codes: 0 compatible, 1 incompatible (each reason names the field path),
2 bad input, in one line with the path and the problem (missing file, invalid
JSON, invalid Avro, invalid default), never a traceback.

The lead wires the command into the `contracts` group:

    app.command("compat", epilog=COMPAT_EPILOG)(compat)
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from enum import StrEnum
from pathlib import Path

import typer

from contracts.errors import BadContractInput
from starlab.schema import (
    CompatibilityMode,
    CompatibilityResult,
    InvalidDefaultError,
    SchemaFileError,
    SchemaJsonError,
    SchemaParseError,
    check_files,
)

__all__ = [
    "COMPAT_EPILOG",
    "BadSchemaFile",
    "CompatReport",
    "OutputFormat",
    "compat",
    "run_compat",
]

EXIT_COMPATIBLE = 0
EXIT_INCOMPATIBLE = 1
EXIT_BAD_INPUT = 2

COMPAT_EPILOG = (
    "Examples:\n\n"
    "  starlab contracts compat v1.avsc v2.avsc new.avsc --mode BACKWARD_TRANSITIVE\n\n"
    "  starlab contracts compat v3.avsc new.avsc --mode FULL --format json\n\n"
    "Exit codes: 0 compatible, 1 incompatible (reasons with field paths), "
    "2 bad input (missing file, invalid JSON, invalid Avro, invalid default)."
)


class OutputFormat(StrEnum):
    """How the verdict is printed."""

    TEXT = "text"
    JSON = "json"


class BadSchemaFile(BadContractInput):
    """A schema file the check cannot judge; `kind` says which of the four problems it is."""

    def __init__(self, path: str, kind: str, problem: str) -> None:
        self.path = path
        self.kind = kind
        """`missing file`, `unreadable file`, `invalid JSON`, `invalid Avro` or `invalid default`."""
        self.problem = problem
        super().__init__(f"{path}: {problem}")

    @classmethod
    def from_parse_error(cls, exc: SchemaParseError) -> BadSchemaFile:
        # Classes, not message text, decide the kind.
        if isinstance(exc, SchemaFileError):
            kind = "missing file" if not Path(exc.source).exists() else "unreadable file"
        elif isinstance(exc, SchemaJsonError):
            kind = "invalid JSON"
        elif isinstance(exc, InvalidDefaultError):
            kind = "invalid default"
        else:
            kind = "invalid Avro"
        return cls(exc.source, kind, exc.problem)


@dataclass(frozen=True)
class CompatReport:
    """The verdict on one candidate, with what it was checked against."""

    candidate: str
    history: tuple[str, ...]
    result: CompatibilityResult

    @property
    def exit_code(self) -> int:
        return EXIT_COMPATIBLE if self.result.is_compatible else EXIT_INCOMPATIBLE

    def text(self) -> str:
        r = self.result
        against = ", ".join(r.checked_against) or "nothing (no history, or mode NONE)"
        if r.is_compatible:
            return f"compatible: {self.candidate} under {r.mode.value} (checked against {against})"
        lines = [f"incompatible: {self.candidate} under {r.mode.value} (checked against {against})"]
        lines += [f"  - {reason}" for reason in r.reasons]
        return "\n".join(lines)

    def json(self) -> str:
        r = self.result
        return json.dumps(
            {
                "compatible": r.is_compatible,
                "mode": r.mode.value,
                "candidate": self.candidate,
                "history": list(self.history),
                "checked_against": list(r.checked_against),
                "incompatibilities": [asdict(i) for i in r.incompatibilities],
            },
            indent=2,
        )


def run_compat(files: list[Path], mode: CompatibilityMode) -> CompatReport:
    """Check the last file against the others (oldest first); `BadSchemaFile` for bad input."""
    if not files:
        raise BadContractInput("give at least the candidate schema file")
    try:
        result = check_files(files, mode)
    except SchemaParseError as exc:
        raise BadSchemaFile.from_parse_error(exc) from None
    return CompatReport(str(files[-1]), tuple(str(f) for f in files[:-1]), result)


def compat(
    files: list[Path] = typer.Argument(
        ...,
        metavar="V1.avsc [V2.avsc ...] NEW.avsc",
        help="Schema files: the registered versions oldest first, the candidate last.",
        show_default=False,
    ),
    mode: CompatibilityMode = typer.Option(
        CompatibilityMode.BACKWARD,
        "--mode",
        "-m",
        case_sensitive=False,
        help="Confluent compatibility mode (BACKWARD is Confluent's default); *_TRANSITIVE checks every "
        "version, the others the latest only.",
    ),
    output_format: OutputFormat = typer.Option(
        OutputFormat.TEXT,
        "--format",
        "-f",
        case_sensitive=False,
        help="text for people, json for tools (the verdict, and each reason with its field path).",
    ),
) -> None:
    """Check a new Avro schema against its history under a Confluent compatibility mode."""
    try:
        report = run_compat(files, mode)
    except BadContractInput as exc:
        message = " ".join(str(exc).splitlines())  # one line, whatever a parser said
        if output_format is OutputFormat.JSON:
            path, kind = (exc.path, exc.kind) if isinstance(exc, BadSchemaFile) else (None, "bad input")
            typer.echo(json.dumps({"error": {"path": path, "kind": kind, "message": message}}))
        else:
            typer.echo(f"error: {message}", err=True)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    typer.echo(report.json() if output_format is OutputFormat.JSON else report.text())
    raise typer.Exit(report.exit_code)
