"""A load generator run as a SEPARATE process: `python -m starlab.serving.load --spec S --out O`.

Backs every served-latency claim (story 2's "API p95 180 ms", story 4's
"p95 serving 38 ms", story 004's 290 vs 205 ms): the load and the server
share the machine's cores, as in any single-box benchmark, but never a
Python interpreter, so the server's event loop is not slowed by the
client's.

Built on aiohttp's client (a kept connection pool per process, on uvloop),
not a hand-written HTTP parser: it handles chunked bodies, keep-alive and
errors as any real client would. Two modes:

- closed loop (`requests`, `concurrency`): C workers each send the next
  request when the previous one answered: the classic throughput test;
- open loop (`rate_per_s`, `duration_s`): requests leave on a fixed
  schedule whatever the server does, and latency counts from the SCHEDULED
  send time, so a stall shows up in the percentiles instead of silently
  slowing the load down (coordinated omission).

Every response is recorded (path index, start/end ns on the shared
CLOCK_MONOTONIC, status, and, when asked, one JSON string field such as the
build a body names and a digest of another field), plus an HDR histogram of
the latencies. Progress is printed on stdout as `{"progress": F}` at the
fractions asked for, so the parent can act mid-load (flip a version,
inject a fault).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, Field, model_validator

from starlab.errors import StarlabError
from starlab.metrics import LatencySummary
from starlab.serving.histogram import LatencyRecorder

__all__ = ["LoadError", "LoadRun", "LoadSpec", "json_digest", "run_load"]


class LoadError(StarlabError):
    """The load process failed, or its spec is invalid."""


class LoadSpec(BaseModel):
    """What to send, how hard, and what to record of each response."""

    base_url: str
    paths: list[str] = Field(min_length=1)
    """Request paths; with `weights`, each request picks one at random (key skew)."""
    weights: list[float] | None = None
    """Relative weight per path (e.g. Zipf over users); None = round robin."""
    requests: int | None = Field(default=None, ge=1)
    """Closed loop: total requests over `concurrency` connections."""
    concurrency: int = Field(default=32, ge=1, le=4096)
    rate_per_s: float | None = Field(default=None, gt=0)
    """Open loop: requests per second on a fixed schedule, for `duration_s`."""
    duration_s: float | None = Field(default=None, gt=0)
    capture_field: str | None = None
    """A top-level JSON field recorded per response (e.g. "build_id")."""
    digest_field: str | None = None
    """A top-level JSON field hashed per response (`json_digest`), e.g. "items"."""
    progress_at: list[float] = Field(default_factory=lambda: [0.5])
    timeout_s: float = Field(default=10.0, gt=0)
    seed: int = 0

    @model_validator(mode="after")
    def _one_mode(self) -> LoadSpec:
        closed = self.requests is not None
        open_ = self.rate_per_s is not None or self.duration_s is not None
        if closed == open_:
            raise ValueError("give either requests (closed loop) or rate_per_s + duration_s (open loop)")
        if open_ and (self.rate_per_s is None or self.duration_s is None):
            raise ValueError("an open loop needs both rate_per_s and duration_s")
        if self.weights is not None and len(self.weights) != len(self.paths):
            raise ValueError(f"{len(self.weights)} weights for {len(self.paths)} paths")
        return self

    @property
    def total(self) -> int:
        if self.requests is not None:
            return self.requests
        assert self.rate_per_s is not None and self.duration_s is not None
        return max(int(self.rate_per_s * self.duration_s), 1)


def json_digest(value: object) -> str:
    """A short, stable digest of a JSON value (key order and spacing do not matter)."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"))
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


@dataclass
class LoadRun:
    """Every response of one load process, as columns, plus its HDR histogram."""

    paths: list[str]
    path_index: list[int]
    start_ns: list[int]
    end_ns: list[int]
    status: list[int]
    captured: list[str | None]
    digest: list[str | None]
    started_ns: int
    finished_ns: int
    histogram: str
    wall_s: float = 0.0

    @property
    def requests(self) -> int:
        return len(self.status)

    @property
    def latencies_ms(self) -> list[float]:
        return [(e - s) / 1e6 for s, e in zip(self.start_ns, self.end_ns, strict=True)]

    def latencies_of(self, path_index: int) -> list[float]:
        return [
            (e - s) / 1e6
            for k, s, e in zip(self.path_index, self.start_ns, self.end_ns, strict=True)
            if k == path_index
        ]

    @property
    def throughput_rps(self) -> float:
        return self.requests / max((self.finished_ns - self.started_ns) / 1e9, 1e-9)

    @property
    def errors(self) -> int:
        """Responses that were not 200 (status 0 = no HTTP answer: timeout, reset)."""
        return sum(1 for s in self.status if s != 200)

    def recorder(self) -> LatencyRecorder:
        return LatencyRecorder.decode(self.histogram)

    def summary(self) -> LatencySummary:
        """p50/p95/p99 from the HDR histogram (3 significant digits), in ms."""
        return self.recorder().summary()


# --- the load process ------------------------------------------------------------------


