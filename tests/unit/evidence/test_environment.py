"""The run's environment: collected without failing, typed, and round-tripped through JSON."""

from __future__ import annotations

import dataclasses
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from starlab.evidence import environment
from starlab.evidence.environment import (
    KAFKA_POM,
    Environment,
    collect_environment,
    kafka_version,
    package_versions,
)
from starlab.settings import Settings


def settings(**values: Any) -> Settings:
    """Settings from `values` and defaults only: no `.env` file, whatever the working directory."""
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]  # pydantic-settings' init kwarg


# conftest's autouse fixture replaces the module's java_version per test; this is the real one.
real_java_version = environment.java_version


def test_collect_environment_describes_this_machine(tmp_path: Path) -> None:
    env = collect_environment(settings(topology="cluster"), repo_root=tmp_path)
    assert env.python.count(".") == 2
    assert env.cpu_count is not None and env.cpu_count >= 1
    if env.cpus_usable is not None:  # Linux: the affinity mask
        assert 1 <= env.cpus_usable <= env.cpu_count
    assert env.memory_bytes is not None and env.memory_bytes > 2**20
    assert env.topology == "cluster"
    assert env.kafka_partitions == 2  # the cluster's default
    assert env.git_commit is None  # tmp_path is no checkout
    assert "starlab" in env.packages
    assert set(env.packages) <= set(environment.KEY_PACKAGES)
    assert env.stack["flink"] == settings().flink_version
    assert env.stack["kafka"] == kafka_version()
    assert env.java is not None and "version" in env.java  # conftest's stand-in: no process


def test_environment_round_trips_through_json(env: Environment) -> None:
    back = Environment.from_dict(json.loads(json.dumps(env.to_dict())))
    assert back == env


def test_missing_packages_are_left_out() -> None:
    versions = package_versions(["pytest", "no-such-distribution-starlab-test"])
    assert list(versions) == ["pytest"]


def test_kafka_version_comes_from_the_brokers_pom(tmp_path: Path) -> None:
    assert kafka_version(KAFKA_POM) is not None
    pom = tmp_path / "pom.xml"
    pom.write_text(
        '<project xmlns="http://maven.apache.org/POM/4.0.0"><properties>'
        "<kafka.version> 4.3.1 </kafka.version></properties></project>"
    )
    assert kafka_version(pom) == "4.3.1"
    pom.write_text("<project><properties/></project>")
    assert kafka_version(pom) is None
    pom.write_text("<project")
    assert kafka_version(pom) is None
    assert kafka_version(tmp_path / "missing.xml") is None


def _completed(stderr: str, returncode: int = 0) -> subprocess.CompletedProcess[str]:
    return subprocess.CompletedProcess(["java", "-version"], returncode, stdout="", stderr=stderr)


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        (_completed('openjdk version "17.0.15" 2025-04-15\nOpenJDK Runtime Environment\n'), "17.0.15"),
        (_completed('Picked up JAVA_TOOL_OPTIONS: -Xmx1g\nopenjdk version "21.0.2"\n'), "21.0.2"),
        (_completed("error", returncode=1), None),
        (subprocess.TimeoutExpired(["java"], 5.0), None),
        (FileNotFoundError("java"), None),
    ],
)
def test_java_version_never_raises(
    monkeypatch: pytest.MonkeyPatch, result: Any, expected: str | None
) -> None:
    def run(cmd: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        assert cmd[1:] == ["-version"]
        assert kwargs["timeout"] > 0  # a hung JVM cannot hang the report
        if isinstance(result, BaseException):
            raise result
        assert isinstance(result, subprocess.CompletedProcess)
        return result

    monkeypatch.setattr(environment.subprocess, "run", run)
    version = real_java_version("/usr/bin/java")
    if expected is None:
        assert version is None
    else:
        assert version is not None and expected in version
        assert version.startswith("openjdk version")  # the version line, not a JVM notice


def test_no_java_on_path_is_none(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(environment.shutil, "which", lambda name: None)
    assert real_java_version() is None


def test_memory_or_affinity_failures_are_none(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def broken(*a: object) -> object:
        raise OSError("no /proc")

    monkeypatch.setattr(environment.psutil, "virtual_memory", broken)
    monkeypatch.setattr(environment.os, "sched_getaffinity", broken, raising=False)
    env = collect_environment(settings(), repo_root=tmp_path)
    assert env.memory_bytes is None
    assert env.cpus_usable is None


def test_the_report_header_says_where_the_figures_were_measured(env: Environment, tmp_path: Path) -> None:
    assert env.summary() == (
        "Measured on 8 cores, 16.0 GiB, single topology, Python 3.11.9, Flink 2.2.1, Kafka 4.3.1, "
        "commit cdc5efd00000."
    )
    bare = dataclasses.replace(
        env, cpus_usable=None, cpu_count=None, memory_bytes=None, stack={}, git_commit=None
    )
    assert bare.summary() == "Measured on single topology, Python 3.11.9."

    from starlab.evidence import Claim, build_report, record

    claim = Claim(
        story="3-streaming",
        claim="freshness < 5 minutes (p95)",
        metric="freshness_p95",
        unit="min",
        claimed=5,
        comparator="<",
        method="now - max(ingest_ts)",
        command="starlab stream slo",
    )
    record([claim.with_measured(2.0)], "3-streaming", tmp_path)
    built = build_report(tmp_path, environment=env)
    assert env.summary() in built.md_path.read_text()
    assert env.summary() in built.html_path.read_text()
