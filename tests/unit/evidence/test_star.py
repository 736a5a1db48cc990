"""STAR scripts: Result figures come from this run's claims, never from the script; sizes; deep dives."""

from __future__ import annotations

import ast
import importlib
import shlex
from collections import defaultdict
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import typer

from starlab.errors import ConfigError
from starlab.evidence.claim import Claim, EvidenceError
from starlab.evidence.star import (
    NOT_MEASURED,
    SPOKEN_WORDS,
    DiveStep,
    ResultLine,
    StarScript,
    claim_anchor,
    render_star,
    spoken_value,
    word_count,
    write_star_scripts,
)
from starlab.evidence.store import StoryRecord
from starlab.settings import ROOT
from starlab.story import Story, registered
from tests.support.claims import scan

STORY = "9-demo"
FILLER = "word " * 75  # keeps the toy script's spoken part inside 225-300 words


def claim(
    metric: str, measured: Any, *, unit: str = "s", claimed: Any = 300.0, comparator: str = "<"
) -> Claim:
    return Claim(
        story=STORY,
        claim=f"{metric} holds",
        metric=metric,
        unit=unit,
        claimed=claimed,
        comparator=comparator,
        measured=measured,
        method="measured in a test",
        command="starlab demo",
    )


def rec(*claims: Claim, story: str = STORY) -> StoryRecord:
    return StoryRecord(
        story=story, recorded_at="2026-01-02T03:04:05+00:00", git_commit="ab" * 20, claims=claims
    )


def script(
    *lines: str, story_id: str = STORY, script_id: str | None = None, filler: str = FILLER
) -> StarScript:
    return StarScript(
        story_id=story_id,
        script_id=script_id,
        title="A toy story",
        situation=f"Situation {filler}",
        task=f"Task {filler}",
        action=f"Action {filler}",
        result=tuple(ResultLine(line) for line in lines),
        tradeoff="I accepted a cost.",
        deep_dive=(DiveStep("Where?", "starlab/evidence/star.py", "render_star", "starlab report"),),
    )


# --- rendering ---------------------------------------------------------------------------


def test_result_says_the_measured_values_and_links_each_claim() -> None:
    s = script("Freshness came to {freshness_p95} and loss to {loss}.", "Cost: {cost:,.0f}.")
    r = render_star(
        s,
        rec(
            claim("freshness_p95", 4.8),
            claim("loss", 0.03, unit="%", claimed=0.1),
            claim("cost", 9691.23, unit="USD/month", claimed=10_000.0),
        ),
    )
    assert "[4.8 s](../evidence.md#claim-9-demo-freshness_p95)" in r.markdown
    assert "[0.03%](../evidence.md#claim-9-demo-loss)" in r.markdown
    assert "[$9,691/month](../evidence.md#claim-9-demo-cost)" in r.markdown
    assert r.warnings == ()
    assert "ab" * 6 in r.markdown  # the commit the figures came from


def test_a_claim_not_measured_is_never_given_the_story_figure() -> None:
    s = script("Freshness came to {freshness_p95}; drift {drift}; lag {lag}.")
    r = render_star(s, rec(claim("freshness_p95", None, claimed=299.5), claim("drift", 0, claimed=1)))
    assert "299.5" not in r.markdown
    assert f"*[{NOT_MEASURED}](../evidence.md#claim-9-demo-freshness_p95)*" in r.markdown
    assert f"*{NOT_MEASURED}*" in r.markdown  # `lag` has no claim at all: no link
    assert any(w.startswith("freshness_p95: not measured") for w in r.warnings)
    assert any(w.startswith("lag: no such claim") for w in r.warnings)
    assert not any(w.startswith("drift") for w in r.warnings)


def test_no_record_leaves_every_figure_missing() -> None:
    r = render_star(script("Freshness came to {freshness_p95}."), None)
    assert NOT_MEASURED in r.markdown and "No claims of `9-demo` recorded" in r.markdown
    assert [w.split(":")[0] for w in r.warnings] == ["freshness_p95"]


def test_a_claim_the_run_did_not_meet_is_flagged() -> None:
    r = render_star(script("Latency was {lat}."), rec(claim("lat", 346.0, unit="ms", claimed=250.0)))
    assert "[346 ms](../evidence.md#claim-9-demo-lat) ⚠" in r.markdown
    assert any("does not meet the claim < 250 ms" in w for w in r.warnings)


def test_the_record_of_another_story_is_refused() -> None:
    with pytest.raises(EvidenceError, match="got the record of 8-other"):
        render_star(script("x {a}"), rec(story="8-other"))


