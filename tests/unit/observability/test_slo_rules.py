"""The stories' SLO files and the kernel that renders them (starlab/observability/slo.py).

What `starlab up` installs must load, render at every time scale, pass
`promtool check rules`, and give every alert a `for`, a `keep_firing_for`, a
severity and a runbook that exists. A bad SLO file is one line naming the
file. promtool is the only process started.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from starlab.errors import ConfigError, StackError
from starlab.observability import slo as slo_mod
from starlab.observability.slo import (
    AlertOverride,
    SloFile,
    check_with_promtool,
    group_name,
    load_slo_file,
    render,
    render_scoped,
)
from starlab.settings import ROOT
from starlab.story import registered

PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(PROMTOOL is None, reason="promtool is not installed (Debian: prometheus)")

SHIPPED = {s.name: s.slo for s in registered() if s.slo}


def _shipped() -> list[SloFile]:
    return [load_slo_file(ROOT / path) for path in SHIPPED.values()]


def _rules(text: str) -> list[dict[str, Any]]:
    return [r for g in yaml.safe_load(text)["groups"] for r in g["rules"]]


def _alerts(text: str) -> list[dict[str, Any]]:
    return [r for r in _rules(text) if "alert" in r]


def _write(tmp_path: Path, body: str, name: str = "slo.yaml") -> Path:
    path = tmp_path / name
    path.write_text(body)
    return path


MINIMAL = """\
story: demo
recordings:
  - record: slo:demo_value
    expr: max by (run) (demo_metric{{scope}})
thresholds:
  - name: DemoHigh
    slo: demo
    expr: slo:demo_value
    op: ">"
    threshold: 10
    for_s: 5400
    keep_firing_for_s: 120
    severity: page
    summary: Demo is high.
    runbook: docs/runbooks/freshness-slo-breach.md
