"""evidence.html in a real browser: every claim and every plot shows, and nothing comes from the network.

Headless Chromium (Debian's `chromium`, installed when missing) opens the
page from disk under Playwright (starlab/evidence/browser.py), which records
every request the page makes. The report is built by the real
`build_report` from claims of every status, a plot drawn by story 3's own
plotting code, and a real run of what needs no stack: story 4's TCO model
(its claims and both plots) and its outcome claims. The screenshot is kept
as `reports/artifacts/evidence-report.png`, an artifact of the test run.

The network check is shown able to fail: the same browser, given a page
with one remote image, reports that request.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from starlab.evidence import Claim, build_report, record, save_plot
from starlab.evidence.browser import open_in_browser
from starlab.settings import ROOT
from starlab.stack import prereqs

pytestmark = pytest.mark.integration

ARTIFACT = ROOT / "reports" / "artifacts" / "evidence-report.png"


@pytest.fixture(scope="module")
def chromium() -> str:
    """Debian's Chromium, installed by the test's set-up when missing (as root, like the stack's servers)."""
    return prereqs.debian_binary("chromium", "chromium")


def _claim(story: str, n: int, measured: float | None) -> Claim:
    c = Claim(
        story=story,
        claim=f"{story} figure {n} under 5 minutes (p95)",
        metric=f"figure_{n}",
        unit="min",
        claimed=5,
        comparator="<",
        method="a test's fixed value, to render",
        command=f"starlab demo {story.split('-', 1)[1]}",
    )
    return c if measured is None else c.with_measured(measured)


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from feature_cache.evidence import outcome_claims
    from feature_cache.tco.evidence import claims as tco_claims
    from feature_cache.tco.inputs import DEFAULT_INPUTS_PATH, load_inputs
    from feature_cache.tco.model import run_model
    from feature_cache.tco.plot import CURVES_PNG, TORNADO_PNG, cost_curves_figure, tornado_figure
    from feature_cache.tco.sensitivity import run_sensitivity
    from streaming.plots import drift_figure
    from streaming.reconcile import Reconciliation, WindowDrift

    reports = tmp_path_factory.mktemp("reports")
    for story in ("1-contracts", "3-streaming"):
        # a pass, a fail and a claim this run did not measure, per story
        record([_claim(story, 1, 2.0), _claim(story, 2, 9.0), _claim(story, 3, None)], story, reports)
    minute, start = 60_000, 1_700_000_000_000
    drifting = [WindowDrift("item-1", start + minute * i, {"events": 3}, {"events": 4}) for i in range(5)]
    save_plot(drift_figure(Reconciliation(40, drifting), Reconciliation(40)), "3-streaming-drift", reports)
    # A real run of the part of a story that needs no stack: story 4's TCO model gives its
    # claims and both of its plots through the story's own code, beside the story's outcome
    # claims that no local run measures.
    inputs = load_inputs(DEFAULT_INPUTS_PATH)
    tco = run_model(inputs)
    save_plot(tornado_figure(run_sensitivity(inputs)), TORNADO_PNG, reports)
    save_plot(cost_curves_figure(tco), CURVES_PNG, reports)
    record([*tco_claims(tco), *outcome_claims()], "4-feature-store", reports)
    return build_report(reports).html_path


def test_every_claim_and_plot_renders_and_nothing_is_fetched(report: Path, chromium: str) -> None:
    view = open_in_browser(report, screenshot=ARTIFACT, chromium=chromium)

    claims = json.loads((report.parent / "evidence.json").read_text())["claims"]
    tco = [c for c in claims if c["story"] == "4-feature-store"]
    assert len(tco) >= 5 and {c["status"] for c in tco} >= {"pass", "not measured"}  # the real run's
    assert len(view.rows) == len(claims)
    for c, row in zip(claims, view.rows, strict=True):
        assert c["claim"] in row
        assert ("NOT MEASURED" in row) == (c["status"] == "not measured")

    plots = sorted(p.stem for p in (report.parent / "plots").glob("*.png"))
    assert plots == ["3-streaming-drift", "4-feature-store-tco-curves", "4-feature-store-tco-tornado"]
    assert sorted(alt for alt, _ in view.images) == plots
    assert all(width > 100 for _, width in view.images), view.images  # decoded, not a broken image

    assert report.as_uri() in view.requests  # the listener saw the page itself
    assert view.remote_requests == []
    assert ARTIFACT.stat().st_size > 10_000


def test_the_network_check_sees_a_remote_fetch(tmp_path: Path, chromium: str) -> None:
    page = tmp_path / "remote.html"
    page.write_text('<!doctype html><img src="http://127.0.0.1:9/x.png">')
    assert open_in_browser(page, chromium=chromium).remote_requests == ["http://127.0.0.1:9/x.png"]