def test_spoken_values_carry_their_unit() -> None:
    assert spoken_value(claim("a", 0.99953, unit="fraction", claimed=0.9, comparator=">")) == "99.953%"
    assert spoken_value(claim("a", 0.9795, unit="fraction", claimed=0.9), ".0f") == "98%"
    assert spoken_value(claim("a", -75.0, unit="%", claimed=-60, comparator="<=")) == "-75%"
    assert spoken_value(claim("a", 1274.5, unit="USD/month", claimed=1700.0), ",.0f") == "$1,274/month"
    assert spoken_value(claim("a", 0, unit="breakages", claimed=0, comparator="==")) == "0 breakages"
    assert spoken_value(claim("a", "buy", unit="", claimed="buy", comparator="==")) == "buy"
    with pytest.raises(EvidenceError, match="not measured"):
        spoken_value(claim("a", None))


def test_the_anchor_scheme() -> None:
    assert claim_anchor("4-feature-store", "a_e2e_p95_ms") == "claim-4-feature-store-a_e2e_p95_ms"
    assert claim_anchor("3-Streaming.bench", "x y") == "claim-3-streaming-bench-x-y"


# --- a Result cannot invent a figure -----------------------------------------------------


@pytest.mark.parametrize(
    "template",
    ["Breakages fell from 4 to {b}.", "Freshness {f}, down 35%.", "Costs {c}, $9.6k before.", "In 24h {x}."],
)
def test_a_result_line_with_its_own_figure_is_refused(template: str) -> None:
    with pytest.raises(EvidenceError, match="states a figure of its own"):
        ResultLine(template)


def test_a_result_line_names_metrics_and_may_use_labels_with_digits() -> None:
    line = ResultLine("p95 was {api_p95:.1f}, p99 {api_p99}, then {api_p95} again, {{literal}}.")
    assert line.metrics == ("api_p95", "api_p99")
    for bad in ("{a.b}", "{a!r}", "{a:zz}", "{", ""):
        with pytest.raises(EvidenceError):
            ResultLine(bad)


# --- size --------------------------------------------------------------------------------


def test_words_and_speaking_time_are_printed_and_a_short_script_is_flagged() -> None:
    measured = rec(claim("f", 4.8))
    ok = render_star(script("Freshness {f}."), measured)
    assert SPOKEN_WORDS[0] <= ok.words_spoken <= SPOKEN_WORDS[1] and ok.in_range
    assert f"**{ok.words_spoken} words**" in ok.markdown and "150 words per minute" in ok.markdown
    short = render_star(script("Freshness {f}.", filler="short"), measured)
    assert not short.in_range and short.words_spoken == 13
    assert "Outside the target" in short.markdown
    assert any("the target is 90-120 s" in w for w in short.warnings)


def test_word_count_skips_punctuation() -> None:
    assert word_count("I cut p95 — to 4.8 s, and -75% pages.") == 9


# --- files -------------------------------------------------------------------------------


def test_write_star_scripts_writes_one_file_per_script(tmp_path: Path) -> None:
    a, b = script("A {f}."), script("B {f}.", script_id="9-demo-b")
    paths = write_star_scripts([a, b], [rec(claim("f", 1.5))], tmp_path / "star")
    assert [p.name for p in paths] == ["9-demo.md", "9-demo-b.md"]
    assert "[1.5 s](../evidence.md#claim-9-demo-f)" in paths[1].read_text(encoding="utf-8")
    with pytest.raises(EvidenceError, match="two STAR scripts are called 9-demo"):
        write_star_scripts([a, a], [], tmp_path / "again")


def test_the_loader_returns_scripts_none_or_a_one_line_error() -> None:
    assert Story(name="x", evidence_id="9-x", title="t", order=1).load_star() is None
    bad = Story(name="x", evidence_id="9-x", title="t", order=1, star="starlab.settings:ROOT")
    with pytest.raises(ConfigError, match="not a tuple of StarScript"):
        bad.load_star()


# --- the registered scripts --------------------------------------------------------------


def registered_scripts() -> list[tuple[Story, StarScript]]:
    return [(story, s) for story in registered() for s in story.load_star() or ()]


def test_the_five_stories_have_their_scripts() -> None:
    ids = [s.file_id for _, s in registered_scripts()]
    assert sorted(ids) == sorted(
        ["1-contracts", "2-rankings", "3-streaming", "4-feature-store", "004-fan-out"]
    )


def _package_dir(story: Story) -> Path:
    ref = story.star or ""
    module = importlib.import_module(ref.partition(":")[0].split(".")[0])
    assert module.__file__ is not None
    return Path(module.__file__).parent


@cache
def declared_claims(package: Path) -> dict[str, dict[str, str]]:
    """story id -> {metric: unit} of every `Claim(...)` a story package's code can record."""
    found, unresolved = scan((package.name,))
    assert not unresolved, [f"{u.where}: {u.why}" for u in unresolved]
    out: dict[str, dict[str, str]] = defaultdict(dict)
    for e in found:
        out[e.story][e.metric] = e.unit
    return dict(out)


def test_the_claim_reader_finds_the_claims_it_should() -> None:
    # guards the check below against reading nothing and passing vacuously
    by_name = {s.name: s for s in registered()}
    stream = declared_claims(_package_dir(by_name["stream"]))
    assert stream["3-streaming"]["freshness_p95"] == "s"
    assert "backfill_7d_hours" in stream["3-streaming-bench"]
    assert "backfill_7d_hours" not in stream["3-streaming"]
    features = declared_claims(_package_dir(by_name["features"]))["4-feature-store"]
    assert {"a_e2e_p95_ms", "tco_saving_pct_12m", "pit_leakage_rate", "precompute_freshness_p95"} <= set(
        features
    )


