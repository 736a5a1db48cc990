"""The observability components as `starlab up` runs them: loopback flags, rules, start and stop order."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from starlab.settings import Settings
from starlab.stack import manager
from starlab.stack.observability import (
    Alertmanager,
    AlertReceiver,
    LagExporter,
    PostgresExporter,
    Prometheus,
    RedisExporter,
    render_story_rules,
)


def _settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home")


def test_every_server_listens_on_loopback_only(tmp_path: Path) -> None:
    s = _settings(tmp_path)
    argv = {c.name: " ".join(c(s).argv()) for c in (Prometheus, Alertmanager, AlertReceiver, LagExporter)}
    assert "--web.listen-address=127.0.0.1:9190" in argv["prometheus"]
    assert "--web.listen-address=127.0.0.1:9193" in argv["alertmanager"]
    # without it Alertmanager's gossip listener binds 0.0.0.0:9094
    assert argv["alertmanager"].endswith("--cluster.listen-address=")
    assert "--host 127.0.0.1 --port 9195" in argv["alert-receiver"]
    assert "-web.listen-address 127.0.0.1:9122" in " ".join(RedisExporter(s).argv())
    assert "--web.listen-address=127.0.0.1:9188" in " ".join(PostgresExporter(s).argv())


def test_starting_one_part_starts_what_it_needs_and_stopping_stops_only_it(tmp_path: Path) -> None:
    s = _settings(tmp_path)

    def names(wanted: list[str], with_dependencies: bool = True) -> list[str]:
        return [c.name for c in manager.components(s, wanted, with_dependencies)]

    assert names(["prometheus"]) == ["alert-receiver", "alertmanager", "prometheus"]
    assert names(["lag-exporter"]) == ["kafka", "lag-exporter"]
    assert names(["lag-exporter"], with_dependencies=False) == ["lag-exporter"]
    assert list(manager.COMPONENTS)[-1] == "prometheus"  # started last, after what it scrapes


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool is installed by `starlab up`")
def test_rules_of_every_story_are_rendered_and_a_killed_tests_rules_are_removed(tmp_path: Path) -> None:
    s = _settings(tmp_path)
    rules = s.prometheus_dir / "rules"
    rules.mkdir(parents=True)
    (rules / "test-deadbeef.yml").write_text("groups: []\n")
    written = render_story_rules(s)
    assert {p.name for p in written} == {"stream.yml", "features.yml", "rankings.yml"}
    assert sorted(p.name for p in rules.iterdir()) == ["features.yml", "rankings.yml", "stream.yml"]
    assert "FreshnessSLOBreach" in (rules / "stream.yml").read_text()
