"""Evidence report: comparator logic, per-story files, merge, JSON/MD/HTML output, kept runs."""

from __future__ import annotations

import base64
import json
import math
import os
import re
from pathlib import Path
from typing import Any

import pytest
from matplotlib.figure import Figure

from starlab.errors import StarlabError
from starlab.evidence import (
    Claim,
    Comparator,
    Environment,
    EvidenceError,
    Status,
    StoryParams,
    StoryRecord,
    build_report,
    default_run_id,
    git_commit,
    load_story_records,
    record,
    save_plot,
)

SHA_A = "a" * 40
SHA_B = "0123456789abcdef0123456789abcdef01234567"


def make(comparator: str, claimed: Any, measured: Any, **kw: Any) -> Claim:
    base: dict[str, Any] = {
        "story": "3-streaming",
        "claim": "freshness < 5 minutes",
        "metric": "freshness_p95",
        "unit": "min",
        "method": "now - max(ingest_ts)",
        "command": "starlab stream slo",
    }
    base.update(kw)
    return Claim(comparator=comparator, claimed=claimed, measured=measured, **base)


# --- comparators -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("comparator", "claimed", "measured", "expected"),
    [
        ("<", 5, 4.99, True),
        ("<", 5, 5, False),
        ("<", 5, 6, False),
        ("<=", 5, 5, True),
        ("<=", 5, 5.01, False),
        (">", 99.9, 99.95, True),
        (">", 99.9, 99.9, False),
        (">=", 0.999, 0.999, True),
        (">=", 0.999, 0.998, False),
        ("==", 0, 0, True),
        ("==", 0.3, 0.1 + 0.2, True),  # float noise is not a failure
        ("==", 0, 0.001, False),
        ("range", (65, 90), 65, True),  # inclusive bounds
        ("range", (65, 90), 90, True),
        ("range", (65, 90), 77.5, True),
        ("range", (65, 90), 64.9, False),
        ("range", (65, 90), 90.1, False),
        ("==", "exactly-once", "exactly-once", True),
        ("==", "exactly-once", "at-least-once", False),
    ],
)
def test_comparators(comparator: str, claimed: Any, measured: Any, expected: bool) -> None:
    c = make(comparator, claimed, measured)
    assert c.passed is expected
    assert c.status is (Status.PASS if expected else Status.FAIL)


@pytest.mark.parametrize("comparator", [c.value for c in Comparator])
def test_missing_measurement_is_never_a_pass(comparator: str) -> None:
    claimed: Any = (1, 2) if comparator == "range" else 1
    c = make(comparator, claimed, None)
    assert c.passed is None
    assert c.status is Status.NOT_MEASURED
    assert c.to_dict()["passed"] is None
    assert c.to_dict()["status"] == "not measured"


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_nan_or_inf_measurement_is_not_measured(bad: float) -> None:
    c = make("<", 5, bad)
    assert c.measured is None
    assert c.status is Status.NOT_MEASURED


def test_bool_measurement_compares_as_one_or_zero() -> None:
    assert make("==", 1, True).passed is True
    assert make("==", 1, False).passed is False


def test_with_measured_fills_value_and_merges_details() -> None:
    c = make("<", 5, None, details={"window": "10 min"})
    m = c.with_measured(2.5, samples=120)
    assert m.passed is True
    assert m.details == {"window": "10 min", "samples": 120}
    assert c.measured is None  # the original is unchanged (frozen)


@pytest.mark.parametrize(
    ("comparator", "claimed", "measured", "match"),
    [
        ("~", 5, 1, "comparator"),
        ("range", 5, 1, "pair"),
        ("range", (90, 65), 70, "lo <= hi"),
        ("range", (1, 2, 3), 2, "pair"),
        ("<", "five", 1, "only works with '=='"),
        ("<", 5, "fast", "string"),
        ("<", math.nan, 1, "finite"),
    ],
)
def test_invalid_claims_raise(comparator: str, claimed: Any, measured: Any, match: str) -> None:
    with pytest.raises(EvidenceError, match=match):
        make(comparator, claimed, measured)


@pytest.mark.parametrize("story", ["", "../etc", "a/b", ".hidden"])
def test_story_id_must_be_a_safe_file_name(story: str) -> None:
    with pytest.raises(EvidenceError, match="story id"):
        make("<", 5, 1, story=story)


def test_evidence_error_is_a_starlab_error() -> None:
    assert issubclass(EvidenceError, StarlabError)


