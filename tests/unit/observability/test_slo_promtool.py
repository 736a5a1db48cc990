"""The rendered SLO rules behave as the stories say, evaluated by `promtool test rules`.

Each fixture under `promtool/` is a promtool test file (its header says what
the test adds: the rule's own labels and annotations, from `value`). The
rules are rendered here from the shipped SLO files, so the test checks what
`starlab up` installs, not a copy. promtool is the only process started.
"""

from __future__ import annotations

import copy
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from starlab.observability.slo import load_slo_file, render, render_scoped
from starlab.settings import ROOT

HERE = Path(__file__).parent
FIXTURES = HERE / "promtool"
PROMTOOL = shutil.which("promtool")
SLO_FILES = {
    "stream": "streaming/slo.yaml",
    "features": "feature_cache/slo.yaml",
    "rankings": "rankings/slo.yaml",
}

pytestmark = pytest.mark.skipif(PROMTOOL is None, reason="promtool is not installed (Debian: prometheus)")


def _rule_files() -> dict[str, str]:
    """Every rule file a fixture may name, rendered from the shipped SLO files."""
    files = {f"{story}.yml": render([load_slo_file(ROOT / path)]) for story, path in SLO_FILES.items()}
    # A test's copy of the freshness alert, scoped to run r1, with compressed margins.
    files["test-stall-r1.yml"] = render_scoped(
        load_slo_file(ROOT / SLO_FILES["stream"]),
        group="test-stall-r1",
        scope={"run": "r1"},
        alerts=["FreshnessSLOBreach"],
        overrides={"FreshnessSLOBreach": {"threshold": 30, "for_s": 20, "keep_firing_for_s": 20}},
    )
    return files


def _alert_rules(texts: list[str]) -> list[dict[str, Any]]:
    return [r for t in texts for g in yaml.safe_load(t)["groups"] for r in g["rules"] if "alert" in r]


def _complete(test_file: dict[str, Any], rules: list[dict[str, Any]]) -> dict[str, Any]:
    """Add each expected alert's rule labels and annotations (see the fixtures' header)."""
    out = copy.deepcopy(test_file)
    for case in out["tests"]:
        for check in case.get("alert_rule_test", []):
            for exp in check.get("exp_alerts", []):
                labels = exp.get("exp_labels", {})
                candidates = [
                    r
                    for r in rules
                    if r["alert"] == check["alertname"]
                    and all(labels.get(k, v) == v for k, v in r["labels"].items())
                ]
                assert len(candidates) == 1, f"{check['alertname']} {labels}: {len(candidates)} rules match"
                rule = candidates[0]
                exp["exp_labels"] = {**rule["labels"], **labels}
                if "value" in exp:
                    annotations = dict(rule["annotations"])
                    annotations["description"] = re.sub(
                        r"\{\{ \$value \| \w+ \}\}", str(exp.pop("value")), annotations["description"]
                    )
                    # label templates (the kill switch's `action_url`) as Prometheus expands them
                    expected_labels = exp["exp_labels"]
                    for key, text in annotations.items():
                        annotations[key] = re.sub(
                            r"\{\{ \$labels\.(\w+) \}\}",
                            lambda m, lbl=expected_labels: lbl.get(m[1], ""),
                            text,
                        )
                    exp.setdefault("exp_annotations", annotations)
    return out


def _run(fixture: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL is not None
    files = _rule_files()
    test_file = yaml.safe_load(fixture.read_text())
    named = test_file["rule_files"]
    for name in named:
        (tmp_path / name).write_text(files[name])
    completed = _complete(test_file, _alert_rules([files[n] for n in named]))
    target = tmp_path / fixture.name
    target.write_text(yaml.safe_dump(completed, sort_keys=False))
    return subprocess.run(
        [PROMTOOL, "test", "rules", target.name], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )


FIXTURE_FILES = sorted(FIXTURES.glob("*.yml"))


@pytest.mark.parametrize("fixture", FIXTURE_FILES, ids=[f.stem for f in FIXTURE_FILES])
def test_promtool_rule_tests_pass(fixture: Path, tmp_path: Path) -> None:
    proc = _run(fixture, tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_there_are_fixtures() -> None:
    assert {f.stem for f in FIXTURE_FILES} >= {
        "stream_thresholds",
        "burn_rates",
        "feature_latency",
        "scoped_copy",
    }


def test_a_wrong_expectation_fails(tmp_path: Path) -> None:
    """The harness can fail: the freshness alert expected one evaluation early is a promtool failure."""
    doc = yaml.safe_load((FIXTURES / "stream_thresholds.yml").read_text())
    checks = doc["tests"][0]["alert_rule_test"]
    early = next(c for c in checks if c["eval_time"] == "16m")
    early["exp_alerts"] = [{"exp_labels": {"run": "r1"}, "value": "6m 0s"}]
    mutated = tmp_path / "fixture" / "stream_thresholds.yml"
    mutated.parent.mkdir()
    mutated.write_text(yaml.safe_dump(doc, sort_keys=False))
    proc = _run(mutated, tmp_path)
    assert proc.returncode != 0
    assert "FreshnessSLOBreach" in proc.stdout + proc.stderr
