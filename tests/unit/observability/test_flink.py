"""A Flink job's metrics on 127.0.0.1: JMX reporter config, the agent's option and rules, the port.

No process is started: the JMX exporter's matching is replayed in Python on
MBean names built the way Flink's JMX reporter builds them
(`org.apache.flink.<logical scope>.<metric>` plus one key property per scope
variable), formatted the way the exporter matches them
(`domain<k1=v1, k2=v2><>Attribute: value`).
"""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import pytest
import yaml

from starlab.errors import StackError
from starlab.observability import flink as metrics
from starlab.settings import ROOT, Settings

JM_JOB = "org.apache.flink.jobmanager.job"
OPERATOR = "org.apache.flink.taskmanager.job.task.operator"

JM_VARIABLES = {"host": "localhost", "job_id": "dd1b68c8d0b9", "job_name": "starlab-engagement"}
"""A JobManager job group's variables, as the JMX reporter writes them (`<>` dropped)."""
OPERATOR_VARIABLES = {
    "host": "localhost",
    "tm_id": "7f1e-0",
    "job_id": "dd1b68c8d0b9",
    "job_name": "starlab-engagement",
    "task_id": "cbc357ccb763",
    "task_attempt_id": "cbc357ccb763_0_1",
    # ' ' -> '_', '>' dropped: "Source: events[1] -> Calc[2]"
    "task_name": "Source-_events[1]_-_Calc[2]",
    "subtask_index": "1",
    "task_attempt_num": "1",
    "operator_id": "570f707193e0",
    "operator_name": "Source-_events[1]",
}

COUNTERS = {"numRecordsIn", "numRecordsOut"}
"""Flink counters (MBean attribute `Count`); `*PerSecond` are meters (`Rate`), the rest gauges (`Value`)."""

REQUIRED = [
    "flink_jobmanager_job_lastCheckpointCompletedTimestamp",
    "flink_jobmanager_job_numRestarts",
    "flink_jobmanager_job_numberOfCompletedCheckpoints",
    "flink_jobmanager_job_numberOfFailedCheckpoints",
    "flink_jobmanager_job_uptime",
    "flink_taskmanager_job_task_operator_numRecordsIn",
    "flink_taskmanager_job_task_operator_numRecordsOut",
    "flink_taskmanager_job_task_operator_numRecordsInPerSecond",
    "flink_taskmanager_job_task_operator_numRecordsOutPerSecond",
    "flink_taskmanager_job_task_operator_currentInputWatermark",
    "flink_taskmanager_job_task_operator_pendingRecords",
    "flink_taskmanager_job_task_operator_currentEmitEventTimeLag",
]
"""The Prometheus reporter's series that the dashboards, SLOs and tests read or may read."""


@pytest.fixture(scope="module")
def rules_doc() -> dict[str, Any]:
    doc = yaml.safe_load(metrics.RULES.read_text())
    assert isinstance(doc, dict)
    return doc


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home", data_dir=tmp_path / "data", flink_venv=tmp_path / "venv")


def _match_name(domain: str, props: dict[str, str], attribute: str, value: float = 1.0) -> str:
    inner = ", ".join(f"{k}={v}" for k, v in props.items())
    return f"{domain}<{inner}><>{attribute}: {value}"


def _export(doc: dict[str, Any], match_name: str) -> tuple[str, dict[str, str]] | None:
    """The first rule that matches, as the exporter applies it: (series name, labels), or None."""
    for rule in doc["rules"]:
        m = re.match("^.*(?:" + rule["pattern"] + ").*$", match_name)
        if m is not None:
            labels = {k: _expand(v, m) for k, v in rule.get("labels", {}).items()}
            return _expand(rule["name"], m), labels
    return None


def _expand(template: str, m: re.Match[str]) -> str:
    """`$n` -> group n, as Java's `Matcher.replaceAll` does with the rule's name and labels."""
    return re.sub(r"\$(\d+)", lambda g: m.group(int(g.group(1))), template)


def _mbean(series: str) -> tuple[str, str, dict[str, str]]:
    """The MBean (domain, attribute, variables) Flink's JMX reporter registers for a reporter series."""
    for prefix, domain, variables in (
        ("flink_jobmanager_job_", JM_JOB, JM_VARIABLES),
        ("flink_taskmanager_job_task_operator_", OPERATOR, OPERATOR_VARIABLES),
    ):
        if series.startswith(prefix):
            metric = series.removeprefix(prefix)
            attribute = "Rate" if metric.endswith("PerSecond") else "Count" if metric in COUNTERS else "Value"
            return f"{domain}.{metric}", attribute, variables
    raise AssertionError(f"{series}: not a job or operator series")


def _orders(props: dict[str, str]) -> Iterator[dict[str, str]]:
    """The key properties in several orders: the MBean's key order is not fixed."""
    items = list(props.items())
    yield dict(items)
    yield dict(reversed(items))
    yield dict(sorted(items))
    yield dict(items[1::2] + items[::2])


def _series_starlab_reads() -> set[str]:
    """Every `flink_jobmanager_*`/`flink_taskmanager_*` name in the queries of the stories and tests."""
    found: set[str] = set()
    for top in ("streaming", "feature_cache", "rankings", "contracts", "tests/integration"):
        for path in (ROOT / top).rglob("*"):
            if path.suffix in (".py", ".yaml", ".yml") and path.is_file():
                found |= set(re.findall(r"\bflink_(?:jobmanager|taskmanager)_\w+", path.read_text()))
    return found