"""


# --- the shipped files --------------------------------------------------------------------


def test_the_three_stories_declare_an_slo_file() -> None:
    assert {"stream", "features", "rankings"} <= set(SHIPPED)


@pytest.mark.parametrize("story", sorted(SHIPPED))
def test_every_shipped_slo_file_loads_and_names_its_story(story: str) -> None:
    loaded = load_slo_file(ROOT / SHIPPED[story])
    assert loaded.story == story  # the `story` label and the group name match `starlab <story>`
    assert loaded.thresholds or loaded.burn_rates


@needs_promtool
@pytest.mark.parametrize("time_scale", [1.0, 60.0])
def test_shipped_rules_pass_promtool_check(time_scale: float) -> None:
    files = _shipped()
    check_with_promtool(render(files, time_scale=time_scale))
    for f in files:  # as `starlab up` writes them: one file per story
        check_with_promtool(render([f], time_scale=time_scale))


@pytest.mark.parametrize("time_scale", [1.0, 60.0])
def test_every_alert_has_for_keep_firing_severity_and_an_existing_runbook(time_scale: float) -> None:
    alerts = _alerts(render(_shipped(), time_scale=time_scale))
    assert len(alerts) >= 10
    for rule in alerts:
        name = rule["alert"]
        assert re.fullmatch(r"\d+[smh]", rule["for"]), name
        assert re.fullmatch(r"[1-9]\d*[smh]", rule["keep_firing_for"]), name
        assert rule["labels"]["severity"] in {"page", "ticket"}, name
        assert rule["labels"]["slo"] and rule["labels"]["story"], name
        notes = rule["annotations"]
        assert notes["summary"], name
        assert "$value" in notes["description"], name
        runbook = notes["runbook_url"]
        assert not runbook.startswith("/") and (ROOT / runbook).is_file(), f"{name}: no runbook {runbook}"


def test_each_story_is_one_group_with_recordings_before_the_alerts_that_read_them() -> None:
    doc = yaml.safe_load(render(_shipped()))
    assert [g["name"] for g in doc["groups"]] == [group_name(f) for f in _shipped()]
    for group in doc["groups"]:
        recorded: set[str] = set()
        for rule in group["rules"]:
            names = set(re.findall(r"slo:[A-Za-z0-9_:]+", rule["expr"]))
            assert names <= recorded, (
                f"{rule.get('record') or rule.get('alert')} reads {names - recorded} first"
            )
            if "record" in rule:
                recorded.add(rule["record"])


def test_every_recording_is_read_by_an_alert_unless_marked_dashboard_only() -> None:
    for f in _shipped():
        rules = _rules(render([f]))
        records = {r["record"]: r["expr"] for r in rules if "record" in r}
        read: set[str] = set()
        todo = [r["expr"] for r in rules if "alert" in r]
        while todo:
            expr = todo.pop()
            for name in records:
                if name not in read and re.search(re.escape(name) + r"(?![A-Za-z0-9_:])", expr):
                    read.add(name)
                    todo.append(records[name])
        dashboard = {r.record for r in f.recordings if r.dashboard_only}
        assert set(records) - read == dashboard, f.story  # the flag is neither missing nor stale


def test_no_placeholder_survives_rendering() -> None:
    for time_scale in (1.0, 60.0):
        text = render(_shipped(), time_scale=time_scale)
        assert "{scope}" not in text and "{window}" not in text
        assert ",}" not in text and "{}" not in text


def test_the_freshness_burn_rate_uses_the_alerts_threshold() -> None:
    stream = load_slo_file(ROOT / SHIPPED["stream"])
    breach = next(t for t in stream.thresholds if t.name == "FreshnessSLOBreach")
    good = next(r for r in stream.recordings if r.record == "slo:stream_freshness_good:bool")
    assert breach.threshold == 300  # story 3: < 5 minutes
    assert good.expr.endswith(f"<= bool {breach.threshold:g}")


def test_story_figures_are_the_thresholds() -> None:
    by_name = {t.name: t for f in _shipped() for t in f.thresholds}
    assert by_name["FeatureP95High"].threshold == 0.25  # auto-rollback if p95 > 250 ms
    assert by_name["FeatureFailureRateHigh"].threshold == 0.005  # or failure rate > 0.5%
    assert by_name["RankingApiP95High"].threshold == 0.2  # API p95 < 200 ms
    assert by_name["ConsumerLagHigh"].threshold == 100_000
    objectives = {b.name: b.objective for f in _shipped() for b in f.burn_rates}
    assert objectives["feature_availability"] == 0.999  # 99.9% uptime
    assert objectives["ranking_availability"] == 0.999


# --- time scale ---------------------------------------------------------------------------


def test_time_scale_divides_windows_for_and_keep_firing_for() -> None:
    stream = load_slo_file(ROOT / SHIPPED["stream"])
    real = {
        r.get("record") or r["alert"] + r["labels"].get("long_window", ""): r
        for r in _rules(render([stream]))
    }
    demo = _rules(render([stream], time_scale=60))
    assert real["FreshnessSLOBreach"]["for"] == "1m" and real["FreshnessSLOBreach"]["keep_firing_for"] == "2m"
    fresh = next(r for r in demo if r.get("alert") == "FreshnessSLOBreach")
    assert (fresh["for"], fresh["keep_firing_for"]) == ("1s", "2s")
    assert fresh["expr"].endswith("> 300")  # thresholds are never scaled
    records = {r["record"]: r["expr"] for r in demo if "record" in r}
    for window in ("5s", "30s", "1m", "6m"):  # 5m, 30m, 1h, 6h
        assert f"[{window}]" in records[f"slo:stream_freshness_error:ratio_rate{window}"]
    assert "[5s]" in records["slo:stream_end_to_end_latency_seconds:p95"]  # [5m] / 60
    burns = {
        r["labels"]["long_window"]: r for r in demo if r.get("alert") == "StreamFreshnessErrorBudgetBurn"
    }
    assert (burns["1m"]["labels"]["short_window"], burns["1m"]["keep_firing_for"]) == ("5s", "5s")
    assert (burns["6m"]["labels"]["short_window"], burns["6m"]["keep_firing_for"]) == ("30s", "30s")
    assert "slo:stream_freshness_error:ratio_rate1h" in real


def test_durations_render_as_prometheus_strings_with_a_floor(tmp_path: Path) -> None:
    f = load_slo_file(
        _write(
            tmp_path, MINIMAL.replace("max by (run) (demo_metric{{scope}})", "rate(demo_metric{{scope}}[1m])")
        )
    )
    rule = _alerts(render([f], time_scale=60))[0]
    assert (rule["for"], rule["keep_firing_for"]) == ("90s", "2s")  # 5400 s / 60, 120 s / 60
    record = _rules(render([f], time_scale=60))[0]
    assert record["expr"] == "rate(demo_metric[5s])"  # 1m / 60 = 1 s, raised to the 5 s floor
    assert _rules(render([f], time_scale=60, min_range_s=1))[0]["expr"] == "rate(demo_metric[1s])"
    assert _alerts(render([f], time_scale=10_000))[0]["for"] == "1s"  # never 0 unless 0 was asked
    with pytest.raises(ConfigError, match="time_scale"):
        render([f], time_scale=0)


# --- overrides and scoped copies ----------------------------------------------------------


def test_overrides_replace_an_alerts_margins_as_given() -> None:
    stream = load_slo_file(ROOT / SHIPPED["stream"])
    text = render([stream], time_scale=60, overrides={"FreshnessSLOBreach": {"threshold": 10, "for_s": 5}})
    rule = next(r for r in _alerts(text) if r["alert"] == "FreshnessSLOBreach")
    assert rule["expr"].endswith("> 10")
    assert rule["for"] == "5s"  # an override is final seconds, not divided by time_scale
    assert rule["keep_firing_for"] == "2s"  # the file's 120 s, scaled
    lag = next(r for r in _alerts(text) if r["alert"] == "ConsumerLagHigh")
    assert lag["expr"].endswith("> 100000")
    with pytest.raises(ConfigError, match="FreshnesSLOBreach: no such alert"):
        render([stream], overrides={"FreshnesSLOBreach": AlertOverride(threshold=1)})
    with pytest.raises(ConfigError, match="no threshold"):
        render([stream], overrides={"StreamFreshnessErrorBudgetBurn": {"threshold": 1}})
    with pytest.raises(ConfigError, match="thresold"):
        render([stream], overrides={"FreshnessSLOBreach": {"thresold": 1}})


def test_the_rollback_alerts_carry_a_kill_switch_body_the_app_accepts() -> None:
    from feature_cache.serving.app import KillSwitchCommand

    features = load_slo_file(ROOT / SHIPPED["features"])
    alerts = {r["alert"]: r for r in _alerts(render([features]))}
    for name in ("FeatureP95High", "FeatureFailureRateHigh"):
        assert KillSwitchCommand.model_validate_json(alerts[name]["annotations"]["action_body"]).on is True
        # the breaching instance's own kill switch, templated by Prometheus from the alert's labels
        assert alerts[name]["annotations"]["action_url"] == "http://{{ $labels.instance }}/admin/killswitch"
    # a caller may point it elsewhere
    url = "http://127.0.0.1:8123/admin/killswitch"
    text = render([features], overrides={"FeatureP95High": {"annotations": {"action_url": url}}})
    assert {r["alert"]: r for r in _alerts(text)}["FeatureP95High"]["annotations"]["action_url"] == url
    with pytest.raises(ConfigError, match="set by the renderer"):
        render([features], overrides={"FeatureP95High": {"annotations": {"summary": "x"}}})


def test_a_scoped_copy_watches_one_run_under_its_own_names() -> None:
    stream = load_slo_file(ROOT / SHIPPED["stream"])
    text = render_scoped(
        stream,
        group="test-stall-ab12",
        scope={"run": "ab12"},
        alerts=["FreshnessSLOBreach", "StreamFreshnessErrorBudgetBurn"],
        overrides={"FreshnessSLOBreach": {"threshold": 10, "for_s": 5, "keep_firing_for_s": 5}},
        time_scale=60,
    )
    doc = yaml.safe_load(text)
    assert [g["name"] for g in doc["groups"]] == ["test-stall-ab12"]
    rules = doc["groups"][0]["rules"]
    records = [r["record"] for r in rules if "record" in r]
    assert records[0] == "slo_test_stall_ab12:stream_freshness_seconds"
    assert all(r.startswith("slo_test_stall_ab12:") for r in records)
    assert 'starlab_stream_output_event_time_seconds{run="ab12"}' in rules[0]["expr"]
    assert not any("slo:" in r["expr"] for r in rules)  # reads nothing of the shipped group
    assert not any("consumer_lag" in r for r in records)  # only what its alerts read
    fresh = next(r for r in rules if r.get("alert") == "FreshnessSLOBreach")
    assert fresh["expr"] == "slo_test_stall_ab12:stream_freshness_seconds > 10"
    assert (fresh["for"], fresh["keep_firing_for"]) == ("5s", "5s")
    assert fresh["labels"]["rule_group"] == "test-stall-ab12"
    if PROMTOOL:
        check_with_promtool(text)


def test_a_scope_value_is_escaped() -> None:
    stream = load_slo_file(ROOT / SHIPPED["stream"])
    text = render_scoped(stream, group="t", scope={"group": 'a"b'}, alerts=["ConsumerLagHigh"])
    assert 'starlab_kafka_consumergroup_lag{group="a\\"b"}' in _rules(text)[0]["expr"]


def test_scoped_copy_refuses_what_it_cannot_do(tmp_path: Path) -> None:
    stream = load_slo_file(ROOT / SHIPPED["stream"])
    with pytest.raises(ConfigError, match="shipped group"):
        render_scoped(stream, group=group_name(stream), scope={"run": "x"})
    with pytest.raises(ConfigError, match="no alert named Nope"):
        render_scoped(stream, group="t", scope={"run": "x"}, alerts=["Nope"])
    with pytest.raises(ConfigError, match="not among the alerts"):
        render_scoped(
            stream, group="t", alerts=["FreshnessSLOBreach"], overrides={"ConsumerLagHigh": {"for_s": 1}}
        )
    with pytest.raises(ConfigError, match="label name"):
        render_scoped(stream, group="t", scope={"bad-label": "x"})
    unscoped = load_slo_file(_write(tmp_path, MINIMAL.replace("{{scope}}", "")))
    with pytest.raises(
        ConfigError, match=r"DemoHigh: neither its expression nor its recordings hold \{scope\}"
    ):
        render_scoped(unscoped, group="t", scope={"run": "x"})


def test_two_files_may_not_share_names(tmp_path: Path) -> None:
    a = load_slo_file(_write(tmp_path, MINIMAL, "a.yaml"))
    b = load_slo_file(_write(tmp_path, MINIMAL.replace("story: demo", "story: other"), "b.yaml"))
    with pytest.raises(ConfigError, match="slo:demo_value"):
        render([a, b])
    with pytest.raises(ConfigError, match="story"):
        render([a, a])


# --- bad files ----------------------------------------------------------------------------


BAD = {
    "bad YAML": ("story: demo\nthresholds: [\n", "not valid YAML at line"),
    "not a mapping": ("- story: demo\n", "expected a mapping"),
    "unknown field": (
        MINIMAL.replace("    severity: page\n", "    severity: page\n    severty: page\n"),
        "severty",
    ),
    "missing field": (MINIMAL.replace("    runbook: docs/runbooks/freshness-slo-breach.md\n", ""), "runbook"),
    "bad op": (MINIMAL.replace('op: ">"', 'op: ">="'), "op"),
    "absolute runbook": (MINIMAL.replace("runbook: docs/", "runbook: /docs/"), "runbook"),
    "runbook leaves the repo": (
        MINIMAL.replace("runbook: docs/", "runbook: docs/../../"),
        "inside the repository",
    ),
    "record not slo:": (MINIMAL.replace("record: slo:demo_value", "record: demo_value"), "record"),
    "scope misplaced": (MINIMAL.replace("demo_metric{{scope}}", "demo_metric{scope}"), "last matcher"),
    "reserved label": (MINIMAL + "    labels: {severity: low}\n", "set by the renderer"),
    "read before recorded": (
        MINIMAL.replace(
            "recordings:\n", "recordings:\n  - record: slo:first\n    expr: slo:demo_value * 2\n"
        ),
        "not recorded before it",
    ),
    "duplicate alert": (
        MINIMAL + MINIMAL.split("thresholds:\n", 1)[1],
        "duplicate alert",
    ),
    "burn rate without window": (
        MINIMAL
        + "burn_rates:\n  - name: demo_avail\n    objective: 0.999\n    error_ratio: rate(x[5m])\n"
        + "    summary: s\n    runbook: docs/runbooks/freshness-slo-breach.md\n",
        "{window}",
    ),
    "objective of 1": (
        MINIMAL
        + "burn_rates:\n  - name: demo_avail\n    objective: 1\n    error_ratio: rate(x[{window}])\n"
        + "    summary: s\n    runbook: docs/runbooks/freshness-slo-breach.md\n",
        "objective",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_bad_slo_file_is_one_line_naming_the_file(case: str, tmp_path: Path) -> None:
    body, expected = BAD[case]
    path = _write(tmp_path, body)
    with pytest.raises(ConfigError) as err:
        load_slo_file(path)
    message = str(err.value)
    assert message.startswith(f"{path}: "), message
    assert "\n" not in message, message
    assert expected in message, message


def test_a_missing_file_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nope\.yaml: cannot read"):
        load_slo_file(tmp_path / "nope.yaml")


def test_the_minimal_file_is_valid(tmp_path: Path) -> None:
    """The BAD cases fail for their own reason, not because the base is broken."""
    assert load_slo_file(_write(tmp_path, MINIMAL)).alert_names() == ["DemoHigh"]


# --- promtool -----------------------------------------------------------------------------


@needs_promtool
def test_promtool_rejection_is_a_config_error(tmp_path: Path) -> None:
    broken = load_slo_file(
        _write(tmp_path, MINIMAL.replace("max by (run) (demo_metric{{scope}})", "sum(rate(x[5m])"))
    )
    with pytest.raises(ConfigError, match="promtool check rules rejected"):
        check_with_promtool(render([broken]))


def test_a_missing_promtool_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(slo_mod.shutil, "which", lambda name: None)
    with pytest.raises(StackError, match="apt-get install prometheus"):
        check_with_promtool("groups: []\n")
