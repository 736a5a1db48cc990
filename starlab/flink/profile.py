"""CPU profiles of a running Flink JVM with async-profiler, as flame graphs and a summary.

Backs issue 12's "throughput per core": before removing a cost, see it. The
profiler is loaded into the JVM while it runs (`jcmd PID JVMTI.agent_load`),
so start-up and planning stay out of the recording and nothing is set at
launch. It records for a fixed time to JFR; the converter makes an HTML flame
graph (for people) and collapsed stacks (for `summarize`, which sorts samples
into the job's cost centres: Avro, RocksDB, the Kafka clients, Iceberg...).

Works on the job's own JVM (the local mini-cluster, under the PyFlink driver)
and on a TaskManager of the session cluster (its pid is the JVM itself).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
import zipfile
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import psutil

from starlab.flink.errors import FlinkJobError
from starlab.settings import Settings
from starlab.stack.prereqs import require_binary, require_java, resolve_jars

NATIVE_LIB = "linux-x64/libasyncProfiler.so"

# First match wins, looking from the leaf towards the root: a sample inside the
# RocksDB JNI call made by the dedup counts as RocksDB, not as the dedup.
CATEGORIES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(rx))
    for name, rx in (
        ("RocksDB (state)", r"org/rocksdb|rocksdb::|RocksDB|Java_org_rocksdb"),
        ("Avro decode", r"org/apache/avro|AvroRowDataDeserializationSchema|avro/registry"),
        ("Iceberg + Parquet write", r"org/apache/iceberg|org/apache/parquet"),
        ("Kafka producer (sinks)", r"kafka/clients/producer|KafkaWriter|FlinkKafkaInternalProducer"),
        ("Kafka consumer (source)", r"kafka/clients/consumer|KafkaSourceReader|KafkaPartitionSplitReader"),
        ("Record (de)serialization", r"TypeSerializer|RowDataSerializer|RecordWriter|SpillingAdaptive"),
        ("Checkpointing", r"[Cc]heckpoint|[Ss]napshot"),
        ("SQL operators", r"org/apache/flink/table/runtime|StreamExecCalc|GeneratedClass|StreamExec"),
        ("GC / JIT / VM", r"^(G1|GC|CompileBroker|C2Compiler|C1Compiler|VMThread|Thread::call_run)|GCTask"),
    )
)


# Which operator's code ran: the operator frame nearest the leaf wins, so work
# of an operator chained behind another (the lake writer behind the dedup) is
# its own, and RocksDB calls count for the operator that made them.
OPERATORS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(rx))
    for name, rx in (
        ("dedup (keep first per event_id)", r"Deduplicate"),
        ("per-minute metrics (group aggregate)", r"GroupAggFunction"),
        ("lateness mark (OVER per partition)", r"ProcTimeUnboundedPreceding|ProcTimeRangeUnbounded"),
        ("lake writer and committer (Iceberg)", r"org/apache/iceberg"),
        ("Kafka sinks (upsert metrics, late events)", r"KafkaWriter|kafka/clients/producer"),
        ("Kafka source and Avro decode", r"SourceOperator|KafkaSourceReader|org/apache/avro"),
        ("network exchange between tasks", r"RecordWriter|StreamTaskNetworkInput|RecordDeserializer"),
        ("checkpoints", r"[Cc]heckpoint|snapshotState"),
        ("JIT compiler", r"CompileBroker|C2Compiler|C1Compiler"),
    )
)


@dataclass(frozen=True)
class Share:
    """One frame or category and its part of the recorded samples."""

    name: str
    samples: int
    total: int

    @property
    def pct(self) -> float:
        return 100.0 * self.samples / self.total if self.total else 0.0


@dataclass(frozen=True)
class ProfileSummary:
    samples: int
    categories: tuple[Share, ...]
    """Every category (and "other"), largest first; they add up to all samples."""
    top_self: tuple[Share, ...]
    """The frames the CPU was in, largest first."""
    operators: tuple[Share, ...] = ()
    """Every operator of `OPERATORS` (and "other"), largest first; they add up to all samples."""

    def category(self, name: str) -> Share:
        return next((c for c in self.categories if c.name == name), Share(name, 0, self.samples))


@dataclass(frozen=True)
class Profile:
    pid: int
    seconds: float
    html: Path
    collapsed: Path
    summary: ProfileSummary


def _frames(stack: str) -> list[str]:
    # jfrconv marks frame kinds with suffixes like `_[j]` (Java) or `_[k]` (kernel).
    return [re.sub(r"_\[[a-z0-9]+\]$", "", f) for f in stack.split(";") if f]


def summarize(lines: Iterable[str], top: int = 15) -> ProfileSummary:
    """Categories and top self frames from collapsed stacks (`frame;frame;... count`)."""
    self_counts: Counter[str] = Counter()
    cats: Counter[str] = Counter()
    ops: Counter[str] = Counter()
    total = 0
    for line in lines:
        stack, _, count = line.rstrip("\n").rpartition(" ")
        if not count.isdigit() or not stack:
            continue
        n = int(count)
        total += n
        frames = _frames(stack)
        self_counts[frames[-1]] += n
        for name, rx in CATEGORIES:
            if any(rx.search(f) for f in reversed(frames)):
                cats[name] += n
                break
        else:
            cats["other"] += n
        ops[_operator(frames)] += n
    return ProfileSummary(
        samples=total,
        categories=tuple(Share(k, v, total) for k, v in cats.most_common()),
        top_self=tuple(Share(k, v, total) for k, v in self_counts.most_common(top)),
        operators=tuple(Share(k, v, total) for k, v in ops.most_common()),
    )


def _operator(frames: list[str]) -> str:
    for f in reversed(frames):
        for name, rx in OPERATORS:
            if rx.search(f):
                return name
    return "other"


def profiler_files(settings: Settings) -> tuple[Path, Path]:
    """The native agent (unpacked from the Maven jar once) and the converter jar."""
    jars = resolve_jars(settings, "profiler")
    converter = next(jars.glob("jfr-converter-*.jar"), None)
    agent_jar = next(jars.glob("async-profiler-*.jar"), None)
    if converter is None or agent_jar is None:
        raise FlinkJobError(f"async-profiler jars missing in {jars}")
    lib = jars / "native" / Path(NATIVE_LIB).name
    if not lib.exists():
        lib.parent.mkdir(exist_ok=True)
        with zipfile.ZipFile(agent_jar) as zf, zf.open(NATIVE_LIB) as src, lib.open("wb") as dst:
            shutil.copyfileobj(src, dst)
    return lib, converter


def jvm_pid(pid: int) -> int:
    """`pid` if it is a JVM, else its first JVM descendant (PyFlink's gateway under the driver)."""
    try:
        proc = psutil.Process(pid)
        for p in [proc, *proc.children(recursive=True)]:
            if Path(p.exe()).name == "java":
                return p.pid
    except psutil.Error as exc:
        raise FlinkJobError(f"process {pid}: {exc}") from None
    raise FlinkJobError(f"no JVM at or under process {pid}")


def record(
    settings: Settings, pid: int, seconds: float, out: Path, title: str, event: str = "cpu"
) -> Profile:
    """Profile JVM `pid` (or the JVM under it) for `seconds`; write `out`.html and `out`.collapsed.

    `event=cpu` uses perf events (kernel frames too); `itimer` works where
    perf events are not allowed.
    """
    lib, converter = profiler_files(settings)
    java = require_java()
    jcmd = require_binary("jcmd", "install a JDK (Debian: openjdk-17-jdk-headless)")
    target = jvm_pid(pid)
    out.parent.mkdir(parents=True, exist_ok=True)
    jfr = out.with_suffix(".jfr")
    jfr.unlink(missing_ok=True)
    # The option string goes through jcmd as one quoted argument; the timeout
    # makes the agent stop and write by itself.
    opts = f'"start,event={event},interval=10ms,timeout={int(seconds)},file={jfr.resolve()}"'
    cmd = [jcmd, str(target), "JVMTI.agent_load", str(lib), opts]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    answer = (proc.stdout + proc.stderr).strip()
    if proc.returncode != 0 or "error" in answer.lower():
        raise FlinkJobError(f"cannot attach async-profiler to {target}: {answer}")
    time.sleep(seconds)
    deadline = time.monotonic() + 30
    last = -1
    while True:  # the agent writes when its timeout fires: wait until the size settles
        size = jfr.stat().st_size if jfr.exists() else -1
        if size > 0 and size == last:
            break
        if time.monotonic() > deadline:
            raise FlinkJobError(f"no profile from JVM {target} in {jfr} (did it exit?)")
        last = size
        time.sleep(1)
    html, collapsed = out.with_suffix(".html"), out.with_suffix(".collapsed")
    for fmt, dest, extra in (("html", html, ["--title", title]), ("collapsed", collapsed, [])):
        conv = subprocess.run(
            [java, "-jar", str(converter), "--cpu", "-o", fmt, *extra, str(jfr), str(dest)],
            capture_output=True,
            text=True,
        )
        if conv.returncode != 0:
            raise FlinkJobError(f"jfr-converter failed on {jfr}: {conv.stderr.strip()[-300:]}")
    jfr.unlink()
    with collapsed.open() as fh:
        summary = summarize(fh)
    return Profile(target, seconds, html, collapsed, summary)
