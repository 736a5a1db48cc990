"""Every command has --help with an example, and user errors are one line."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from starlab.cli import app
from starlab.errors import StarlabError

runner = CliRunner()
COMMANDS = ["up", "down", "status", "generate", "demo", "report"]


@pytest.mark.parametrize("command", COMMANDS)
def test_help_has_an_example(command: str) -> None:
    result = runner.invoke(app, [command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Example" in result.output


def test_bad_generator_config_is_one_line(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("STARLAB_DATA_DIR", str(tmp_path))
    from starlab.settings import get_settings

    get_settings.cache_clear()
    result = runner.invoke(app, ["generate", "--events", "0"])
    assert result.exit_code != 0
    assert "events, users and items must be positive" in str(result.exception)


def test_generate_to_files(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("STARLAB_DATA_DIR", str(tmp_path))
    from starlab.settings import get_settings

    get_settings.cache_clear()
    result = runner.invoke(app, ["generate", "--events", "300", "--run", "r"])
    get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert (tmp_path / "raw" / "r" / "manifest.json").exists()
    assert "unique 300" in result.output


def test_demo_takes_the_topology_its_claims_are_recorded_with(monkeypatch: pytest.MonkeyPatch) -> None:
    import starlab.demo
    from starlab.settings import get_settings

    seen: list[str] = []
    monkeypatch.setenv("STARLAB_TOPOLOGY", "single")  # restored after the test

    def fake_run_demo(settings: object, story: str, **_: object) -> None:
        seen.append(get_settings().topology)
        raise StarlabError("stopped here: the run's settings were seen")

    monkeypatch.setattr(starlab.demo, "run_demo", fake_run_demo)
    try:
        result = runner.invoke(app, ["demo", "stream", "--topology", "cluster"])
    finally:
        get_settings.cache_clear()
    assert isinstance(result.exception, StarlabError), result.output
    assert seen == ["cluster"]