def test_claimed_and_measured_text() -> None:
    assert make("range", (65, 90), 70).claimed_text() == "65\u201390 min"
    assert make("<", 0.1, 0.03, unit="%").claimed_text() == "< 0.1 %"
    assert make("<", 0.1, 0.03, unit="%").measured_text() == "0.03 %"
    assert make("<", 5, None).measured_text() == "\u2014"


@pytest.mark.parametrize(
    ("comparator", "claimed", "measured", "shown"),
    [
        ("<=", 3, 1.8333333333, "1.83"),  # 3 significant digits when the verdict allows
        ("<=", -35, -96.4398752585872, "-96.4"),
        ("<=", 10, 10.0412, "10.04"),  # "10" would read as a pass of "<= 10"
        (">=", 99.95, 99.965, "99.97"),  # the claimed figure's decimals, not a rounded-up "100"
        ("<", 10, 9.9996, "9.9996"),  # "10.0" would fail "< 10": more digits until the verdict holds
        ("<=", 2, 2.0004, "2.0004"),  # "2" would sit on the bound and pass
        ("<", 300, 8.8, "8.8"),
        ("<", 5, 3.0, "3"),
    ],
)
def test_measured_text_is_as_short_as_its_verdict_allows(
    comparator: str, claimed: float, measured: float, shown: str
) -> None:
    c = make(comparator, claimed, measured)
    assert c.measured_text() == f"{shown} {c.unit}".strip()
    assert c.to_dict()["measured"] == measured  # the JSON keeps the exact value


# --- JSON round trip -------------------------------------------------------------


@pytest.mark.parametrize(
    "claim",
    [
        make("range", (65, 90), 72.25, details={"n": 3, "nested": {"p95": 71.0}}),
        make("<", 5, None),
        make("==", "exactly-once", "exactly-once"),
        make(">=", 0.999, 0.9997, unit="ratio"),
    ],
)
def test_json_round_trip(claim: Claim) -> None:
    text = json.dumps(claim.to_dict())
    back = Claim.from_dict(json.loads(text))
    assert back == claim
    assert back.passed == claim.passed


def test_from_dict_recomputes_pass_and_ignores_stored_verdict() -> None:
    d = make("<", 5, 9).to_dict()
    d["passed"] = True  # a tampered or stale verdict
    d["status"] = "pass"
    assert Claim.from_dict(d).passed is False


def test_from_dict_missing_field_raises() -> None:
    d = make("<", 5, 1).to_dict()
    del d["command"]
    with pytest.raises(EvidenceError, match="command"):
        Claim.from_dict(d)


def test_from_dict_without_a_measured_key_raises_instead_of_reading_not_measured() -> None:
    d = make("<", 5, 1).to_dict()
    d["value"] = d.pop("measured")  # a renamed key
    with pytest.raises(EvidenceError, match="lacks measured"):
        Claim.from_dict(d)
    assert Claim.from_dict({**d, "measured": None}).status is Status.NOT_MEASURED


def test_details_with_paths_and_nan_are_written_as_json(tmp_path: Path) -> None:
    c = make("<", 5, 1, details={"file": Path("data/lake"), "ratio": math.nan, "ids": (1, 2)})
    assert c.to_dict()["details"] == {"file": "data/lake", "ratio": "nan", "ids": [1, 2]}
    record([c], "3-streaming", tmp_path, repo_root=tmp_path)
    json.loads((tmp_path / "latest/claims/3-streaming.json").read_text())  # strict JSON


def test_unserialisable_details_raise() -> None:
    with pytest.raises(EvidenceError, match="details"):
        make("<", 5, 1, details={"x": object()}).to_dict()


# --- record / merge / build ------------------------------------------------------


def fake_repo(root: Path, sha: str = SHA_A) -> Path:
    (root / ".git/refs/heads").mkdir(parents=True)
    (root / ".git/HEAD").write_text("ref: refs/heads/main\n")
    (root / ".git/refs/heads/main").write_text(sha + "\n")
    return root


def streaming_claims() -> list[Claim]:
    return [
        make("<", 5, 2.4, claim="freshness < 5 minutes (p95)"),
        make("<", 0.1, 0.03, claim="end-to-end loss < 0.1%", metric="loss_rate", unit="%"),
        make("<", 3, None, claim="p95 end-to-end < 3 min", metric="e2e_p95"),
    ]


