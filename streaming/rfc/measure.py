"""CPU-seconds and memory of a set of process trees over a window, and the RFC's measurements file.

Backs the RFC's cost figures (story 3: "compared cost"): the cost model
prices vCPU-hours and GB-hours, and those come from here, measured on this
machine while the daily batch recompute (dbt) and the stream (Flink, and
Kafka apart) process the same day of events.

`ResourceMeter` samples each root pid and all its descendants every
`interval_s` (0.5 s) in a thread, with psutil (a dependency of Airflow in
this venv):

- CPU-seconds: user + system time of every live process in the trees, plus
  the `children_*` times of descendants they have reaped, taken at the last
  sample minus the first. The sum is continuous when a child exits and is
  reaped by a parent inside the tree; a root that exits keeps its last
  sampled value, so it loses at most one interval of CPU;
- peak RSS: the largest sum of resident set sizes over the trees at one
  sample (shared pages of forked processes count once per process);
- GB-hours: that RSS sum integrated over time (trapezoids between samples).

Memory is in GiB (2^30 bytes), as cloud prices count it. `Measurement` is the
result; `MeasurementSet` is the JSON file `starlab stream rfc` reads.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import platform
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass as std_dataclass
from pathlib import Path
from types import TracebackType
from typing import Annotated, Literal

import psutil
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic.dataclasses import dataclass

from starlab.atomic import write_text_atomic
from streaming.errors import BenchError
from streaming.rfc.errors import RfcInputError

__all__ = [
    "DEFAULT_INTERVAL_S",
    "GIB",
    "HostInfo",
    "Measurement",
    "MeasurementSet",
    "ResourceMeter",
    "Sample",
    "integrate_gb_hours",
]

GIB = 2**30
"""Bytes in a GiB: memory in this module and in the prices is GiB."""

DEFAULT_INTERVAL_S = 0.5
"""Sampling period: short enough that a dbt run of a few seconds gets several samples,
long enough that walking a JVM's process tree does not show up in the measurement."""

_NonNegative = Annotated[float, Field(ge=0, allow_inf_nan=False)]


@dataclass(frozen=True)
class Measurement:
    """What one workload consumed on this machine while processing `events` events."""

    name: str
    events: Annotated[int, Field(ge=0)]
    """Events processed in the window (the cost model scales by events)."""
    wall_s: _NonNegative
    cpu_s: _NonNegative
    """CPU-seconds (user + system) of the process trees during the window."""
    peak_rss_gb: _NonNegative
    """Largest RSS sum over the trees at one sample, GiB."""
    gb_hours: _NonNegative
    """RSS sum integrated over the window, GiB-hours."""

    @property
    def cpu_s_per_event(self) -> float:
        return self.cpu_s / self.events if self.events else 0.0

    @property
    def gb_s_per_event(self) -> float:
        """GiB-seconds of memory per event: x events/s gives the GiB held at that rate."""
        return self.gb_hours * 3600 / self.events if self.events else 0.0

    @property
    def mean_rss_gb(self) -> float:
        return self.gb_hours * 3600 / self.wall_s if self.wall_s else 0.0

    @property
    def cores_busy(self) -> float:
        """Mean vCPUs in use over the window."""
        return self.cpu_s / self.wall_s if self.wall_s else 0.0


@dataclass(frozen=True)
class HostInfo:
    """The machine the measurements were taken on, for the RFC's measurements section."""

    cpu_model: str
    cores: Annotated[int, Field(ge=1)]
    memory_gb: _NonNegative
    os: str

    @staticmethod
    def this_machine() -> HostInfo:
        model = platform.processor() or platform.machine()
        try:
            for line in Path("/proc/cpuinfo").read_text().splitlines():
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
        except OSError:
            pass
        return HostInfo(
            cpu_model=model or "unknown",
            cores=psutil.cpu_count(logical=True) or 1,
            memory_gb=round(psutil.virtual_memory().total / GIB, 1),
            os=f"{platform.system()} {platform.release()}",
        )


