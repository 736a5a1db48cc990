"""`starlab contracts check` and `digest` as commands: exit codes 0/1/2, one-line errors, formats.

Runs git (a scratch repository with the contracts but no dbt project, so no
dbt process starts); the dbt side is covered by
tests/integration/contracts/test_gate_history.py.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from contracts.errors import BadContractInput
from contracts.gate.command import register
from contracts.gate.declarations import load_subjects
from contracts.gate.digest import parse_since

ROOT = Path(__file__).resolve().parents[4]
# Version 1 of the event subject, wherever contracts/subjects.yaml says it lives.
AVSC = load_subjects(ROOT).get("engagement.events-value").versions[0].path  # type: ignore[union-attr]


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True).stdout


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    versions = [v.path for s in load_subjects(ROOT).subjects for v in s.versions]
    for rel in ("contracts/subjects.yaml", "contracts/consumers.yaml", *versions):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / rel, tmp_path / rel)
    git(tmp_path, "init", "-q", "-b", "main")
    git(tmp_path, "config", "user.email", "t@example.com")
    git(tmp_path, "config", "user.name", "T")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-q", "-m", "base")
    return tmp_path


def invoke(*args: str) -> tuple[int, str]:
    app = typer.Typer()
    register(app)

    @app.callback()
    def _group() -> None:
        """contracts"""

    result = CliRunner().invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


def add_version(repo: Path, text: str) -> None:
    (repo / "contracts/schemas").mkdir(exist_ok=True)
    (repo / "contracts/schemas/v2.avsc").write_text(text)
    subjects = repo / "contracts/subjects.yaml"
    subjects.write_text(
        subjects.read_text().replace(
            f"        path: {AVSC}\n",
            f"        path: {AVSC}\n      - version: 2\n        path: contracts/schemas/v2.avsc\n",
        )
    )


def test_no_change_passes_with_exit_0_and_a_junit_case(repo: Path, tmp_path: Path) -> None:
    junit = tmp_path / "out" / "gate.xml"
    code, out = invoke("check", "--base", "main", "--repo", str(repo), "--junit-xml", str(junit))
    assert code == 0, out
    assert "PASSED" in out
    suite = ET.parse(junit).getroot()
    assert suite.get("failures") == "0" and suite.find(".//testcase") is not None


def test_a_violation_exits_1_and_json_lists_it(repo: Path) -> None:
    schema = json.loads((repo / AVSC).read_text())
    schema["fields"] = [f for f in schema["fields"] if f["name"] != "session_id"]
    add_version(repo, json.dumps(schema))
    code, out = invoke("check", "--base", "main", "--repo", str(repo), "--format", "json")
    assert code == 1
    report = json.loads(out)
    assert [v["rule"] for v in report["violations"]] == ["AVRO_PINNED_READER"]
    assert report["exit_code"] == 1 and report["changes"][0]["name"] == "engagement.events-value"


@pytest.mark.parametrize(
    ("setup", "args", "message"),
    [
        (None, ["--base", "no-such-branch"], "unknown git ref 'no-such-branch'"),
        ("bad_yaml", ["--base", "main"], "contracts/subjects.yaml is not valid YAML"),
        ("bad_schema", ["--base", "main"], "contracts/schemas/v2.avsc: invalid JSON"),
        (None, ["--base", "main", "--change-date", "tomorrow"], "--change-date 'tomorrow'"),
        (None, ["--base", "main", "--change-request", "/nonexistent/body.md"], "cannot read"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    repo: Path, setup: str | None, args: list[str], message: str
) -> None:
    if setup == "bad_yaml":
        (repo / "contracts/subjects.yaml").write_text("subjects: [\n  - {subject: x\n")
    if setup == "bad_schema":
        add_version(repo, "{not json")
    code, out = invoke("check", *args, "--repo", str(repo))
    assert code == 2, out
    assert message in out
    assert "Traceback" not in out and len(out.strip().splitlines()) == 1


def test_a_contract_change_needs_the_change_request(repo: Path, tmp_path: Path) -> None:
    schema = json.loads((repo / AVSC).read_text())
    schema["fields"].append({"name": "country", "type": ["null", "string"], "default": None})
    add_version(repo, json.dumps(schema))
    body = tmp_path / "body.md"
    body.write_text("Adds country.\n")
    code, out = invoke("check", "--base", "main", "--repo", str(repo), "--change-request", str(body))
    assert code == 1 and "CHANGE_REQUEST_MISSING" in out
    body.write_text(
        "\n".join(
            f"## {s}\nwritten: {s}\n"
            for s in ("Owner", "Rationale", "Rollout plan", "Impact", "Mitigation", "Timeline")
        )
    )
    code, out = invoke("check", "--base", "main", "--repo", str(repo), "--change-request", str(body))
    assert code == 0, out


def test_help_shows_an_example() -> None:
    code, out = invoke("check", "--help")
    assert code == 0 and "starlab contracts check --base origin/main" in out
    code, out = invoke("digest", "--help")
    assert code == 0 and "starlab contracts digest --since 7d" in out


def test_digest_without_contract_changes(repo: Path) -> None:
    code, out = invoke("digest", "--since", "7d", "--repo", str(repo))
    assert code == 0, out
    assert out.startswith("# Contract change review") and "No contract changed in the window." in out


def test_since_spans_and_dates() -> None:
    now = datetime(2026, 12, 8, 12, tzinfo=UTC)
    assert parse_since("7d", now) == now - timedelta(days=7)
    assert parse_since("2w", now) == now - timedelta(days=14)
    assert parse_since("36h", now) == now - timedelta(hours=36)
    assert parse_since("2026-12-01", now) == datetime(2026, 12, 1, tzinfo=UTC)
    with pytest.raises(BadContractInput):
        parse_since("last week", now)