def rankings_claims() -> list[Claim]:
    return [
        make("range", (65, 90), 95, story="2-rankings", claim="freshness 65-90 minutes"),
        make(
            "<",
            200,
            180,
            story="2-rankings",
            claim="API p95 < 200 ms | warm cache",
            metric="api_p95",
            unit="ms",
            command="starlab rankings bench --n `1000`",
        ),
    ]


def test_record_writes_story_file_with_timestamp_and_commit(tmp_path: Path) -> None:
    repo = fake_repo(tmp_path / "repo")
    path = record(streaming_claims(), "3-streaming", tmp_path / "reports", repo_root=repo)
    assert path == tmp_path / "reports/latest/claims/3-streaming.json"
    data = json.loads(path.read_text())
    assert data["story"] == "3-streaming"
    assert data["git_commit"] == SHA_A
    assert data["recorded_at"].endswith("+00:00")
    assert [c["claim"] for c in data["claims"]] == [c.claim for c in streaming_claims()]


def test_the_topology_a_story_ran_on_reaches_every_view_of_the_report(tmp_path: Path) -> None:
    record(streaming_claims(), "3-streaming", tmp_path, topology="cluster", repo_root=tmp_path)
    record(rankings_claims(), "2-rankings", tmp_path, repo_root=tmp_path)  # an older file: unstated
    built = build_report(tmp_path)
    by_story: dict[str, set[object]] = {}
    for entry in json.loads(built.json_path.read_text())["claims"]:
        by_story.setdefault(str(entry["story"]), set()).add(entry["topology"])
    assert by_story == {"3-streaming": {"cluster"}, "2-rankings": {None}}
    md = built.md_path.read_text()
    assert md.count("on the cluster topology") == 1
    assert "on the cluster topology" in built.html_path.read_text()


def test_record_overwrites_only_its_own_story(tmp_path: Path) -> None:
    record(streaming_claims(), "3-streaming", tmp_path, repo_root=tmp_path)
    record(rankings_claims(), "2-rankings", tmp_path, repo_root=tmp_path)
    record(streaming_claims()[:1], "3-streaming", tmp_path, repo_root=tmp_path)
    by_story = {r.story: r for r in load_story_records(tmp_path)}
    assert len(by_story["3-streaming"].claims) == 1
    assert len(by_story["2-rankings"].claims) == 2
    assert by_story["3-streaming"].git_commit is None  # tmp_path has no .git


def test_record_rejects_claims_of_another_story(tmp_path: Path) -> None:
    with pytest.raises(EvidenceError, match="2-rankings"):
        record(rankings_claims(), "3-streaming", tmp_path, repo_root=tmp_path)


def test_build_report_merges_two_stories(tmp_path: Path) -> None:
    record(streaming_claims(), "3-streaming", tmp_path, repo_root=fake_repo(tmp_path / "r"))
    record(rankings_claims(), "2-rankings", tmp_path, repo_root=tmp_path)
    built = build_report(tmp_path)

    doc = json.loads(built.json_path.read_text())
    assert doc["schema_version"] == 2
    assert [s["story"] for s in doc["stories"]] == ["2-rankings", "3-streaming"]
    entries = doc["claims"]
    # natural story order, then each story's own claim order
    assert [(e["story"], e["claim"]) for e in entries] == [
        (c.story, c.claim) for c in rankings_claims() + streaming_claims()
    ]
    required = {
        "story",
        "claim",
        "metric",
        "unit",
        "claimed",
        "measured",
        "passed",
        "method",
        "command",
    }
    assert all(required <= e.keys() for e in entries)
    assert [e["status"] for e in entries] == ["fail", "pass", "pass", "pass", "not measured"]
    assert entries[2]["git_commit"] == SHA_A
    assert entries[0]["git_commit"] is None
    assert built.counts == {Status.PASS: 3, Status.FAIL: 1, Status.NOT_MEASURED: 1}
    assert not built.all_passed


def test_stories_sort_naturally(tmp_path: Path) -> None:
    # "10-..." sorts after "2-..." (a plain string sort would put it first).
    record([make("<", 5, 1, story="10-extra")], "10-extra", tmp_path, repo_root=tmp_path)
    record(rankings_claims(), "2-rankings", tmp_path, repo_root=tmp_path)
    assert [r.story for r in load_story_records(tmp_path)] == ["2-rankings", "10-extra"]
    md = build_report(tmp_path).md_path.read_text()
    assert md.index("## 2-rankings") < md.index("## 10-extra")


