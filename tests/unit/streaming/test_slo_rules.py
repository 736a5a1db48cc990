"""Alert rules: fire after `for_s`, resolve after `clear_for_s`, no flapping."""

from __future__ import annotations

from pathlib import Path

import pytest

from starlab.errors import ConfigError
from streaming.slo import AlertEvaluator, Rule, load_rules

RULE = Rule("Fresh", "freshness_s", threshold=10, for_s=3, clear_for_s=5, runbook="rb.md")


def run(values: list[float]) -> list[tuple[int, str]]:
    ev = AlertEvaluator([RULE])
    out = []
    for t, v in enumerate(values):
        out += [(t, e.state) for e in ev.observe({"freshness_s": v}, float(t))]
    return out


def test_fires_only_after_for_s() -> None:
    assert run([20, 20, 20]) == []  # breached for 2 s only
    assert run([20, 20, 20, 20]) == [(3, "firing")]


def test_a_short_spike_never_fires() -> None:
    assert run([20, 20, 5, 20, 20, 5]) == []


def test_resolves_after_clear_for_s_and_does_not_flap() -> None:
    # fires at t=3; a dip at t=5 then a new breach at t=7 keeps it firing;
    # clear from t=8 on, resolved at t=13 (5 s clear).
    values = [20, 20, 20, 20, 20, 5, 5, 20, 5, 5, 5, 5, 5, 5, 5]
    assert run(values) == [(3, "firing"), (13, "resolved")]


def test_missing_metric_changes_nothing() -> None:
    ev = AlertEvaluator([RULE])
    assert ev.observe({"consumer_lag": 1e9}, 0.0) == []


def test_rules_file_and_overrides() -> None:
    rules = {r.name: r for r in load_rules()}
    assert rules["FreshnessSLOBreach"].threshold == 300  # the story's 5-minute SLO
    assert Path(rules["FreshnessSLOBreach"].runbook).name == "freshness-slo-breach.md"
    over = {r.name: r for r in load_rules(overrides={"ConsumerLagHigh": {"threshold": 5}})}
    assert over["ConsumerLagHigh"].threshold == 5


def test_bad_rules_file_is_a_config_error(tmp_path: Path) -> None:
    bad = tmp_path / "rules.yaml"
    bad.write_text("rules: [{name: x}]")
    with pytest.raises(ConfigError, match=r"rules\.yaml"):
        load_rules(bad)
