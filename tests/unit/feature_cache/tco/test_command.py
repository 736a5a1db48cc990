"""`starlab features tco` on a small Typer app: bad inputs exit 2 with one line, good ones write files.

Backs the issue's rule for story 4's TCO inputs: "bad YAML (missing input,
negative cost, weights not summing to 100%) exits 2 with the field and the
problem". The command is registered on an app built here, the way the lead
wires it into the `features` group.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from feature_cache.errors import FeatureCacheConfigError
from feature_cache.tco.command import register
from feature_cache.tco.inputs import TcoInputError, load_inputs
from feature_cache.tco.model import run_model
from feature_cache.tco.plot import TORNADO_PNG
from feature_cache.tco.report import RESULT_JSON

Document = Callable[..., dict[str, Any]]
Write = Callable[[Path, object], Path]

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def features() -> None:
        """Stands in for the `features` group."""

    register(app)
    return app


runner = CliRunner()


def _set(doc: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    for p in parents:
        doc = doc[p]
    doc[last] = value


def _delete(doc: dict[str, Any], path: str) -> None:
    *parents, last = path.split(".")
    for p in parents:
        doc = doc[p]
    del doc[last]


# (case, edit of the small document, field named, problem named)
BAD_DOCUMENTS: list[tuple[str, Callable[[dict[str, Any]], None], str, str]] = [
    (
        "missing input",
        lambda d: _delete(d, "options.buy.egress_usd_month"),
        "options.buy.egress_usd_month",
        "missing input",
    ),
    (
        "negative cost",
        lambda d: _set(d, "options.buy.compute_usd_month.value", -5),
        "options.buy.compute_usd_month",
        "must be >= 0, got -5",
    ),
    (
        "weights not 100",
        lambda d: _set(d, "weights.maintainability.value", 5),
        "weights",
        "must sum to 100, got 95",
    ),
    (
        "unknown key",
        lambda d: _set(d, "options.build.gpu_usd_month", {"value": 1, "why": "x"}),
        "options.build.gpu_usd_month",
        "unknown key",
    ),
    (
        "misspelt key",
        lambda d: _set(d, "scoring.uptime_floor", {"value": 1, "why": "x"}),
        "scoring.uptime_floor",
        "did you mean 'uptime_floor_pct'?",
    ),
    (
        "non-numeric",
        lambda d: _set(d, "shared.labor_rate_usd_hour.value", "a lot"),
        "shared.labor_rate_usd_hour",
        "must be a number, got 'a lot'",
    ),
    (
        "missing reason",
        lambda d: _delete(d, "options.build.storage_usd_month.why"),
        "options.build.storage_usd_month.why",
        "missing input",
    ),
    (
        "uptime above 100",
        lambda d: _set(d, "options.buy.slo_uptime_pct.value", 100.5),
        "options.buy.slo_uptime_pct",
        "must be <= 100",
    ),
    (
        "bare number instead of {value, why}",
        lambda d: _set(d, "options.build.build_hours", 4800),
        "options.build.build_hours",
        "expected a mapping {value: <number>, why: <one line>}",
    ),
]


def _assert_one_line_exit_2(result: Any, *needles: str) -> str:
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    err = result.stderr
    assert err.endswith("\n") and err.count("\n") == 1, err  # exactly one line
    assert "Traceback" not in result.output
    for needle in needles:
        assert needle in err, err
    return str(err)


@pytest.mark.parametrize(
    ("case", "edit", "field", "problem"), BAD_DOCUMENTS, ids=[c[0] for c in BAD_DOCUMENTS]
)
def test_bad_inputs_exit_2_naming_the_field(
    case: str,
    edit: Callable[[dict[str, Any]], None],
    field: str,
    problem: str,
    small_document: Document,
    write_yaml: Write,
    tmp_path: Path,
) -> None:
    doc = small_document()
    edit(doc)
    path = write_yaml(tmp_path / "inputs.yaml", doc)
    result = runner.invoke(_app(), ["tco", "--inputs", str(path), "--out-dir", str(tmp_path / "out")])
    _assert_one_line_exit_2(result, str(path), f"{field}: ", problem)
    assert not (tmp_path / "out").exists()  # nothing written for bad input
    # the same error as a class, with the field as data
    with pytest.raises(FeatureCacheConfigError) as info:
        load_inputs(path)
    assert isinstance(info.value, TcoInputError)
    assert field in [i.field for i in info.value.issues]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("shared: {labor_rate_usd_hour: {value: [1, why: x}}\n", "line 1"),
        ("shared: 1\nshared: 2\n", "duplicate key 'shared'"),
        ("", "expected a mapping, got an empty file"),
        ("- 1\n- 2\n", "expected a mapping, got list"),
    ],
    ids=["syntax", "duplicate key", "empty", "not a mapping"],
)
def test_unparseable_files_exit_2(text: str, problem: str, tmp_path: Path) -> None:
    path = tmp_path / "inputs.yaml"
    path.write_text(text, encoding="utf-8")
    result = runner.invoke(_app(), ["tco", "--inputs", str(path), "--out-dir", str(tmp_path)])
    _assert_one_line_exit_2(result, str(path), problem)


def test_missing_file_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    result = runner.invoke(_app(), ["tco", "--inputs", str(path), "--out-dir", str(tmp_path)])
    _assert_one_line_exit_2(result, str(path), "cannot read")


def test_several_problems_stay_on_one_line(
    small_document: Document, write_yaml: Write, tmp_path: Path
) -> None:
    doc = small_document()
    _set(doc, "options.buy.compute_usd_month.value", -1)
    _set(doc, "options.build.storage_usd_month.value", -2)
    path = write_yaml(tmp_path / "inputs.yaml", doc)
    result = runner.invoke(_app(), ["tco", "--inputs", str(path)])
    err = _assert_one_line_exit_2(result, "options.buy.compute_usd_month", "options.build.storage_usd_month")
    assert "; " in err


def test_a_good_run_prints_tables_and_writes_json_and_plots(
    small_document: Document, write_yaml: Write, tmp_path: Path
) -> None:
    path = write_yaml(tmp_path / "inputs.yaml", small_document())
    out = tmp_path / "out"
    result = runner.invoke(
        _app(), ["tco", "--inputs", str(path), "--horizon-months", "4", "--out-dir", str(out)]
    )
    assert result.exit_code == 0, result.output
    for heading in ("Monthly and cumulative cost", "Weighted criteria", "Sensitivity", "Decision:"):
        assert heading in result.stdout
    tornado = out / TORNADO_PNG
    assert tornado.read_bytes()[:8] == PNG_MAGIC
    document = json.loads((out / RESULT_JSON).read_text(encoding="utf-8"))
    expected = run_model(load_inputs(path), horizon_months=4)
    assert document["result"]["horizon_months"] == 4
    assert document["result"]["saving_usd"] == pytest.approx(expected.saving_usd)
    assert document["result"]["build"]["tco_usd"] == pytest.approx(8233.1)
    assert len(document["sensitivity"]["rows"]) == 21
    assert {c["story"] for c in document["claims"]} == {"4-feature-store"}


def test_json_format_prints_the_result(small_document: Document, write_yaml: Write, tmp_path: Path) -> None:
    path = write_yaml(tmp_path / "inputs.yaml", small_document())
    args = [
        "tco",
        "--inputs",
        str(path),
        "--horizon-months",
        "4",
        "--out-dir",
        str(tmp_path),
        "--format",
        "json",
    ]
    result = runner.invoke(_app(), args)
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert printed["result"]["buy"]["tco_usd"] == pytest.approx(4750)
    assert printed == json.loads((tmp_path / RESULT_JSON).read_text(encoding="utf-8"))


def test_help_has_examples() -> None:
    result = runner.invoke(_app(), ["tco", "--help"])
    assert result.exit_code == 0
    assert "Examples" in result.stdout and "starlab features tco --horizon-months 24" in result.stdout


def test_horizon_out_of_range_is_a_usage_error(tmp_path: Path) -> None:
    result = runner.invoke(_app(), ["tco", "--horizon-months", "0", "--out-dir", str(tmp_path)])
    assert result.exit_code == 2