class _Recorder:
    def __init__(self, spec: LoadSpec) -> None:
        n = spec.total
        self.spec = spec
        self.path_index = [0] * n
        self.start_ns = [0] * n
        self.end_ns = [0] * n
        self.status = [0] * n
        self.captured: list[str | None] = [None] * n
        self.digest: list[str | None] = [None] * n
        self.hist = LatencyRecorder()
        self.done = 0
        self.marks = sorted(int(f * n) for f in spec.progress_at if 0 < f < 1)

    def finish(self, i: int, end_ns: int) -> None:
        self.end_ns[i] = end_ns
        self.hist.record_ns(end_ns - self.start_ns[i])
        self.done += 1
        while self.marks and self.done >= self.marks[0]:
            self.marks.pop(0)
            print(json.dumps({"progress": round(self.done / len(self.status), 3)}), flush=True)


async def _one(session: object, rec: _Recorder, i: int, url: str, scheduled_ns: int | None) -> None:
    import aiohttp

    assert isinstance(session, aiohttp.ClientSession)
    spec = rec.spec
    rec.start_ns[i] = scheduled_ns if scheduled_ns is not None else time.perf_counter_ns()
    try:
        async with session.get(url) as resp:
            body = await resp.read()
            rec.status[i] = resp.status
        if resp.status == 200 and (spec.capture_field or spec.digest_field):
            doc = json.loads(body)
            if spec.capture_field:
                value = doc.get(spec.capture_field)
                rec.captured[i] = None if value is None else str(value)
            if spec.digest_field:
                rec.digest[i] = json_digest(doc.get(spec.digest_field))
    except (aiohttp.ClientError, TimeoutError, ValueError, OSError):
        rec.status[i] = 0  # no usable HTTP answer: counted as an error, latency still recorded
    rec.finish(i, time.perf_counter_ns())


async def _drive(spec: LoadSpec) -> tuple[_Recorder, int, int]:
    import aiohttp

    rec = _Recorder(spec)
    rng = random.Random(spec.seed)
    n = spec.total
    if spec.weights:
        choice = rng.choices(range(len(spec.paths)), weights=spec.weights, k=n)
    else:
        choice = [i % len(spec.paths) for i in range(n)]
    rec.path_index = choice
    urls = [spec.base_url.rstrip("/") + p for p in spec.paths]
    connector = aiohttp.TCPConnector(limit=spec.concurrency, ttl_dns_cache=None)
    timeout = aiohttp.ClientTimeout(total=spec.timeout_s)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        started = time.perf_counter_ns()
        if spec.requests is not None:
            counter = iter(range(n))

            async def worker() -> None:
                for i in counter:
                    await _one(session, rec, i, urls[choice[i]], None)

            await asyncio.gather(*(worker() for _ in range(min(spec.concurrency, n))))
        else:
            assert spec.rate_per_s is not None
            interval_ns = int(1e9 / spec.rate_per_s)
            tasks = []
            for i in range(n):
                due = started + i * interval_ns
                delay = (due - time.perf_counter_ns()) / 1e9
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(_one(session, rec, i, urls[choice[i]], due)))
            await asyncio.gather(*tasks)
        finished = time.perf_counter_ns()
    return rec, started, finished


def _main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="starlab load process (started by run_load)")
    parser.add_argument("--spec", type=Path, required=True, help="LoadSpec as JSON")
    parser.add_argument("--out", type=Path, required=True, help="where to write the LoadRun JSON")
    args = parser.parse_args(argv)
    spec = LoadSpec.model_validate_json(args.spec.read_text())
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # uvloop is a uvicorn extra; plain asyncio still works, slower
        pass
    rec, started, finished = asyncio.run(_drive(spec))
    args.out.write_text(
        json.dumps(
            {
                "paths": spec.paths,
                "path_index": rec.path_index,
                "start_ns": rec.start_ns,
                "end_ns": rec.end_ns,
                "status": rec.status,
                "captured": rec.captured,
                "digest": rec.digest,
                "started_ns": started,
                "finished_ns": finished,
                "histogram": rec.hist.encode(),
            }
        )
    )
    return 0


# --- the parent's side -------------------------------------------------------------------


def run_load(
    spec: LoadSpec,
    *,
    on_progress: Callable[[float], None] | None = None,
    timeout_s: float = 900.0,
) -> LoadRun:
    """Run one load process to completion; `on_progress(F)` is called at each `spec.progress_at`."""
    with tempfile.TemporaryDirectory(prefix="starlab-load-") as tmp:
        spec_file, out = Path(tmp) / "spec.json", Path(tmp) / "run.json"
        spec_file.write_text(spec.model_dump_json())
        cmd = [sys.executable, "-m", "starlab.serving.load", "--spec", str(spec_file), "--out", str(out)]
        t0 = time.monotonic()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert proc.stdout is not None and proc.stderr is not None
        try:
            for line in proc.stdout:
                if on_progress is not None and line.startswith('{"progress"'):
                    on_progress(float(json.loads(line)["progress"]))
            proc.wait(timeout=timeout_s)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        if proc.returncode != 0:
            err = proc.stderr.read().strip()
            raise LoadError(f"the load process failed ({proc.returncode}): {err[-400:]}")
        data = json.loads(out.read_text())
        return LoadRun(**data, wall_s=time.monotonic() - t0)


if __name__ == "__main__":
    sys.exit(_main())
