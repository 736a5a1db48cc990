"""The design review's options matrix, generated from one run's measurements (story 004).

Story 004's decision doc compared the two designs on freshness, p95, p99,
availability, cost and delivery risk, each beside the SLO. This module
builds that matrix from a `LoadtestResult` (latency under the injected
faults) and, when given, a `BenchResult` (availability and cost from the
clean runs), so the table a candidate shows is this run's, not a copy of the
story's. `starlab demo features` writes it to
`reports/latest/features/options-matrix.md`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from feature_cache.bench.bench import BenchResult
from feature_cache.bench.results import DesignResult, LoadtestResult
from feature_cache.errors import FeatureCacheError
from feature_cache.settings import Design
from starlab.atomic import write_text_atomic

__all__ = ["OptionRow", "options_matrix", "render_markdown", "write_matrix"]


@dataclass(frozen=True)
class OptionRow:
    criterion: str
    slo: str
    a: str
    b: str
    story_a: str
    story_b: str


def _pct(x: float) -> str:
    return f"{x * 100:.2f}%"


def options_matrix(loadtest: LoadtestResult, bench: BenchResult | None = None) -> list[OptionRow]:
    a, b = loadtest.of(Design.A), loadtest.of(Design.B)
    if a is None or b is None:
        raise FeatureCacheError("the options matrix needs a loadtest of both designs")
    clean_a: DesignResult = bench.a if bench else a
    clean_b: DesignResult = bench.b if bench else b
    return [
        OptionRow("end-to-end p95 (ms)", "<= 250", f"{a.e2e.p95:.0f}", f"{b.e2e.p95:.0f}", "~290", "~205"),
        OptionRow("end-to-end p99 (ms)", "-", f"{a.e2e.p99:.0f}", f"{b.e2e.p99:.0f}", "-", "-"),
        OptionRow(
            "fetch stage p95 (ms)", "< 50 (story 4)", f"{a.fetch.p95:.1f}", f"{b.fetch.p95:.1f}", "-", "3-5"
        ),
        OptionRow(
            "availability (clean run)",
            ">= 99.9%",
            _pct(clean_a.availability),
            _pct(clean_b.availability),
            "98.0% (0.995^4)",
            "99.94-99.95%",
        ),
        OptionRow(
            "availability by formula, measured inputs",
            ">= 99.9%",
            _pct(clean_a.formula_availability),
            _pct(clean_b.formula_availability),
            "98.0%",
            "99.94%",
        ),
        OptionRow(
            "calls per request",
            "-",
            f"{clean_a.calls_per_request:.3f}",
            f"{clean_b.calls_per_request:.3f}",
            "4",
            "~0.05-0.2",
        ),
        OptionRow(
            "cost per month (USD)",
            "-",
            f"{clean_a.cost_month_usd:,.0f}",
            f"{clean_b.cost_month_usd:,.0f}",
            "~9,600",
            "~1,700",
        ),
        OptionRow(
            "freshness",
            "fast features fresh",
            "live on every request",
            f"cache TTL; {_pct(b.stale_served_rate)} served stale, flagged",
            "live",
            "5-min TTL + on-demand",
        ),
        OptionRow(
            "delivery risk",
            "-",
            "4 teams' SLOs on the request path",
            "streaming job + Redis to operate",
            "-",
            "-",
        ),
    ]


def render_markdown(rows: list[OptionRow], loadtest: LoadtestResult) -> str:
    head = (
        f"Options matrix, measured: {loadtest.qps:g} req/s for {loadtest.duration_s:g} s per design, "
        f"Zipf {loadtest.zipf_s:g} over {loadtest.users:,} users, each dependency failing "
        f"{loadtest.failure_rate:.1%} of calls plus the loadtest's spike and outage (latency rows); "
        "availability, calls and cost from the bench's clean runs when given.\n\n"
        "| criterion | SLO | A: fan-out (measured) | B: cache (measured) | story A | story B |\n"
        "|---|---|---|---|---|---|\n"
    )
    return head + "".join(
        f"| {r.criterion} | {r.slo} | {r.a} | {r.b} | {r.story_a} | {r.story_b} |\n" for r in rows
    )


def write_matrix(rows: list[OptionRow], loadtest: LoadtestResult, reports_dir: Path) -> Path:
    path = reports_dir / "latest" / "features" / "options-matrix.md"
    write_text_atomic(path, render_markdown(rows, loadtest))
    return path
