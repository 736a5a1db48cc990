"""`starlab contracts compat`: exit codes, reasons with field paths, one-line bad input, JSON output.

Backs story 1 (the CI gate's compat command as DESIGN.md specifies it). The
command runs in a tiny Typer app built here, as the lead wires it into the
`contracts` group, so these tests do not depend on the rest of the CLI.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from contracts.compat import COMPAT_EPILOG, BadSchemaFile, compat, run_compat
from starlab.schema import CompatibilityMode

app = typer.Typer()
app.command("compat", epilog=COMPAT_EPILOG)(compat)
runner = CliRunner()


def record(*fields: dict[str, Any]) -> str:
    return json.dumps({"type": "record", "name": "Order", "namespace": "shop", "fields": list(fields)})


ID = {"name": "id", "type": "string"}
V1 = record(ID)
V2 = record(ID, {"name": "score", "type": "int", "default": 0})
NO_DEFAULT = record(ID, {"name": "score", "type": "int"})  # reads v2 data, not v1 data


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    out = {}
    for name, text in {"v1": V1, "v2": V2, "new": NO_DEFAULT}.items():
        out[name] = tmp_path / f"{name}.avsc"
        out[name].write_text(text)
    return out


def invoke(*args: str | Path) -> Any:
    return runner.invoke(app, [str(a) for a in args])


def test_compatible_exits_0(files: dict[str, Path]) -> None:
    result = invoke(files["v1"], files["v2"], files["new"], "--mode", "BACKWARD")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"compatible: {files['new']} under BACKWARD (checked against v2.avsc)")


def test_incompatible_exits_1_with_reasons_naming_field_paths(files: dict[str, Path]) -> None:
    result = invoke(files["v1"], files["v2"], files["new"], "--mode", "backward_transitive")
    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"incompatible: {files['new']} under BACKWARD_TRANSITIVE")
    assert lines[1:] == [
        "  - /fields/1 (score): reader field 'score' has no default and is missing in writer "
        "[reader: new.avsc, writer: v1.avsc]"
    ]


def test_forward_direction_names_the_old_reader(files: dict[str, Path]) -> None:
    result = invoke(files["v2"], files["v1"], "--mode", "FORWARD")  # v2 readers can read v1 data?
    assert result.exit_code == 0, result.output
    result = invoke(files["new"], files["v1"], "-m", "forward")  # old requires score, new lacks it
    assert result.exit_code == 1
    assert "(score)" in result.stdout
    assert "[reader: new.avsc, writer: v1.avsc]" in result.stdout


def test_the_default_mode_is_backward_and_one_file_is_always_compatible(files: dict[str, Path]) -> None:
    assert invoke(files["v1"], files["new"]).exit_code == 1
    result = invoke(files["new"], "--mode", "FULL_TRANSITIVE")
    assert result.exit_code == 0
    assert "nothing (no history, or mode NONE)" in result.stdout


def test_json_format(files: dict[str, Path]) -> None:
    result = invoke(files["v1"], files["v2"], files["new"], "--mode", "FULL_TRANSITIVE", "--format", "json")
    assert result.exit_code == 1
    body = json.loads(result.stdout)
    assert (body["compatible"], body["mode"]) == (False, "FULL_TRANSITIVE")
    assert body["history"] == [str(files["v1"]), str(files["v2"])]
    assert body["checked_against"] == ["v2.avsc", "v1.avsc"]
    [reason] = body["incompatibilities"]
    assert (reason["kind"], reason["location"], reason["field_path"]) == (
        "READER_FIELD_MISSING_DEFAULT_VALUE",
        "/fields/1",
        "score",
    )
    assert (reason["reader"], reason["writer"]) == ("new.avsc", "v1.avsc")


BAD_INPUTS = {
    "missing file": None,
    "invalid JSON": '{"type": "record",',
    "invalid Avro": '{"type": "record", "name": "Order", "fields": [{"name": "x", "type": "nope"}]}',
    "invalid default": record(ID, {"name": "score", "type": "int", "default": "zero"}),
}


@pytest.mark.parametrize("kind", BAD_INPUTS)
@pytest.mark.parametrize("position", ["candidate", "history"])
def test_bad_input_exits_2_in_one_line(
    tmp_path: Path, files: dict[str, Path], kind: str, position: str
) -> None:
    bad = tmp_path / "bad.avsc"
    text = BAD_INPUTS[kind]
    if text is not None:
        bad.write_text(text)
    args = [files["v1"], bad] if position == "candidate" else [bad, files["v1"]]
    result = invoke(*args, "--mode", "FULL")
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error: {bad}: ")
    assert "Traceback" not in result.stderr
    with pytest.raises(BadSchemaFile) as info:
        run_compat(args, CompatibilityMode.FULL)
    assert (info.value.path, info.value.kind) == (str(bad), kind)


def test_bad_input_words_say_what_is_wrong(tmp_path: Path, files: dict[str, Path]) -> None:
    expected = {
        "missing file": "cannot read file: No such file or directory",
        "invalid JSON": "invalid JSON at line 1 column 19",
        "invalid Avro": "invalid Avro schema",
        "invalid default": "invalid default for field score",
    }
    for kind, words in expected.items():
        bad = tmp_path / f"{kind.replace(' ', '-')}.avsc"
        if BAD_INPUTS[kind] is not None:
            bad.write_text(BAD_INPUTS[kind] or "")
        assert words in invoke(bad).stderr, kind


def test_bad_input_in_json_format_is_one_json_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.avsc"
    bad.write_text(BAD_INPUTS["invalid default"] or "")
    result = invoke(bad, "--format", "json")
    assert result.exit_code == 2
    [line] = result.stdout.splitlines()
    error = json.loads(line)["error"]
    assert (error["path"], error["kind"]) == (str(bad), "invalid default")


def test_an_unknown_mode_is_a_usage_error(files: dict[str, Path]) -> None:
    result = invoke(files["v1"], "--mode", "SIDEWAYS")
    assert result.exit_code == 2
    assert "SIDEWAYS" in result.output


def test_help_lists_the_modes_and_examples() -> None:
    result = runner.invoke(app, ["--help"], env={"COLUMNS": "240"})
    assert result.exit_code == 0
    assert "Examples:" in result.stdout
    assert "starlab contracts compat v1.avsc v2.avsc new.avsc --mode BACKWARD_TRANSITIVE" in result.stdout
    for mode in CompatibilityMode:
        assert mode.value.lower() in result.stdout.lower(), mode
