"""The serving toolkit with real processes: a uvicorn app factory and the aiohttp load process.

No stack service is needed: the app is a fixture (tests/fixtures/serving).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from starlab.serving.load import LoadSpec, json_digest, run_load
from starlab.serving.process import AppServer, ServingError, free_port

pytestmark = pytest.mark.integration
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "serving"


def _server(**kw: object) -> AppServer:
    env = {"PYTHONPATH": str(FIXTURES), "FIXTURE_TAG": "t1"}
    return AppServer("fixture_app:create_app", env=env, **kw)  # type: ignore[arg-type]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_closed_loop_records_every_response_and_stops_the_server() -> None:
    with _server() as srv:
        pid = srv.pid
        assert pid is not None
        spec = LoadSpec(
            base_url=srv.base_url,
            paths=["/items?limit=3", "/items?limit=4"],
            requests=600,
            concurrency=8,
            capture_field="tag",
            digest_field="items",
            progress_at=[0.5],
        )
        marks: list[float] = []
        run = run_load(spec, on_progress=marks.append)
    assert run.requests == 600 and run.errors == 0
    assert marks and 0.45 <= marks[0] <= 0.55
    assert set(run.captured) == {"t1"}
    assert run.digest[run.path_index.index(0)] == json_digest([0, 1, 2])
    assert run.digest[run.path_index.index(1)] == json_digest([0, 1, 2, 3])
    assert run.summary().count == 600
    deadline = time.monotonic() + 5
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(pid)


def test_open_loop_counts_latency_from_the_scheduled_send_time() -> None:
    # 100 req/s for 2 s against a 50 ms route with at most 2 connections: the
    # server can answer 40/s, so requests queue and the latency measured from
    # the schedule grows far past 50 ms. A closed loop would hide the queue.
    with _server() as srv:
        spec = LoadSpec(
            base_url=srv.base_url, paths=["/slow?ms=50"], rate_per_s=100, duration_s=2, concurrency=2
        )
        run = run_load(spec)
    assert run.requests == 200 and run.errors == 0
    s = run.summary()
    assert s.p50 > 200, s  # queueing is visible
    assert s.max > 1_000, s


def test_errors_are_counted_not_dropped() -> None:
    with _server() as srv:
        run = run_load(
            LoadSpec(base_url=srv.base_url, paths=["/down", "/items"], requests=100, concurrency=4)
        )
    assert run.requests == 100 and run.errors == 50


def test_a_taken_port_is_refused_in_one_line() -> None:
    port = free_port()
    with _server(port=port), pytest.raises(ServingError, match="already in use"):
        _server(port=port).start()