def test_evidence_json_round_trips_to_claims(tmp_path: Path) -> None:
    record(streaming_claims(), "3-streaming", tmp_path, repo_root=tmp_path)
    built = build_report(tmp_path)
    entries = json.loads(built.json_path.read_text())["claims"]
    assert [Claim.from_dict(e) for e in entries] == streaming_claims()


def test_markdown_and_html_contain_every_claim(tmp_path: Path) -> None:
    record(streaming_claims(), "3-streaming", tmp_path, repo_root=tmp_path)
    record(rankings_claims(), "2-rankings", tmp_path, repo_root=tmp_path)
    built = build_report(tmp_path)
    raw_md = built.md_path.read_text()
    page = built.html_path.read_text()
    # Each claim's row carries the anchor a STAR script links to (starlab.evidence.star.claim_anchor).
    assert '| <a id="claim-3-streaming-e2e_p95"></a>p95 end-to-end < 3 min |' in raw_md
    assert '<tr class="pass" id="claim-2-rankings-api_p95">' in page
    md = re.sub(r'<a id="[^"]+"></a>', "", raw_md)

    assert md.index("## 2-rankings") < md.index("## 3-streaming")
    assert "| claim | claimed | measured | pass | how | command |" in md
    assert "API p95 < 200 ms \\| warm cache" in md  # pipe escaped, row intact
    assert "| `` starlab rankings bench --n `1000` `` |" in md  # backticks in a command
    assert "| freshness < 5 minutes (p95) | < 5 min | 2.4 min | PASS |" in md
    assert "| freshness 65-90 minutes | 65\u201390 min | 95 min | FAIL |" in md
    assert "| p95 end-to-end < 3 min | < 3 min | \u2014 | NOT MEASURED |" in md
    assert "5 claims: 3 pass, 1 fail, 1 not measured." in md

    for c in streaming_claims() + rankings_claims():
        assert f"| {c.claim.replace('|', chr(92) + '|')} |" in md
        assert c.claim.replace("<", "&lt;") in page
    assert '<tr class="fail"' in page
    assert '<tr class="not-measured"' in page
    assert page.count('<tr class="pass"') == 3
    assert "<code>starlab stream slo</code>" in page
    assert "<script" not in page  # self-contained, static


def test_html_escapes_claim_text(tmp_path: Path) -> None:
    c = make("<", 5, 1, claim="<b>bold</b> & co")
    record([c], "3-streaming", tmp_path, repo_root=tmp_path)
    page = build_report(tmp_path).html_path.read_text()
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; co" in page
    assert "<b>bold</b>" not in page


def test_build_report_without_claims_raises(tmp_path: Path) -> None:
    with pytest.raises(EvidenceError, match="no claims recorded"):
        build_report(tmp_path)


def test_build_report_names_a_corrupt_file(tmp_path: Path) -> None:
    folder = tmp_path / "latest/claims"
    folder.mkdir(parents=True)
    (folder / "1-contracts.json").write_text("{not json")
    with pytest.raises(EvidenceError, match=re.escape("1-contracts.json")):
        build_report(tmp_path)


def test_reports_dir_defaults_to_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from starlab.settings import get_settings

    monkeypatch.setenv("STARLAB_REPORTS_DIR", str(tmp_path / "rep"))
    get_settings.cache_clear()
    try:
        path = record(streaming_claims(), "3-streaming", repo_root=tmp_path)
        assert path == tmp_path / "rep/latest/claims/3-streaming.json"
        assert build_report().json_path == tmp_path / "rep/latest/evidence.json"
    finally:
        get_settings.cache_clear()


# --- the envelope, story params and kept runs -----------------------------------


def test_evidence_json_carries_the_run_and_its_environment(tmp_path: Path, env: Environment) -> None:
    record(streaming_claims(), "3-streaming", tmp_path, repo_root=tmp_path)
    built = build_report(tmp_path, run_id="run-1", environment=env)
    doc = json.loads(built.json_path.read_text())
    assert list(doc) == ["schema_version", "run_id", "generated_at", "environment", "stories", "claims"]
    assert doc["run_id"] == built.run_id == "run-1"
    assert doc["generated_at"].endswith("+00:00")
    assert doc["environment"] == env.to_dict()
    assert built.environment == env


