"""Stories register themselves through the `starlab.stories` entry points; the kernel names none."""

from __future__ import annotations

from importlib.metadata import EntryPoint
from pathlib import Path

import pytest
from typer.testing import CliRunner

import starlab.story as story_mod
from starlab.cli import app
from starlab.errors import ConfigError
from starlab.settings import ROOT
from starlab.story import Story, by_name, registered

runner = CliRunner()


def test_every_story_is_registered_in_demo_order() -> None:
    names = [s.name for s in registered()]
    assert names[0] == "foundation"  # the ground every story stands on runs first
    assert {"stream", "rankings"} <= set(names)
    orders = [s.order for s in registered()]
    assert orders == sorted(orders)


def test_each_story_loads_its_cli_group_and_demo_step() -> None:
    for s in registered():
        if s.cli:
            assert s.load_cli() is not None
        if s.demo:
            assert callable(s.load_demo())


def test_demo_help_lists_the_registered_stories() -> None:
    out = runner.invoke(app, ["demo", "--help"], terminal_width=400).output
    for s in registered():
        if s.demo:
            assert s.name in out


def test_story_groups_are_commands_of_the_cli() -> None:
    out = runner.invoke(app, ["--help"], terminal_width=400).output
    for s in registered():
        if s.cli:
            assert s.name in out


def test_an_unknown_story_is_a_one_line_error() -> None:
    with pytest.raises(ConfigError, match="unknown story 'nope'"):
        by_name("nope")


def test_a_bad_declaration_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    bogus = EntryPoint(name="bogus", value="starlab.settings:ROOT", group=story_mod.ENTRY_POINT_GROUP)
    monkeypatch.setattr(story_mod, "entry_points", lambda group: [bogus])
    registered.cache_clear()
    try:
        with pytest.raises(ConfigError, match="not a Story"):
            registered()
    finally:
        registered.cache_clear()


def test_a_name_mismatch_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    ep = EntryPoint(name="other", value="streaming:STORY", group=story_mod.ENTRY_POINT_GROUP)
    monkeypatch.setattr(story_mod, "entry_points", lambda group: [ep])
    registered.cache_clear()
    try:
        with pytest.raises(ConfigError, match="declares the story name 'stream'"):
            registered()
    finally:
        registered.cache_clear()


def test_the_kernel_source_names_no_story_package() -> None:
    # The import-linter contract checks imports; this also catches a story
    # named in a string the kernel would import dynamically.
    stories = ("streaming", "rankings", "contracts", "feature_cache")
    offenders = []
    for path in Path(ROOT / "starlab").rglob("*.py"):
        text = path.read_text()
        offenders += [f"{path}: {s}" for s in stories if f'"{s}.' in text or f"'{s}." in text]
        offenders += [f"{path}: {s}" for s in stories if f"from {s}" in text or f"import {s}" in text]
    assert offenders == []


def test_story_is_a_frozen_declaration() -> None:
    s = Story(name="x", evidence_id="9-x", title="t", order=1)
    assert s.load_cli() is None and s.load_demo() is None
