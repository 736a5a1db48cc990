"""`starlab report --compare`: loading runs, flips, the noise threshold, one-sided claims, bad refs."""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from starlab.evidence import (
    Claim,
    Environment,
    EvidenceError,
    Run,
    Status,
    build_report,
    compare_runs,
    list_runs,
    load_run,
    record,
    render_comparison,
)


def claim(metric: str, measured: Any, **kw: Any) -> Claim:
    base: dict[str, Any] = {
        "story": "3-streaming",
        "claim": f"{metric} < 100 ms",
        "metric": metric,
        "unit": "ms",
        "claimed": 100,
        "comparator": "<",
        "method": "p95 over the run",
        "command": "starlab stream slo",
    }
    base.update(kw)
    return Claim(measured=measured, **base)


def build(
    reports: Path,
    run_id: str,
    env: Environment,
    claims: list[Claim],
    params: dict[str, Any] | None = None,
) -> Path:
    """Record `claims` (grouped by story) as the only claims, build, and return the kept run folder."""
    for old in (reports / "latest/claims").glob("*.json"):
        old.unlink()
    for story in dict.fromkeys(c.story for c in claims):
        mine = [c for c in claims if c.story == story]
        record(mine, story, reports, params=params, repo_root=reports)
    return build_report(reports, run_id=run_id, environment=env).run_dir


def runs(tmp_path: Path, env: Environment, a: list[Claim], b: list[Claim]) -> tuple[Run, Run]:
    build(tmp_path, "a", env, a)
    build(tmp_path, "b", env, b)
    return load_run("a", tmp_path), load_run("b", tmp_path)


# --- loading ---------------------------------------------------------------------


def test_a_kept_run_loads_back_with_its_claims_and_params(tmp_path: Path, env: Environment) -> None:
    claims = [claim("p95", 40.0), claim("loss", None, story="2-rankings")]
    build(tmp_path, "r1", env, claims, params={"events": 20000, "seed": 7})
    run = load_run("r1", tmp_path)
    assert run.run_id == "r1"
    assert run.environment == env
    assert [r.story for r in run.records] == ["2-rankings", "3-streaming"]
    assert run.records[1].params == {"events": 20000, "seed": 7}
    assert sorted(run.claims, key=lambda c: c.story) == sorted(claims, key=lambda c: c.story)
    assert run.path == tmp_path / "r1/evidence.json"


@pytest.mark.parametrize("ref", ["latest", "r1", "{tmp}/r1", "{tmp}/r1/evidence.json", "{tmp}/latest"])
def test_a_run_is_named_by_id_latest_or_path(tmp_path: Path, env: Environment, ref: str) -> None:
    build(tmp_path, "r1", env, [claim("p95", 40.0)])
    assert load_run(ref.format(tmp=tmp_path), tmp_path).run_id == "r1"


def test_runs_are_listed_oldest_first(tmp_path: Path, env: Environment) -> None:
    for run_id in ("20261202T120501Z-aaaaaaa", "20261201T090000Z", "20261203T000000Z-bbbbbbb"):
        build(tmp_path, run_id, env, [claim("p95", 40.0)])
    (tmp_path / "not-a-run").mkdir()
    assert list_runs(tmp_path) == ["20261201T090000Z", "20261202T120501Z-aaaaaaa", "20261203T000000Z-bbbbbbb"]


def test_an_unknown_ref_names_what_there_is(tmp_path: Path, env: Environment) -> None:
    build(tmp_path, "r1", env, [claim("p95", 40.0)])
    with pytest.raises(EvidenceError, match=r"no run 'nope'.*\(newest: r1\)"):
        load_run("nope", tmp_path)
    with pytest.raises(EvidenceError, match=r"no run '\.\./r1'"):
        load_run("../r1", tmp_path / "sub")  # a path that does not exist from here


def test_latest_before_any_build_says_what_to_run(tmp_path: Path) -> None:
    with pytest.raises(EvidenceError, match=r"run 'latest' has no .*evidence\.json: run `starlab report`"):
        load_run("latest", tmp_path)


def test_a_schema_version_1_report_is_refused_clearly(tmp_path: Path) -> None:
    old = tmp_path / "evidence.json"
    old.write_text(json.dumps([claim("p95", 40.0).to_dict()]))  # the bare list written before run ids
    with pytest.raises(EvidenceError, match=r"schema-version-1 report .*a bare list of claims"):
        load_run(old, tmp_path)


