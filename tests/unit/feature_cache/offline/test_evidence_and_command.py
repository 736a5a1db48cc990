"""Claims built from a real (Feast-less) PIT run, and the `pit` command's help, exit code and JSON."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from feature_cache.offline.command import PIT_EPILOG, pit, register
from feature_cache.offline.consistency import ConsistencyReport
from feature_cache.offline.evidence import BACKFILL_TARGET_ROWS_S, STORY, claims_from_pit
from feature_cache.offline.feast_compare import Engine
from feature_cache.offline.pit import PitReport, feast_findings, pit_table, run_pit
from starlab.evidence import Status


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> PitReport:
    return run_pit(tmp_path_factory.mktemp("pit"), feast=False, backfill_rows=5_000)


def consistency(reads: int, bad: int) -> ConsistencyReport:
    return ConsistencyReport(
        reads=reads,
        mismatched_reads=bad,
        no_offline=0,
        features_compared=reads * 6,
        mismatched_features=bad,
        version_differs=0,
        mismatched_by_group={"activity": bad},
        examples=(),
    )


def test_run_without_feast_reports_three_clean_datasets(report: PitReport) -> None:
    assert len(report.datasets) == 3
    for d in report.datasets:
        (e,) = d.engines
        assert e.engine == Engine.STARLAB
        assert e.output_rows == e.spine_rows == d.dataset.spine_rows
        assert (e.leaks, e.wrong_values, e.value_errors) == (0, 0, 0)
    assert report.feast is None and report.feast_note == "skipped (--no-feast)"
    assert feast_findings(report) == []
    assert pit_table(report).row_count == 3


def test_claims_pass_on_a_clean_run_and_are_not_measured_without_input(report: PitReport) -> None:
    leak, cons, backfill = claims_from_pit(report, consistency(1000, 4))
    assert {c.story for c in (leak, cons, backfill)} == {STORY}
    assert leak.measured == 0.0 and leak.status is Status.PASS
    assert leak.details["datasets"] == 3
    assert cons.measured == pytest.approx(0.4) and cons.status is Status.PASS
    assert backfill.claimed == round(BACKFILL_TARGET_ROWS_S, 1)
    assert backfill.measured == report.backfill.rows_per_s  # type: ignore[union-attr]
    none = claims_from_pit(None, None)
    assert [c.status for c in none] == [Status.NOT_MEASURED] * 3


def test_claims_fail_on_leaks_or_high_consistency_error(report: PitReport) -> None:
    d0 = report.datasets[0]
    leaky = dataclasses.replace(d0.engines[0], leaks=3)
    bad = dataclasses.replace(
        report, datasets=(dataclasses.replace(d0, engines=(leaky,)), *report.datasets[1:])
    )
    leak, cons, _ = claims_from_pit(bad, consistency(1000, 5))
    assert leak.status is Status.FAIL and leak.measured > 0  # type: ignore[operator]
    assert cons.status is Status.FAIL  # 0.5% is not < 0.5%


def test_fewer_than_three_datasets_is_not_measured(report: PitReport) -> None:
    short = dataclasses.replace(report, datasets=report.datasets[:2])
    leak = claims_from_pit(short)[0]
    assert leak.status is Status.NOT_MEASURED
    assert "needs 3" in leak.details["note"]


def app() -> typer.Typer:
    a = typer.Typer()
    register(a)
    a.command("noop")(lambda: None)  # two commands, so `pit` is addressed by name as under `features`
    return a


def test_help_has_examples() -> None:
    assert "starlab features pit --no-feast" in PIT_EPILOG
    result = CliRunner().invoke(app(), ["pit", "--help"])
    assert result.exit_code == 0
    assert "--no-feast" in result.output and "Examples" in result.output


def test_pit_command_writes_json_and_exits_zero(tmp_path: Path) -> None:
    out = tmp_path / "pit.json"
    result = CliRunner().invoke(
        app(),
        [
            "pit",
            "--no-feast",
            "--backfill-rows",
            "0",
            "--work-dir",
            str(tmp_path / "w"),
            "--json-out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert [d["dataset"]["name"] for d in data["datasets"]] == [
        "late-corrections",
        "ttl-boundaries",
        "dense-history",
    ]
    assert all(e["leaks"] == 0 and e["leak_rate"] == 0.0 for d in data["datasets"] for e in d["engines"])
    assert data["backfill"] is None
    assert callable(pit)


def test_bad_option_exits_2() -> None:
    result = CliRunner().invoke(app(), ["pit", "--online-calls", "5"])
    assert result.exit_code == 2