class MeasurementSet(BaseModel):
    """The file the measuring step writes and `starlab stream rfc --measurements` reads."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    schema_version: Literal[1] = 1
    measured_at: AwareDatetime
    """When the measurements were taken (UTC)."""
    host: HostInfo
    batch: Measurement
    """dbt full refresh of the engagement metrics over one day of events."""
    stream: Measurement
    """Flink processing the same day's events (JobManager and TaskManagers, Kafka excluded)."""
    kafka: Measurement
    """The Kafka broker(s) while the stream ran, measured apart."""
    stream_e2e_p95_s: Annotated[float, Field(gt=0, allow_inf_nan=False)] | None = None
    """Produce-to-committed-output p95 of the same stream run, if measured."""
    notes: str = ""
    """How the measurements were taken (commands, event count, rate)."""

    @model_validator(mode="after")
    def _usable(self) -> MeasurementSet:
        # The model divides by events and wall time: a zero would be a crash later, say it here.
        for m in (self.batch, self.stream, self.kafka):
            if m.events <= 0:
                raise ValueError(f"{m.name}: events must be > 0 to scale by events, got {m.events}")
            if m.wall_s <= 0:
                raise ValueError(f"{m.name}: wall_s must be > 0, got {m.wall_s}")
        return self

    def to_json(self) -> str:
        return self.model_dump_json(indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str, source: Path | str = "<measurements>") -> MeasurementSet:
        """Parse and validate; `RfcInputError` naming `source` and each problem, in one line."""
        try:
            return cls.model_validate_json(text)
        except ValidationError as exc:
            problems = []
            for e in exc.errors():
                where = ".".join(str(p) for p in e["loc"]) or "(top level)"
                msg = e["msg"]
                if e["type"] == "value_error":
                    msg = str((e.get("ctx") or {}).get("error", msg))
                problems.append(f"{where}: {msg}")
            raise RfcInputError(source, tuple(problems)) from None

    def write(self, path: Path) -> None:
        write_text_atomic(path, self.to_json())

    @classmethod
    def read(cls, path: Path) -> MeasurementSet:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise RfcInputError(path, (f"cannot read: {exc.strerror or exc}",)) from None
        return cls.from_json(text, path)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form (datetimes as ISO strings), for reports."""
        loaded: dict[str, object] = json.loads(self.model_dump_json())
        return loaded


# --- sampling ---------------------------------------------------------------


@std_dataclass(frozen=True)
class Sample:
    """One look at the trees: when (monotonic s), CPU-seconds so far, RSS sum (bytes)."""

    t_s: float
    cpu_s: float
    rss_bytes: int


def integrate_gb_hours(samples: Sequence[Sample]) -> float:
    """RSS integrated over time by trapezoids, in GiB-hours (0 for fewer than two samples)."""
    total_byte_s = 0.0
    for a, b in itertools.pairwise(samples):
        total_byte_s += (a.rss_bytes + b.rss_bytes) / 2 * (b.t_s - a.t_s)
    return total_byte_s / GIB / 3600


_Key = tuple[int, float]
"""A process is (pid, create_time): a pid reused by a new process is another process."""


class ResourceMeter:
    """Measures process trees in a background thread; `stop(events)` returns a `Measurement`.

    Use as a context manager or call `start()` / `stop()`::

        with ResourceMeter("stream", [jm_pid, tm_pid]) as meter:
            ...  # the workload runs
        result = meter.stop(events=1_000_000)   # idempotent after the block

    Measuring this very process (`os.getpid()`) also counts the meter's own thread, a few
    milliseconds of CPU per sample.
    """

    def __init__(self, name: str, pids: Iterable[int], *, interval_s: float = DEFAULT_INTERVAL_S) -> None:
        self.name = name
        self.pids = tuple(pids)
        if not self.pids:
            raise ValueError("ResourceMeter needs at least one pid")
        if interval_s <= 0:
            raise ValueError(f"interval_s must be > 0, got {interval_s}")
        self.interval_s = interval_s
        self.samples: list[Sample] = []
        self.unreadable: set[int] = set()
        """Pids in the trees the meter was not allowed to read (another user's process)."""
        self._base: dict[_Key, float] = {}
        self._last: dict[_Key, float] = {}
        self._parent: dict[_Key, _Key | None] = {}
        self._frozen: dict[_Key, float] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._t0 = 0.0
        self._result: Measurement | None = None

    # -- lifecycle ----------------------------------------------------------

    def start(self) -> ResourceMeter:
        if self._thread is not None:
            raise RuntimeError("ResourceMeter already started")
        self._t0 = time.monotonic()
        first = self._sample(first=True)
        if not self._base:
            raise BenchError(f"{self.name}: none of the pids {list(self.pids)} is a readable running process")
        self.samples.append(first)
        self._thread = threading.Thread(target=self._run, name=f"meter-{self.name}", daemon=True)
        self._thread.start()
        return self

    def stop(self, events: int) -> Measurement:
        """End the window (a last sample is taken now) and return what the trees consumed."""
        if self._thread is None:
            raise RuntimeError("ResourceMeter was not started")
        if self._result is not None:
            return dataclasses.replace(self._result, events=events)
        self._stop.set()
        self._thread.join()
        self.samples.append(self._sample(first=False))
        last = self.samples[-1]
        self._result = Measurement(
            name=self.name,
            events=events,
            wall_s=last.t_s - self._t0,
            cpu_s=max(0.0, last.cpu_s),
            peak_rss_gb=max(s.rss_bytes for s in self.samples) / GIB,
            gb_hours=integrate_gb_hours(self.samples),
        )
        return self._result

    def __enter__(self) -> ResourceMeter:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._result is None and self._thread is not None:
            self.stop(events=0)

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            sample = self._sample(first=False)
            with self._lock:
                self.samples.append(sample)

    # -- one sample -----------------------------------------------------------

    def _tree(self) -> list[psutil.Process]:
        procs: dict[int, psutil.Process] = {}
        for pid in self.pids:
            try:
                root = psutil.Process(pid)
                procs[root.pid] = root
                for child in root.children(recursive=True):
                    procs[child.pid] = child
            except psutil.NoSuchProcess:
                continue
            except psutil.AccessDenied:
                self.unreadable.add(pid)
        return list(procs.values())

    def _sample(self, *, first: bool) -> Sample:
        now = time.monotonic()
        alive: dict[_Key, float] = {}
        parents: dict[_Key, _Key | None] = {}
        rss = 0
        by_pid: dict[int, _Key] = {}
        readings: list[tuple[_Key, int, float, int]] = []
        for proc in self._tree():
            try:
                with proc.oneshot():
                    key = (proc.pid, proc.create_time())
                    t = proc.cpu_times()
                    mem = proc.memory_info().rss
                    ppid = proc.ppid()
            except psutil.NoSuchProcess:
                continue
            except psutil.AccessDenied:
                self.unreadable.add(proc.pid)
                continue
            # children_* hold the times of descendants this process has reaped: when a child
            # exits inside the tree, its CPU moves from its own entry into its parent's.
            total = t.user + t.system + t.children_user + t.children_system
            readings.append((key, ppid, total, mem))
            by_pid[key[0]] = key
        for key, ppid, total, mem in readings:
            alive[key] = total
            parents[key] = by_pid.get(ppid)
            rss += mem
        if first:
            self._base = dict(alive)
        else:
            for key, last in self._last.items():
                if key in alive:
                    continue
                parent = self._parent.get(key)
                base = self._base.get(key, 0.0)
                if parent is None or parent not in alive:
                    # A root (or an orphan) that ended: nobody in the trees will reap its time,
                    # so keep what it had used at its last sample.
                    self._frozen.setdefault(key, last - base)
                else:
                    # Its parent reaps it and its whole life's CPU lands in the parent's
                    # children_*; the part used before the window must come off again.
                    self._frozen.setdefault(key, -base)
        self._last = alive
        self._parent = parents
        used = sum(total - self._base.get(key, 0.0) for key, total in alive.items())
        used += sum(self._frozen.values())
        return Sample(t_s=now, cpu_s=used, rss_bytes=rss)