def test_the_reporter_registers_mbeans_and_opens_no_port() -> None:
    conf = metrics.reporter_conf()
    assert conf["metrics.reporter.jmx.factory.class"] == "org.apache.flink.metrics.jmx.JMXReporterFactory"
    # a port would start a JMX connector server on every interface
    assert not [k for k in conf if k.endswith(".port")]
    assert conf["metrics.reporter.jmx.filter.includes"].startswith("*:")
    assert not [k for k in conf if ".prom." in k]


@pytest.mark.parametrize("series", REQUIRED)
def test_each_series_keeps_the_prometheus_reporters_name_and_labels(
    rules_doc: dict[str, Any], series: str
) -> None:
    domain, attribute, variables = _mbean(series)
    want = {"job_id": variables["job_id"], "job_name": variables["job_name"]}
    if domain.startswith(OPERATOR):
        want |= {k: variables[k] for k in ("task_name", "subtask_index", "operator_id", "operator_name")}
    for props in _orders(variables):
        assert _export(rules_doc, _match_name(domain, props, attribute)) == (series, want), props


@pytest.mark.parametrize("series", REQUIRED)
def test_each_series_is_registered_and_scraped(rules_doc: dict[str, Any], series: str) -> None:
    domain, _, _ = _mbean(series)
    metric = domain.rsplit(".", 1)[1]
    # Flink's reporter filter (`*:names`) lets the metric through ...
    assert any(fnmatchcase(metric, name) for name in metrics.METRIC_NAMES)
    # ... and the exporter queries its MBean (an ObjectName pattern: domain glob, any keys)
    patterns = rules_doc["includeObjectNames"]
    assert any(fnmatchcase(domain, p.split(":")[0]) for p in patterns), series


def test_every_series_the_repo_queries_is_exported(rules_doc: dict[str, Any]) -> None:
    used = _series_starlab_reads()
    assert "flink_jobmanager_job_lastCheckpointCompletedTimestamp" in used  # the scan sees the SLOs
    assert used <= set(REQUIRED), used - set(REQUIRED)


def test_a_meters_count_and_task_scope_metrics_are_not_exported(rules_doc: dict[str, Any]) -> None:
    meter_count = _match_name(f"{OPERATOR}.numRecordsInPerSecond", OPERATOR_VARIABLES, "Count")
    assert _export(rules_doc, meter_count) is None
    task_scope = "org.apache.flink.taskmanager.job.task.numRecordsIn"
    assert _export(rules_doc, _match_name(task_scope, OPERATOR_VARIABLES, "Count")) is None


def test_the_rules_keep_names_read_only_flink_beans_and_cache_safely(rules_doc: dict[str, Any]) -> None:
    assert rules_doc["lowercaseOutputName"] is False
    assert rules_doc["lowercaseOutputLabelNames"] is False
    assert all(p.startswith("org.apache.flink.") for p in rules_doc["includeObjectNames"])
    for rule in rules_doc["rules"]:
        # `cache: true` keeps a match per MBean attribute: safe only while no
        # pattern looks at the value (the part after ": ")
        assert rule["cache"] is True
        assert ": " not in rule["pattern"]
        assert rule["type"] == "GAUGE"  # the reporter exported counters as gauges too


def test_reporter_jars_come_from_the_wheels_plugins(settings: Settings) -> None:
    assert metrics.reporter_jars(settings) == []
    plugin = settings.flink_venv_dir / "lib/python3.11/site-packages/pyflink/plugins/metrics-jmx"
    plugin.mkdir(parents=True)
    (plugin / "flink-metrics-jmx-2.2.1.jar").touch()
    assert metrics.reporter_jars(settings) == [(plugin / "flink-metrics-jmx-2.2.1.jar").resolve()]


def test_the_agent_binds_loopback_with_the_newest_jar(settings: Settings) -> None:
    assert metrics.agent_jvm_option(settings, 9258) is None
    jmx = settings.jars_dir / "jmx"
    jmx.mkdir(parents=True)
    for version in ("0.20.0", "1.0.1"):
        (jmx / f"jmx_prometheus_javaagent-{version}.jar").touch()
    option = metrics.agent_jvm_option(settings, 9258)
    jar = (jmx / "jmx_prometheus_javaagent-1.0.1.jar").resolve()
    assert option == f"-javaagent:{jar}=127.0.0.1:9258:{metrics.RULES}"
    assert metrics.RULES.is_absolute() and metrics.RULES.is_file()


def _listener(host: str) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((host, 0))
    sock.listen()
    return sock


@pytest.mark.parametrize("host", ["127.0.0.1", "0.0.0.0"])
def test_free_port_skips_a_port_someone_listens_on(tmp_path: Path, host: str) -> None:
    with _listener(host) as taken:
        port = taken.getsockname()[1]
        s = Settings(home=tmp_path, flink_metrics_ports=f"{port}-{port}")
        with pytest.raises(StackError, match="STARLAB_FLINK_METRICS_PORTS"):
            metrics.free_port(s)
    assert metrics.free_port(s) == port


def test_free_port_takes_the_first_free_port_of_the_range(tmp_path: Path) -> None:
    with _listener("127.0.0.1") as taken:
        port = taken.getsockname()[1]
    # closed again: the first port of a range that starts there
    assert metrics.free_port(Settings(home=tmp_path, flink_metrics_ports=f"{port}-{port + 1}")) == port