def test_every_result_metric_is_a_claim_its_story_can_record() -> None:
    missing = []
    for story, s in registered_scripts():
        declared = declared_claims(_package_dir(story)).get(s.story_id, {})
        missing += [f"{s.file_id}: {m}" for m in s.metrics if m not in declared]
    assert missing == []


def synthetic_record(story: Story, s: StarScript) -> StoryRecord:
    units = declared_claims(_package_dir(story)).get(s.story_id, {})
    claims = tuple(
        Claim(
            story=s.story_id,
            claim=f"{m} holds",
            metric=m,
            unit=units.get(m, ""),
            claimed=0.5,
            comparator=">=",
            measured=0.975 if units.get(m) == "fraction" else 12.5,
            method="synthetic",
            command="starlab demo",
        )
        for m in s.metrics
    )
    return StoryRecord(
        story=s.story_id, recorded_at="2026-01-02T03:04:05+00:00", git_commit=None, claims=claims
    )


def test_every_script_is_spoken_in_90_to_120_seconds_with_every_figure_filled() -> None:
    sizes = {}
    for story, s in registered_scripts():
        r = render_star(s, synthetic_record(story, s))
        assert r.warnings == (), (s.file_id, r.warnings)
        assert NOT_MEASURED not in r.markdown
        sizes[s.file_id] = r.words_spoken
    lo, hi = SPOKEN_WORDS
    assert {k: v for k, v in sizes.items() if not lo <= v <= hi} == {}


def _defines(path: Path, symbol: str) -> bool:
    if path.suffix != ".py":
        return symbol in path.read_text(encoding="utf-8")
    body: list[ast.stmt] = ast.parse(path.read_text(encoding="utf-8")).body
    *owners, name = symbol.split(".")
    for owner in owners:
        cls = next((n for n in body if isinstance(n, ast.ClassDef) and n.name == owner), None)
        if cls is None:
            return False
        body = cls.body
    for node in body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) and node.name == name:
            return True
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == name for t in node.targets
        ):
            return True
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.target.id == name:
            return True
    return False


def test_the_symbol_check_can_fail() -> None:
    here = ROOT / "starlab/evidence/star.py"
    assert _defines(here, "render_star") and _defines(here, "StarRender.seconds")
    assert _defines(here, "NOT_MEASURED")
    assert not _defines(here, "render_stars") and not _defines(here, "StarRender.minutes")
    assert not _defines(here, "claim_anchor.part")  # nested functions are not API to point at


def test_every_deep_dive_step_points_at_real_code() -> None:
    problems = []
    for _, s in registered_scripts():
        if not 5 <= len(s.deep_dive) <= 8:
            problems.append(f"{s.file_id}: {len(s.deep_dive)} deep-dive steps, want 5-8")
        for step in s.deep_dive:
            path = ROOT / step.path
            if not path.is_file():
                problems.append(f"{s.file_id}: {step.path} does not exist")
            elif not _defines(path, step.symbol):
                problems.append(f"{s.file_id}: {step.symbol} is not defined in {step.path}")
    assert problems == []


@cache
def _cli() -> Any:
    from starlab.cli import app

    return typer.main.get_command(app)


def _command_problem(command: str) -> str | None:
    """None when every `starlab ...` part of `command` parses against the real CLI."""
    for part in command.split("&&"):
        tokens = [t for t in shlex.split(part) if "=" not in t or t.startswith("-")]
        if not tokens or tokens[0] != "starlab":
            return f"{part.strip()!r} is not a starlab command"
        node, args = _cli(), tokens[1:]
        while args and getattr(node, "commands", None) and args[0] in node.commands:
            node, args = node.commands[args[0]], args[1:]
        if getattr(node, "commands", None):
            return f"{part.strip()!r} names no command"
        try:
            node.make_context(node.name, list(args))
        except Exception as e:  # click's usage errors: unknown option, bad choice, extra argument
            return f"{part.strip()!r}: {e}"
    return None


def test_the_command_check_can_fail() -> None:
    assert _command_problem("starlab stream reconcile && starlab stream backfill") is None
    assert _command_problem("STARLAB_TOPOLOGY=cluster starlab features serve --design A") is None
    assert _command_problem("starlab stream reconcile --no-such-flag") is not None
    assert _command_problem("starlab features serve --design C") is not None
    assert _command_problem("starlab stream nope") is not None
    assert _command_problem("make demo") is not None


def test_every_deep_dive_command_runs_on_the_real_cli() -> None:
    problems = [
        f"{s.file_id}: {p}"
        for _, s in registered_scripts()
        for step in s.deep_dive
        if step.command and (p := _command_problem(step.command))
    ]
    assert problems == []
