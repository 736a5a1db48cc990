"""Fixtures of the evidence tests: no process is started, and a fixed environment to build with."""

from __future__ import annotations

import pytest

from starlab.evidence import environment
from starlab.evidence.environment import Environment

JAVA = 'openjdk version "17.0.15" 2025-04-15'


@pytest.fixture(autouse=True)
def _no_java(monkeypatch: pytest.MonkeyPatch) -> None:
    # build_report collects the environment, which runs `java -version`: unit tests start no
    # process. test_environment.py keeps the real function (imported before this patch runs).
    monkeypatch.setattr(environment, "java_version", lambda *a, **k: JAVA)


@pytest.fixture
def env() -> Environment:
    """A complete environment, as a machine with everything installed reports it."""
    return Environment(
        python="3.11.9",
        platform="Linux-6.1.0-x86_64-with-glibc2.36",
        machine="x86_64",
        cpu_count=8,
        cpus_usable=8,
        memory_bytes=16 * 2**30,
        topology="single",
        kafka_partitions=2,
        git_commit="cdc5efd" + "0" * 33,
        packages={"duckdb": "1.1.3", "confluent-kafka": "2.16.0"},
        stack={"kafka": "4.3.1", "flink": "2.2.1"},
        java=JAVA,
    )