def test_story_params_reach_the_story_file_and_evidence_json(tmp_path: Path) -> None:
    params: StoryParams = {"events": 20000, "seed": 7, "rate": 5.0, "faults": False, "sink": "kafka"}
    path = record(streaming_claims(), "3-streaming", tmp_path, params=params, repo_root=tmp_path)
    assert json.loads(path.read_text())["params"] == params
    assert load_story_records(tmp_path)[0].params == params
    doc = json.loads(build_report(tmp_path).json_path.read_text())
    assert doc["stories"][0]["params"] == params


def test_a_story_file_without_params_loads_with_none(tmp_path: Path) -> None:
    path = record(streaming_claims(), "3-streaming", tmp_path, repo_root=tmp_path)
    data = json.loads(path.read_text())
    del data["params"]  # written before params existed
    assert StoryRecord.from_dict(data).params == {}


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"sizes": [1, 2]}, "string, number or bool"),
        ({"events": None}, "string, number or bool"),
        ({"rate": math.nan}, "finite"),
        ({"": 1}, "non-empty"),
    ],
)
def test_params_must_be_finite_scalars(tmp_path: Path, params: dict[str, Any], match: str) -> None:
    with pytest.raises(EvidenceError, match=match):
        record(streaming_claims(), "3-streaming", tmp_path, params=params, repo_root=tmp_path)


def test_numpy_params_are_unwrapped(tmp_path: Path) -> None:
    import numpy as np

    params: dict[str, Any] = {"n": np.int64(5)}  # not a ParamValue to mypy, accepted at run time
    path = record(streaming_claims(), "3-streaming", tmp_path, params=params, repo_root=tmp_path)
    assert json.loads(path.read_text())["params"] == {"n": 5}


def test_build_keeps_the_run_in_its_own_folder(tmp_path: Path, env: Environment) -> None:
    save_plot(Figure(figsize=(1, 1)), "3-streaming-freshness", tmp_path)
    record(streaming_claims(), "3-streaming", tmp_path, repo_root=tmp_path)
    record(rankings_claims(), "2-rankings", tmp_path, repo_root=tmp_path)
    built = build_report(tmp_path, run_id="20261202T120501Z-cdc5efd", environment=env)

    run = tmp_path / "20261202T120501Z-cdc5efd"
    assert built.run_dir == run
    for name in ("evidence.json", "evidence.md", "evidence.html"):
        assert (run / name).read_bytes() == (tmp_path / "latest" / name).read_bytes()
    assert sorted(p.name for p in (run / "claims").iterdir()) == ["2-rankings.json", "3-streaming.json"]
    kept = StoryRecord.from_dict(json.loads((run / "claims/3-streaming.json").read_text()))
    assert list(kept.claims) == streaming_claims()
    assert (run / "plots/3-streaming-freshness.png").read_bytes().startswith(b"\x89PNG")
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging folder left


def test_a_run_id_used_again_replaces_the_folder(tmp_path: Path, env: Environment) -> None:
    save_plot(Figure(figsize=(1, 1)), "3-streaming-old", tmp_path)
    record(streaming_claims(), "3-streaming", tmp_path, repo_root=tmp_path)
    build_report(tmp_path, run_id="r", environment=env)
    (tmp_path / "latest/plots/3-streaming-old.png").unlink()
    record(streaming_claims()[:1], "3-streaming", tmp_path, repo_root=tmp_path)
    build_report(tmp_path, run_id="r", environment=env)
    assert not (tmp_path / "r/plots").exists()  # the earlier run's plot is not carried over
    assert len(json.loads((tmp_path / "r/evidence.json").read_text())["claims"]) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["latest", "r"]


def test_only_the_newest_runs_are_kept(tmp_path: Path, env: Environment) -> None:
    record(streaming_claims(), "3-streaming", tmp_path, repo_root=tmp_path)
    (tmp_path / "artifacts").mkdir()  # not a run: never pruned
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "evidence.json").write_text("{}")  # looks like a run: oldest, pruned first
    os.utime(tmp_path / "notes" / "evidence.json", (1, 1))
    # Write times set apart explicitly: the file system's clock may not tell quick builds apart.
    for i, run_id in enumerate(("z-first", "a-second", "m-third"), 1):
        build_report(tmp_path, run_id=run_id, environment=env, keep_runs=2)
        os.utime(tmp_path / run_id / "evidence.json", (1000 * i, 1000 * i))
    # by write time, not by name: "z-first" is the oldest run
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-second", "artifacts", "latest", "m-third"]
    with pytest.raises(EvidenceError, match="at least 1"):
        build_report(tmp_path, run_id="x", environment=env, keep_runs=0)
    assert not (tmp_path / "x").exists()  # refused before anything was written


