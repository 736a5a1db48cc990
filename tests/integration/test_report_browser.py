"""evidence.html of a small real run of every story in a browser: every claim and plot, nothing fetched.

`starlab demo --scale 0.1` runs as a user runs it (the CLI, its own process)
on the stack the tests use, into a data and reports folder and Redis keys of its own, with
every story sized down through its settings: 2,000 events, a contracts
replay of two of the quarter's changes (`short_quarter`), rankings' comparison
at 200,000 events, and the feature cache's load phases of a few seconds. Such a run's
figures are too small to back a claim (a p99 of 200 requests), so what is
checked is what the report must get right at any size: the run ends with no
correctness problem, each claim the story code can make comes out of it
(measured, or saying it was not), each plot is drawn, and headless Chromium
(Debian's `chromium`, installed when missing) shows every claim and every
plot of the page with no request beyond the page's own file. The screenshot
is kept as `reports/artifacts/evidence-report.png`, an artifact of the run.

The network check is shown able to fail: the same browser, given a page with
one remote image, reports that request.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis

from contracts.replay.script import short_quarter
from contracts.settings import DEFAULT_SCRIPT
from starlab.evidence.browser import open_in_browser
from starlab.settings import ROOT, Settings
from starlab.stack import prereqs
from tests.support.claims import scan

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ARTIFACT = ROOT / "reports" / "artifacts" / "evidence-report.png"

STORIES = ("1-contracts", "2-rankings", "3-streaming", "4-feature-store")
"""The evidence ids `starlab demo` records (the fan-out story shares story 4's)."""

PLOTS = (
    "1-contracts-replay-breakages",
    "2-rankings-flip",
    "2-rankings-rollback",
    "3-streaming-drift",
    "3-streaming-fault-run-freshness",
    "3-streaming-fault-run-lag",
    "3-streaming-fault-run-output",
    "4-feature-store-latency-a-vs-b",
    "4-feature-store-regression",
    "4-feature-store-tco-curves",
    "4-feature-store-tco-tornado",
    "4-feature-store-timeline-a-vs-b",
)
"""Every plot `starlab demo` draws (issue 13's list: latency A vs B, freshness and lag with the
alert and the fault, the exactly-once fault run, drift before and after backfill, the
regression timeline, the TCO tornado, breakages with and without the gate; and the flip)."""

NOT_FROM_THE_DEMO = {"3-streaming-bench": "`starlab stream bench` records it (minutes of 2M events)"}
"""Evidence ids the story code records outside `starlab demo`, with the command that does."""

QUARTER = {"C01": (2, 1), "B1": (4, 1)}
"""The small run's quarter: the real script's first safe change and its first breaking one."""

SMALL_RUN = {
    "STARLAB_CONTRACTS_REPLAY_EVENTS_PER_DAY": "60",
    "STARLAB_RANKINGS_PERF_EVENTS": "200000",
    "STARLAB_FEATURES_DEMO_PRECOMPUTE_S": "10",
    "STARLAB_FEATURES_DEMO_LOAD_S": "3",
    "STARLAB_FEATURES_DEMO_REGRESSION_PHASE_S": "2",
    "STARLAB_FEATURES_DEMO_SPIKE_LAG_S": "3",
}
"""The stories' own settings, sized for a run of minutes (`--scale 0.1` sizes the events)."""


@dataclass(frozen=True)
class SmallRun:
    report: Path
    output: str
    seconds: float


@pytest.fixture(scope="module")
def chromium() -> str:
    """Debian's Chromium, installed by the test's set-up when missing (as root, like the stack's servers)."""
    return prereqs.debian_binary("chromium", "chromium")


@pytest.fixture(scope="module")
def small_run(stack: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SmallRun]:
    root = tmp_path_factory.mktemp("demo")
    # Its own data dir, reports dir and Redis keys: the shared stack's other users never see them.
    tag = f"t{uuid.uuid4().hex[:8]}"
    env = {k: v for k, v in os.environ.items() if k != "STARLAB_DUCKDB_PATH"}  # follow the data dir
    env |= SMALL_RUN | {
        "STARLAB_DATA_DIR": str(root / "data"),
        "STARLAB_REPORTS_DIR": str(root / "reports"),
        "STARLAB_CONTRACTS_REPLAY_SCRIPT": str(short_quarter(DEFAULT_SCRIPT, root / "short.yaml", QUARTER)),
        "STARLAB_RANKINGS_KEY_PREFIX": f"{tag}:rankings",
        "STARLAB_FEATURES_KEY_PREFIX": f"{tag}:fc",
        "STARLAB_FEATURES_PRECOMPUTE_KEY_PREFIX": f"{tag}:fc",
        "COLUMNS": "160",
    }
    log = root / "demo.log"
    t0 = time.monotonic()
    try:
        with log.open("w") as out:
            proc = subprocess.run(
                [str(Path(sys.executable).with_name("starlab")), "demo", "--scale", "0.1"],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=1_500,
            )
        seconds = time.monotonic() - t0
        output = log.read_text()
        assert proc.returncode == 0, output[-4000:]
        yield SmallRun(root / "reports" / "latest" / "evidence.html", output, seconds)
    finally:
        client = redis.Redis.from_url(stack.redis_url)
        keys = list(client.scan_iter(match=f"*{tag}*", count=1000))
        if keys:
            client.delete(*keys)
        client.close()


def test_every_claim_and_plot_of_a_small_run_renders_and_nothing_is_fetched(
    small_run: SmallRun, chromium: str
) -> None:
    print(f"\nsmall demo run: {small_run.seconds:.0f} s")
    evidence = json.loads((small_run.report.parent / "evidence.json").read_text())
    claims = evidence["claims"]
    # One section per story of the demo, each recorded by this run at its size.
    runs = {s["story"]: s["params"] for s in evidence["stories"]}
    assert runs == {s: {"events": 2_000, "seed": 7} for s in STORIES}, runs

    # Every claim the story code can make came out of the run, measured or saying it was not.
    made = {(c["story"], c["metric"]) for c in claims}
    emitted, _ = scan()
    expected = {(e.story, e.metric) for e in emitted if e.story not in NOT_FROM_THE_DEMO}
    assert expected - made == set(), small_run.output[-3000:]
    measured = [c for c in claims if c["status"] != "not measured"]
    assert {c["story"] for c in measured} == set(STORIES)

    view = open_in_browser(small_run.report, screenshot=ARTIFACT, chromium=chromium)
    assert len(view.rows) == len(claims)
    for c, row in zip(claims, view.rows, strict=True):
        assert c["claim"] in row
        assert ("NOT MEASURED" in row) == (c["status"] == "not measured")

    drawn = sorted(p.stem for p in (small_run.report.parent / "plots").glob("*.png"))
    assert drawn == sorted(PLOTS)
    assert sorted(alt for alt, _ in view.images) == sorted(PLOTS)
    assert all(width > 100 for _, width in view.images), view.images  # decoded, not a broken image

    assert small_run.report.as_uri() in view.requests  # the listener saw the page itself
    assert view.remote_requests == []
    assert ARTIFACT.stat().st_size > 10_000


def test_the_network_check_sees_a_remote_fetch(tmp_path: Path, chromium: str) -> None:
    page = tmp_path / "remote.html"
    page.write_text('<!doctype html><img src="http://127.0.0.1:9/x.png">')
    assert open_in_browser(page, chromium=chromium).remote_requests == ["http://127.0.0.1:9/x.png"]