def test_an_unknown_schema_version_is_refused(tmp_path: Path, env: Environment) -> None:
    run = build(tmp_path, "r1", env, [claim("p95", 40.0)])
    doc = json.loads((run / "evidence.json").read_text())
    doc["schema_version"] = 3
    (run / "evidence.json").write_text(json.dumps(doc))
    with pytest.raises(EvidenceError, match="schema_version 3; this starlab reads 2"):
        load_run("r1", tmp_path)


def test_a_file_that_breaks_the_schema_is_refused_with_its_path(tmp_path: Path, env: Environment) -> None:
    run = build(tmp_path, "r1", env, [claim("p95", 40.0)])
    doc = json.loads((run / "evidence.json").read_text())
    doc["claims"][0]["method"] = ""
    (run / "evidence.json").write_text(json.dumps(doc))
    with pytest.raises(EvidenceError, match=r"r1/evidence.json does not match .* at \$\.claims\[0\]\.method"):
        load_run("r1", tmp_path)


def test_a_file_that_is_not_json_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "evidence.json"
    bad.write_text("{not json")
    with pytest.raises(EvidenceError, match="cannot read"):
        load_run(bad, tmp_path)


# --- comparing -------------------------------------------------------------------


def test_flips_are_found_whichever_way(tmp_path: Path, env: Environment) -> None:
    a, b = runs(
        tmp_path,
        env,
        [claim("p95", 40.0), claim("p99", 150.0), claim("loss", None), claim("same", 50.0)],
        [claim("p95", 140.0), claim("p99", 90.0), claim("loss", 10.0), claim("same", 50.0)],
    )
    c = compare_runs(a, b)
    flips = {x.metric: (x.status_a, x.status_b) for x in c.flipped}
    assert flips == {
        "p95": (Status.PASS, Status.FAIL),
        "p99": (Status.FAIL, Status.PASS),
        "loss": (Status.NOT_MEASURED, Status.PASS),
    }
    assert c.moved == ()  # a flip is reported once, as a flip
    assert c.unchanged == 1
    assert c.differences == ()


@pytest.mark.parametrize(
    ("before", "after", "moved"),
    [
        (50.0, 55.0, False),  # exactly 10%: noise
        (2.0, 2.2, False),  # 10% in binary floating point is 0.10000000000000009: still noise
        (50.0, 45.0, False),
        (50.0, 55.5, True),  # 11%
        (50.0, 44.5, True),
        (0.0, 0.0, False),
        (0.0, 1.0, True),  # from zero there is no relative size: it moved
    ],
)
def test_the_noise_threshold(
    tmp_path: Path, env: Environment, before: float, after: float, moved: bool
) -> None:
    a, b = runs(tmp_path, env, [claim("p95", before)], [claim("p95", after)])
    c = compare_runs(a, b, noise=0.10)
    assert (len(c.moved), c.unchanged) == ((1, 0) if moved else (0, 1))
    if moved:
        change = c.moved[0]
        assert (change.measured_a, change.measured_b) == (before, after)


def test_noise_is_a_parameter(tmp_path: Path, env: Environment) -> None:
    a, b = runs(tmp_path, env, [claim("p95", 50.0)], [claim("p95", 60.0)])
    assert len(compare_runs(a, b, noise=0.10).moved) == 1
    assert compare_runs(a, b, noise=0.25).moved == ()
    moved = compare_runs(a, b, noise=0.0).moved[0]
    assert moved.relative == pytest.approx(0.2)
    assert moved.change_text() == "+20%"
    with pytest.raises(EvidenceError, match="noise"):
        compare_runs(a, b, noise=-0.1)


def test_claims_in_one_run_only(tmp_path: Path, env: Environment) -> None:
    a, b = runs(
        tmp_path,
        env,
        [claim("p95", 40.0), claim("gone", 1.0)],
        [claim("p95", 40.0), claim("new", 1.0, story="2-rankings")],
    )
    c = compare_runs(a, b)
    assert [x.metric for x in c.only_in_a] == ["gone"]
    assert [(x.story, x.metric) for x in c.only_in_b] == [("2-rankings", "new")]
    assert c.unchanged == 1


def test_a_repeated_metric_is_matched_by_claim_text(tmp_path: Path, env: Environment) -> None:
    a, b = runs(
        tmp_path,
        env,
        [claim("p95", 40.0, claim="p95 steady"), claim("p95", 90.0, claim="p95 during failover")],
        [claim("p95", 40.0, claim="p95 steady"), claim("p95", 120.0, claim="p95 during failover")],
    )
    c = compare_runs(a, b)
    assert [x.claim for x in c.flipped] == ["p95 during failover"]
    assert c.unchanged == 1
    assert not c.only_in_a and not c.only_in_b


