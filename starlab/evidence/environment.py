"""The machine and software a run measured on, written into evidence.json next to the claims.

Backs issue 13's "evidence.json ... plus the run's environment (versions,
cores, data sizes, seed, topology, git commit)": a figure such as "p95 180 ms"
means little without the cores it ran on, the Kafka it talked to and the
commit it came from, and `starlab report --compare` shows which of these
changed when a figure moved. Data sizes and seeds are per story
(`StoryRecord.params`); this module holds what is shared by the whole run.

Collecting never fails: what cannot be read (no `java` on PATH, a package not
installed, a platform without CPU affinity) is None or left out, because a
report must still be written on a machine that lacks a part of the stack.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import psutil

from starlab.evidence.store import git_commit
from starlab.settings import ROOT, Settings

__all__ = [
    "KEY_PACKAGES",
    "Environment",
    "collect_environment",
    "java_version",
    "kafka_version",
    "package_versions",
]

KEY_PACKAGES = (
    "starlab",
    "confluent-kafka",
    "redis",
    "duckdb",
    "dbt-core",
    "great-expectations",
    "apache-airflow",
    "pyiceberg",
    "fastapi",
)
"""Python distributions whose version can change a measured figure (clients, engines, servers)."""

KAFKA_POM = ROOT / "starlab" / "stack" / "maven" / "kafka" / "pom.xml"
"""The pom `starlab up` resolves the broker from; its `kafka.version` is the broker's version
(docker-compose.yml pins the same one for the `apache/kafka` image)."""

JAVA_TIMEOUT_S = 5.0
"""`java -version` answers in well under a second; a hung JVM must not hang the report."""


@dataclass(frozen=True, slots=True)
class Environment:
    """What one run measured on: interpreter, machine, stack versions, topology, commit."""

    python: str
    """Interpreter version, "3.11.9"."""
    platform: str
    """OS and kernel as `platform.platform()` prints them."""
    machine: str
    """CPU architecture, "x86_64" or "aarch64"."""
    cpu_count: int | None
    """Logical CPUs of the machine (`os.cpu_count()`)."""
    cpus_usable: int | None
    """CPUs this process may run on (its affinity mask: a container or `taskset` can
    give fewer than `cpu_count`); None where the platform has no affinity call."""
    memory_bytes: int | None
    """Physical memory of the machine."""
    topology: str
    """`single` or `cluster` (`STARLAB_TOPOLOGY`) when the report was built."""
    kafka_partitions: int
    """Partitions of the event topics on that topology: throughput figures scale with it."""
    git_commit: str | None
    """The commit the code ran from; None outside a git checkout."""
    packages: Mapping[str, str] = field(default_factory=dict)
    """Versions of the installed `KEY_PACKAGES`; missing ones are left out."""
    stack: Mapping[str, str] = field(default_factory=dict)
    """Versions of the systems the stack runs: {"kafka": "4.3.1", "flink": "2.2.1"}."""
    java: str | None = None
    """The first line of `java -version`; None when there is no Java."""

    def summary(self) -> str:
        """One line for the report's header: the machine and versions the figures come from."""
        cores = self.cpus_usable or self.cpu_count
        parts = [
            f"{cores} cores" if cores else None,
            f"{self.memory_bytes / 2**30:.1f} GiB" if self.memory_bytes else None,
            f"{self.topology} topology",
            f"Python {self.python}",
            *(f"{name.capitalize()} {version}" for name, version in sorted(self.stack.items())),
            f"commit {self.git_commit[:12]}" if self.git_commit else None,
        ]
        return "Measured on " + ", ".join(p for p in parts if p) + "."

    def to_dict(self) -> dict[str, Any]:
        """The JSON form written under "environment" in evidence.json."""
        return {
            "python": self.python,
            "platform": self.platform,
            "machine": self.machine,
            "cpu_count": self.cpu_count,
            "cpus_usable": self.cpus_usable,
            "memory_bytes": self.memory_bytes,
            "topology": self.topology,
            "kafka_partitions": self.kafka_partitions,
            "git_commit": self.git_commit,
            "packages": dict(self.packages),
            "stack": dict(self.stack),
            "java": self.java,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Environment:
        """Rebuild from `to_dict` output (validated by the evidence schema beforehand)."""
        return cls(
            python=str(data["python"]),
            platform=str(data["platform"]),
            machine=str(data["machine"]),
            cpu_count=_int_or_none(data.get("cpu_count")),
            cpus_usable=_int_or_none(data.get("cpus_usable")),
            memory_bytes=_int_or_none(data.get("memory_bytes")),
            topology=str(data["topology"]),
            kafka_partitions=int(data["kafka_partitions"]),
            git_commit=data["git_commit"] if isinstance(data.get("git_commit"), str) else None,
            packages={str(k): str(v) for k, v in dict(data.get("packages") or {}).items()},
            stack={str(k): str(v) for k, v in dict(data.get("stack") or {}).items()},
            java=data["java"] if isinstance(data.get("java"), str) else None,
        )


def _int_or_none(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def package_versions(names: Iterable[str] = KEY_PACKAGES) -> dict[str, str]:
    """{distribution: version} of those of `names` that are installed."""
    versions = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue  # not installed here: absent from the report, not an error
    return versions


def java_version(java: str | None = None, timeout: float = JAVA_TIMEOUT_S) -> str | None:
    """The version line of `java -version` ('openjdk version "17.0.15" 2025-04-15'), or None.

    `java` defaults to the one on PATH. The JVM prints to stderr, sometimes after
    a "Picked up JAVA_TOOL_OPTIONS" line, so the line naming the version is picked.
    """
    exe = java or shutil.which("java")
    if exe is None:
        return None
    try:
        proc = subprocess.run([exe, "-version"], capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.SubprocessError):
        return None
    if proc.returncode != 0:
        return None
    lines = [line.strip() for line in (proc.stderr + proc.stdout).splitlines() if line.strip()]
    return next((line for line in lines if " version " in line), lines[0] if lines else None)


def kafka_version(pom: Path = KAFKA_POM) -> str | None:
    """`<properties><kafka.version>` of the broker's pom; None if the file is missing or has none."""
    try:
        root = ET.parse(pom).getroot()
    except (OSError, ET.ParseError):
        return None
    for element in root.iter():
        # Maven poms carry a default namespace: "{http://maven.apache.org/POM/4.0.0}kafka.version".
        if element.tag.rpartition("}")[2] == "kafka.version" and element.text and element.text.strip():
            return element.text.strip()
    return None


def _cpus_usable() -> int | None:
    affinity = getattr(os, "sched_getaffinity", None)  # Linux only
    if affinity is None:
        return None
    try:
        return len(affinity(0))
    except OSError:
        return None


def _memory_bytes() -> int | None:
    try:
        return int(psutil.virtual_memory().total)
    except (OSError, RuntimeError):
        return None


def collect_environment(settings: Settings, *, repo_root: Path = ROOT) -> Environment:
    """The environment of this process, with the topology and versions `settings` choose."""
    stack = {"flink": settings.flink_version}
    kafka = kafka_version()
    if kafka is not None:
        stack = {"kafka": kafka, **stack}
    return Environment(
        python=platform.python_version(),
        platform=platform.platform(),
        machine=platform.machine(),
        cpu_count=os.cpu_count(),
        cpus_usable=_cpus_usable(),
        memory_bytes=_memory_bytes(),
        topology=settings.topology,
        kafka_partitions=settings.kafka_partitions,
        git_commit=git_commit(repo_root),
        packages=package_versions(),
        stack=stack,
        java=java_version(),
    )
