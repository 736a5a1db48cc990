"""Load generator for the ranking API, run as a SEPARATE process (`python -m rankings.load`).

Backs story 2's "API p95 180 ms" (< 200 ms) and issue 4's "0 failed or
mixed-version responses during a flip": it sends `--requests` GETs over
`--concurrency` keep-alive connections, cycling through `--path`s, and
records for every response its latency, status, the `build_id` it names and
a digest of its items. The parent (`rankings.bench`) then checks each
response against the snapshot of the version it names.

The client is a minimal HTTP/1.1 keep-alive client on asyncio streams
rather than httpx: on 2 shared cores httpx's per-request overhead (~0.5 ms
of CPU) made the load generator, not the server, the bottleneck, which
inflates every percentile with client-side queueing. Latency is measured
from just before the request is written to just after the body is read.

Prints `{"progress": 0.5}` on stdout when half the requests are done (the
bench flips then), and writes a JSON result file at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit


@dataclass
class Sample:
    path_index: int
    start_ns: int
    end_ns: int
    status: int
    build_id: str | None
    digest: str | None
    error: str | None = None


@dataclass
class LoadResult:
    samples: list[Sample] = field(default_factory=list)
    started_ns: int = 0
    finished_ns: int = 0

    def to_dict(self, paths: list[str]) -> dict[str, Any]:
        return {
            "paths": paths,
            "started_ns": self.started_ns,
            "finished_ns": self.finished_ns,
            # columns, not row objects: 20k rows stay a small, fast JSON file
            "path_index": [s.path_index for s in self.samples],
            "start_ns": [s.start_ns for s in self.samples],
            "end_ns": [s.end_ns for s in self.samples],
            "status": [s.status for s in self.samples],
            "build_id": [s.build_id for s in self.samples],
            "digest": [s.digest for s in self.samples],
            "error": [s.error for s in self.samples],
        }


def items_digest(items: list[Any]) -> str:
    """Digest of a response's items, comparable with one computed from the cache."""
    canonical = json.dumps(items, sort_keys=True, separators=(",", ":"))
    return hashlib.sha1(canonical.encode()).hexdigest()[:16]


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length = 0
    for line in lines[1:]:
        if line[:15].lower() == "content-length:":
            length = int(line[15:].strip())
    body = await reader.readexactly(length) if length else b""
    return status, body


async def _worker(
    host: str,
    port: int,
    requests: list[bytes],
    counter: list[int],
    total: int,
    result: LoadResult,
    parse: bool,
    half: asyncio.Event,
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while True:
            i = counter[0]
            if i >= total:
                return
            counter[0] = i + 1
            k = i % len(requests)
            t0 = time.perf_counter_ns()
            try:
                writer.write(requests[k])
                status, body = await _read_response(reader)
                t1 = time.perf_counter_ns()
                build = digest = None
                if parse and status == 200:
                    doc = json.loads(body)
                    build, digest = doc.get("build_id"), items_digest(doc.get("items", []))
                result.samples.append(Sample(k, t0, t1, status, build, digest))
            except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                t1 = time.perf_counter_ns()
                result.samples.append(Sample(k, t0, t1, 0, None, None, type(exc).__name__))
                writer.close()
                reader, writer = await asyncio.open_connection(host, port)
            if len(result.samples) * 2 >= total and not half.is_set():
                half.set()
                print(json.dumps({"progress": 0.5}), flush=True)
    finally:
        writer.close()


async def run_load(
    base_url: str, paths: list[str], requests: int, concurrency: int, *, parse: bool = True
) -> LoadResult:
    url = urlsplit(base_url)
    host, port = url.hostname or "127.0.0.1", url.port or 80
    raw = [
        f"GET {p} HTTP/1.1\r\nHost: {host}:{port}\r\nAccept: application/json\r\n\r\n".encode() for p in paths
    ]
    result = LoadResult(started_ns=time.perf_counter_ns())
    counter = [0]
    half = asyncio.Event()
    await asyncio.gather(
        *(_worker(host, port, raw, counter, requests, result, parse, half) for _ in range(concurrency))
    )
    result.finished_ns = time.perf_counter_ns()
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Load the ranking API from a separate process.")
    ap.add_argument("--base-url", required=True, help="e.g. http://127.0.0.1:8000")
    ap.add_argument("--path", action="append", required=True, help="request path, repeatable (cycled)")
    ap.add_argument("--requests", type=int, default=20_000, help="total requests")
    ap.add_argument("--concurrency", type=int, default=32, help="open connections, one request each")
    ap.add_argument("--no-parse", action="store_true", help="skip body parsing (pure latency)")
    ap.add_argument("--out", type=Path, required=True, help="result JSON file")
    args = ap.parse_args(argv)
    coro = run_load(args.base_url, args.path, args.requests, args.concurrency, parse=not args.no_parse)
    try:
        import uvloop
    except ImportError:  # plain asyncio works, a little slower
        result = asyncio.run(coro)
    else:
        result = uvloop.run(coro)
    args.out.write_text(json.dumps(result.to_dict(args.path)))
    print(json.dumps({"done": len(result.samples)}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