def test_default_run_id_is_utc_time_and_short_commit(tmp_path: Path, env: Environment) -> None:
    from datetime import UTC, datetime, timedelta, timezone

    at = datetime(2026, 12, 2, 13, 5, 1, tzinfo=timezone(timedelta(hours=1)))
    assert default_run_id(SHA_B, at) == "20261202T120501Z-0123456"
    assert default_run_id(None, at.astimezone(UTC)) == "20261202T120501Z"
    record(streaming_claims(), "3-streaming", tmp_path, repo_root=tmp_path)
    built = build_report(tmp_path, environment=env)
    assert re.fullmatch(r"\d{8}T\d{6}Z-cdc5efd", built.run_id)
    assert (tmp_path / built.run_id / "evidence.json").is_file()


@pytest.mark.parametrize("run_id", ["latest", "../up", "a/b", ".hidden", "", "x" * 101])
def test_run_id_must_name_a_folder(tmp_path: Path, env: Environment, run_id: str) -> None:
    record(streaming_claims(), "3-streaming", tmp_path, repo_root=tmp_path)
    with pytest.raises(EvidenceError, match="run id"):
        build_report(tmp_path, run_id=run_id, environment=env)
    assert not (tmp_path / "latest/evidence.json").exists()


# --- plots -----------------------------------------------------------------------


def test_save_plot_and_html_embeds_it(tmp_path: Path) -> None:
    fig = Figure(figsize=(2, 1.5))
    fig.add_subplot().plot([0, 1, 2], [3, 1, 2])
    path = save_plot(fig, "3-streaming-freshness", tmp_path)
    assert path == tmp_path / "latest/plots/3-streaming-freshness.png"
    png = path.read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")

    record(streaming_claims(), "3-streaming", tmp_path, repo_root=tmp_path)
    built = build_report(tmp_path)
    page = built.html_path.read_text()
    assert f"data:image/png;base64,{base64.b64encode(png).decode()}" in page
    # shown inside the story's section, not under "Other plots"
    section = page[page.index('<section id="3-streaming">') :]
    assert "3-streaming-freshness" in section[: section.index("</section>")]
    assert "Other plots" not in page
    assert "![3-streaming-freshness](plots/3-streaming-freshness.png)" in built.md_path.read_text()


def test_plot_of_unknown_story_goes_to_other_plots(tmp_path: Path) -> None:
    fig = Figure(figsize=(1, 1))
    save_plot(fig, "overview.png", tmp_path)
    record(streaming_claims(), "3-streaming", tmp_path, repo_root=tmp_path)
    page = build_report(tmp_path).html_path.read_text()
    assert page.index("Other plots") < page.index('alt="overview"')


def test_save_plot_rejects_path_names(tmp_path: Path) -> None:
    with pytest.raises(EvidenceError, match="plot name"):
        save_plot(Figure(), "../escape", tmp_path)


# --- git commit ------------------------------------------------------------------


def test_git_commit_loose_ref(tmp_path: Path) -> None:
    assert git_commit(fake_repo(tmp_path, SHA_B)) == SHA_B


def test_git_commit_packed_ref(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git/HEAD").write_text("ref: refs/heads/main\n")
    (tmp_path / ".git/packed-refs").write_text(
        f"# pack-refs with: peeled fully-peeled sorted\n{SHA_A} refs/heads/other\n{SHA_B} refs/heads/main\n"
    )
    assert git_commit(tmp_path) == SHA_B


def test_git_commit_detached_head_and_worktree_file(tmp_path: Path) -> None:
    gitdir = tmp_path / "elsewhere"
    gitdir.mkdir()
    (gitdir / "HEAD").write_text(SHA_B + "\n")
    repo = tmp_path / "wt"
    repo.mkdir()
    (repo / ".git").write_text("gitdir: ../elsewhere\n")
    assert git_commit(repo) == SHA_B


def test_git_commit_none_without_repo_or_commit(tmp_path: Path) -> None:
    assert git_commit(tmp_path) is None
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git/HEAD").write_text("ref: refs/heads/main\n")  # unborn branch
    assert git_commit(tmp_path) is None