def test_a_reworded_claim_still_matches_by_metric(tmp_path: Path, env: Environment) -> None:
    a, b = runs(tmp_path, env, [claim("p95", 40.0, claim="old text")], [claim("p95", 40.0, claim="new text")])
    c = compare_runs(a, b)
    assert c.unchanged == 1 and not c.only_in_a and not c.only_in_b


def test_environment_and_params_changes_are_listed(tmp_path: Path, env: Environment) -> None:
    build(tmp_path, "a", env, [claim("p95", 40.0)], params={"events": 20000, "seed": 7})
    other = dataclasses.replace(env, cpus_usable=2, packages={"duckdb": "1.2.0"}, git_commit="b" * 40)
    build(tmp_path, "b", other, [claim("p95", 40.0)], params={"events": 50000, "seed": 7})
    c = compare_runs(load_run("a", tmp_path), load_run("b", tmp_path))
    diffs = {d.field: (d.a, d.b) for d in c.differences}
    assert diffs == {
        "cpus_usable": ("8", "2"),
        "git_commit": (env.git_commit, "b" * 40),
        "packages.confluent-kafka": ("2.16.0", None),
        "packages.duckdb": ("1.1.3", "1.2.0"),
        "params.3-streaming.events": ("20000", "50000"),
    }


def test_render_comparison(tmp_path: Path, env: Environment) -> None:
    a, b = runs(
        tmp_path,
        env,
        [claim("p95", 40.0, claim="p95 | warm"), claim("p99", 50.0), claim("gone", 1.0)],
        [claim("p95", 140.0, claim="p95 | warm"), claim("p99", 80.0)],
    )
    text = render_comparison(compare_runs(a, b))
    assert text.startswith("# a (A) \u2192 b (B)\n")
    assert "1 flipped, 1 moved beyond 10%, 0 unchanged, 1 only in A, 0 only in B." in text
    assert "| 3-streaming | p95 \\| warm | pass (40 ms) | fail (140 ms) |" in text
    assert "| 3-streaming | p99 < 100 ms | pass (50 ms) | pass (80 ms) | +60% |" in text
    assert "## Only in A\n\n- 3-streaming: gone < 100 ms (pass)" in text
    assert "Environment" not in text  # nothing differs


# --- the command -----------------------------------------------------------------


@pytest.fixture
def cli_reports(tmp_path: Path, env: Environment, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    from starlab.settings import get_settings

    build(tmp_path, "a", env, [claim("p95", 40.0), claim("p99", 50.0)])
    build(tmp_path, "b", env, [claim("p95", 140.0), claim("p99", 80.0)])
    monkeypatch.setenv("STARLAB_REPORTS_DIR", str(tmp_path))
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def test_report_compare_prints_flips_and_exits_0(cli_reports: Path) -> None:
    from starlab.cli import app

    result = CliRunner().invoke(app, ["report", "--compare", "a", "b"], env={"COLUMNS": "160"})
    assert result.exit_code == 0, result.output
    assert "1 flipped, 1 moved beyond 10%" in result.output
    assert "pass (40 ms)" in result.output and "fail (140 ms)" in result.output
    assert "+60%" in result.output
    assert json.loads((cli_reports / "latest/evidence.json").read_text())["run_id"] == "b"  # not rebuilt
    assert list_runs(cli_reports) == ["a", "b"]


def test_report_compare_noise_option(cli_reports: Path) -> None:
    from starlab.cli import app

    result = CliRunner().invoke(app, ["report", "--compare", "a", "latest", "--noise", "0.7"])
    assert result.exit_code == 0, result.output
    assert "1 flipped, 0 moved beyond 70%" in result.output


def test_report_compare_bad_ref_is_one_line_and_exit_2(
    cli_reports: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from starlab.cli import main

    monkeypatch.setattr(sys, "argv", ["starlab", "report", "--compare", "a", "nope"])
    with pytest.raises(SystemExit) as info:
        main()
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "error: no run 'nope'" in " ".join(err.split())
    assert "Traceback" not in err


def test_report_without_compare_builds_and_keeps_the_run(cli_reports: Path) -> None:
    from starlab.cli import app

    result = CliRunner().invoke(app, ["report"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "kept run" in result.output
    assert len(list_runs(cli_reports)) == 3
