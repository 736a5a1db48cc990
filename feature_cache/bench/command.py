"""`starlab features loadtest | regression | bench`: the feature-cache benches as Typer command functions.

Backs the "command that reproduces it" of the 004 story's serving claims
(A vs B latency, availability, calls, hit rate and cost; the regression and
its mitigations) and of issue 9's performance ratios. `register(app)` adds
the three commands to the `features` group; this module creates no Typer
app of its own. Each command prints a table (or `--format json`), writes
its typed result as JSON next to the evidence report
(`<reports>/latest/4-feature-store-<command>.json`) and saves its plots
there; claims are built from these results by `feature_cache.evidence`.
Bad input exits 2 with one line naming the option.
"""

from __future__ import annotations

import dataclasses
import json
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

from feature_cache.errors import FeatureCacheConfigError

if TYPE_CHECKING:
    from feature_cache.settings import FeatureCacheSettings

__all__ = [
    "BENCH_EPILOG",
    "LOADTEST_EPILOG",
    "REGRESSION_EPILOG",
    "bench",
    "loadtest",
    "memory",
    "register",
    "regression",
]

EXIT_BAD_INPUT = 2


class DesignChoice(StrEnum):
    """`settings.Design`'s values, as a CLI choice: importing the settings here would load
    pydantic-settings for every `starlab --help`."""

    A = "A"
    B = "B"


LOADTEST_EPILOG = (
    "Examples:\n\n"
    "  starlab features loadtest                  # A then B, 50 req/s x 60 s each, story's faults\n\n"
    "  starlab features loadtest --qps 60 --duration-s 20 --no-faults\n\n"
    "  starlab features loadtest --design B --prewarm --dynamic-ttl\n\n"
    "  starlab features loadtest --format json | jq '.designs[] | {design, availability}'"
)
REGRESSION_EPILOG = (
    "Examples:\n\n"
    "  starlab features regression                       # 9 phases, ~2.5 minutes, private Redis\n\n"
    "  starlab features regression --phase-s 10 --qps 50\n\n"
    "  starlab features regression --format json | jq '.phases[] | {label, hit_rate}'"
)
BENCH_EPILOG = (
    "Examples:\n\n"
    "  starlab features bench                            # (a)-(d), ~4 minutes, Feast in its own venv\n\n"
    "  starlab features bench --no-feast --load-s 20     # skip Feast (ratio (a) not measured)\n\n"
    "  starlab features bench --format json | jq .checks"
)


class OutputFormat(StrEnum):
    table = "table"
    json = "json"


def _settings(**overrides: object) -> FeatureCacheSettings:
    from feature_cache.settings import FeatureCacheSettings  # pydantic-settings: load on use

    try:
        return FeatureCacheSettings(**{k: v for k, v in overrides.items() if v is not None})  # type: ignore[arg-type]
    except ValueError as exc:
        raise FeatureCacheConfigError(str(exc).splitlines()[0]) from None


def _redis_url(cfg: FeatureCacheSettings) -> str:
    from starlab.settings import get_settings

    return cfg.redis_url or get_settings().redis_url


def _write(name: str, doc: object, out_dir: Path | None) -> Path:
    from starlab.atomic import write_json_atomic
    from starlab.evidence import jsonable, latest_dir

    folder = out_dir or latest_dir()
    path = folder / f"4-feature-store-{name}.json"
    write_json_atomic(path, jsonable(doc, name))
    return path


def _fail(exc: Exception) -> typer.Exit:
    typer.echo(f"error: {exc}", err=True)
    return typer.Exit(EXIT_BAD_INPUT)


def _ms(x: float | None) -> str:
    return "—" if x is None else f"{x:.1f}"


def _pct(x: float | None, digits: int = 2) -> str:
    return "—" if x is None else f"{x:.{digits}%}"


# --- loadtest ---------------------------------------------------------------------------------


def loadtest(
    qps: float | None = typer.Option(
        None, "--qps", help="Open-loop requests per second (default 50, sized for 2 shared cores)."
    ),
    duration_s: float | None = typer.Option(
        None, "--duration-s", help="Seconds of load per design (default 60)."
    ),
    design: list[DesignChoice] = typer.Option(
        list(DesignChoice), "--design", help="Designs to run, in order (repeat the option)."
    ),
    faults: bool = typer.Option(
        True, "--faults/--no-faults", help="Inject the spike and the outage (0.5% failures stay)."
    ),
    prewarm: bool = typer.Option(False, "--prewarm", help="Pre-warm the top-N hot users before B's run."),
    dynamic_ttl: bool = typer.Option(False, "--dynamic-ttl", help="B reads the stream's dynamic TTLs."),
    users: int | None = typer.Option(
        None, "--users", min=10, help="Users in the Zipf key space (default 5000)."
    ),
    out_dir: Path | None = typer.Option(
        None, "--out-dir", file_okay=False, help="Where the JSON goes (plots: the evidence report's plots/)."
    ),
    format: OutputFormat = typer.Option(OutputFormat.table, "--format", help="table or json on stdout."),
) -> None:
    """Design A vs design B under the same open-loop traffic and faults, measured beside the formulas."""
    from feature_cache.bench.loadtest import DEFAULT_FAULTS, run_loadtest
    from feature_cache.settings import Design

    try:
        cfg = _settings(qps=qps, duration_s=duration_s, users=users)
    except FeatureCacheConfigError as exc:
        raise _fail(exc) from None
    console = Console(stderr=format is OutputFormat.json)
    result = run_loadtest(
        cfg,
        _redis_url(cfg),
        designs=[Design(d) for d in design],
        faults=DEFAULT_FAULTS if faults else (),
        prewarm=prewarm,
        dynamic_ttl=dynamic_ttl,
        progress=lambda m: console.print(f"[dim]{m}[/dim]"),
    )
    doc = dataclasses.replace(result, runs=())
    path = _write("loadtest", doc, out_dir)
    if format is OutputFormat.json:
        from starlab.evidence import jsonable

        typer.echo(json.dumps(jsonable(doc), indent=2))
        return
    render_loadtest(console, result)
    console.print(f"wrote {path}" + "".join(f", {p}" for p in result.plots))


def render_loadtest(console: Console, result: object) -> None:
    from feature_cache.bench.loadtest import STORY_CALLS_PER_REQUEST
    from feature_cache.bench.results import LoadtestResult

    assert isinstance(result, LoadtestResult)
    t = Table(
        title=(
            f"A vs B: {result.qps:g} req/s x {result.duration_s:g} s, {result.users} users "
            f"(Zipf s={result.zipf_s}), "
            f"cold share {result.cold_share:.1%}, dependency failures {result.failure_rate:.1%}, "
            f"Redis {result.redis_policy}"
        )
    )
    t.add_column("metric")
    for d in result.designs:
        t.add_column(f"{d.design.value} measured", justify="right")
        t.add_column(f"{d.design.value} formula", justify="right", style="cyan")
    rows: list[tuple[str, list[str]]] = [
        (
            "e2e p50 / p95 / p99 ms",
            [f"{d.e2e.p50:.0f} / {d.e2e.p95:.0f} / {d.e2e.p99:.0f}" for d in result.designs],
        ),
        (
            "fetch p50 / p95 / p99 ms",
            [f"{d.fetch.p50:.1f} / {d.fetch.p95:.1f} / {d.fetch.p99:.1f}" for d in result.designs],
        ),
        ("availability", [_pct(d.availability, 3) for d in result.designs]),
        ("calls / request", [f"{d.calls_per_request:.3f}" for d in result.designs]),
        ("hit rate (hits / lookups)", [_pct(d.hit_rate) for d in result.designs]),
        ("cost / month (USD)", [f"{d.cost_month_usd:,.0f}" for d in result.designs]),
        ("shed (429) / errors", [f"{d.shed} / {d.errors}" for d in result.designs]),
        (
            "guardrail trips / kill switch",
            [f"{d.guardrail_trips} / {d.killswitch_trips}" for d in result.designs],
        ),
        ("app CPU ms / request", [f"{d.app_cpu_ms_per_request:.2f}" for d in result.designs]),
    ]
    formulas: list[list[str]] = [
        ["" for _ in result.designs],
        [f"p95 ~{d.formula_fetch_p95_ms:.1f}" for d in result.designs],
        [
            f"{d.formula_availability:.3%} (retried {d.formula_availability_retried:.3%})"
            for d in result.designs
        ],
        [f"story: {STORY_CALLS_PER_REQUEST[d.design]:g}" for d in result.designs],
        ["" for _ in result.designs],
        [f"story {d.story_cost_month_usd:,.0f}" for d in result.designs],
        ["" for _ in result.designs],
        ["" for _ in result.designs],
        [f"load {d.load_avg_1m[0]:.1f}->{d.load_avg_1m[1]:.1f}" for d in result.designs],
    ]
    for (name, measured), formula in zip(rows, formulas, strict=True):
        cells: list[str] = []
        for m, f in zip(measured, formula, strict=True):
            cells += [m, f]
        t.add_row(name, *cells)
    console.print(t)
    for d in result.designs:
        rates = ", ".join(f"{k} {v:.2%}" for k, v in d.failure_rates.items())
        console.print(f"{d.design.value}: measured dependency failure rates (their /stats): {rates}")


# --- regression ---------------------------------------------------------------------------------


def regression(
    qps: float | None = typer.Option(None, "--qps", help="Steady req/s; the spike doubles it (default 50)."),
    phase_s: float = typer.Option(15.0, "--phase-s", min=3, max=600, help="Seconds per phase (9 phases)."),
    out_dir: Path | None = typer.Option(
        None, "--out-dir", file_okay=False, help="Where the JSON goes (plot: the evidence report's plots/)."
    ),
    format: OutputFormat = typer.Option(OutputFormat.table, "--format", help="table or json on stdout."),
) -> None:
    """Design B under a seasonal spike (QPS x2, stream lag, cache thrash), then each mitigation in turn."""
    from feature_cache.bench.regression import RegressionConfig, run_regression

    try:
        cfg = _settings(qps=qps)
    except FeatureCacheConfigError as exc:
        raise _fail(exc) from None
    console = Console(stderr=format is OutputFormat.json)
    result = run_regression(
        cfg,
        RegressionConfig(phase_s=phase_s),
        progress=lambda m: console.print(f"[dim]{m}[/dim]"),
    )
    doc = dataclasses.replace(result, polls=())
    path = _write("regression", doc, out_dir)
    if format is OutputFormat.json:
        from starlab.evidence import jsonable

        typer.echo(json.dumps(jsonable(doc), indent=2))
        return
    t = Table(
        title=(
            f"Regression: {result.base_users} -> {result.spike_users} users, "
            f"maxmemory {result.maxmemory_bytes / 1e6:.1f} MB"
        )
    )
    for col in (
        "phase",
        "req/s",
        "p95 ms",
        "hit",
        "calls",
        "stale",
        "degr",
        "shed",
        "evicted",
        "lag s",
        "guards",
    ):
        t.add_column(col, no_wrap=True)
    for p in result.phases:
        guards = ("KS " if p.killswitch_on else "") + f"br:{p.breaker_state}"
        t.add_row(
            p.label, f"{p.qps:g}", f"{p.e2e.p95:.0f}", _pct(p.hit_rate, 1), _pct(p.ondemand_per_request, 1),
            _pct(p.stale_served_rate, 1), _pct(p.degraded_rate, 1), str(p.shed), str(p.evicted_keys),
            f"{p.stream_lag_s:.0f}", guards,
        )  # fmt: skip
    console.print(t)
    for p in result.phases:
        if p.note:
            console.print(f"{p.label}: {p.note}")
    console.print(f"wrote {path}" + (f", {result.plot}" if result.plot else ""))


# --- bench -----------------------------------------------------------------------------------------


def bench(
    load_s: float = typer.Option(
        30.0, "--load-s", min=5, max=600, help="Seconds of load per design run in (c), (d)."
    ),
    feast: bool = typer.Option(
        True, "--feast/--no-feast", help="Run Feast 0.67 in its own venv for ratio (a)."
    ),
    qps: float | None = typer.Option(None, "--qps", help="Open-loop req/s for (c), (d) (default 50)."),
    out_dir: Path | None = typer.Option(None, "--out-dir", file_okay=False, help="Where the JSON goes."),
    format: OutputFormat = typer.Option(OutputFormat.table, "--format", help="table or json on stdout."),
) -> None:
    """Issue 9's serving ratios in one run: read vs Feast, /features vs its twin, B vs A, hit rates."""
    from feature_cache.bench.bench import run_bench
    from starlab.settings import get_settings

    try:
        cfg = _settings(qps=qps)
    except FeatureCacheConfigError as exc:
        raise _fail(exc) from None
    console = Console(stderr=format is OutputFormat.json)
    result = run_bench(
        cfg,
        _redis_url(cfg),
        get_settings().home,
        load_s=load_s,
        feast=feast,
        progress=lambda m: console.print(f"[dim]{m}[/dim]"),
    )
    doc = {"result": result, "checks": [{**dataclasses.asdict(c), "passed": c.passed} for c in result.checks]}
    path = _write("bench", doc, out_dir)
    if format is OutputFormat.json:
        from starlab.evidence import jsonable

        typer.echo(json.dumps(jsonable(doc), indent=2))
        return
    r = result.read
    console.print(
        f"(a) 1 user x {r.features} features: starlab p50/p95/p99 {r.starlab_sync.p50_us:.0f}/"
        f"{r.starlab_sync.p95_us:.0f}/{r.starlab_sync.p99_us:.0f} us, "
        f"CPU {r.starlab_sync.cpu_us_per_call:.0f} us/read "
        f"(asyncio: p95 {r.starlab_async.p95_us:.0f} us, CPU {r.starlab_async.cpu_us_per_call:.0f} us); "
        + (
            f"Feast {r.feast_version} p50/p95/p99 {r.feast.p50_us:.0f}/{r.feast.p95_us:.0f}/"
            f"{r.feast.p99_us:.0f} us, "
            f"CPU {r.feast.cpu_us_per_call:.0f} us/read"
            if r.feast
            else f"Feast not measured ({r.feast_error or 'skipped'})"
        )
    )
    tw = result.twin
    console.print(
        f"(b) /features p99 {tw.features.p99:.2f} ms vs /const p99 {tw.const.p99:.2f} ms at concurrency "
        f"{tw.concurrency}, {tw.requests_each} requests each"
    )
    console.print(
        f"(c) fetch p95 A {result.a.fetch.p95:.1f} ms, B {result.b.fetch.p95:.2f} ms; availability A "
        f"{result.a.availability:.3%} (prod(1-f_i) {result.a.formula_availability:.2%}, "
        "story 0.995^4 = 98.0%), "
        f"B {result.b.availability:.3%}"
    )
    console.print(
        f"(d) hit rate steady {_pct(result.b.hit_rate)}, "
        f"pre-warm + dynamic TTLs {_pct(result.b_warm.hit_rate)}"
    )
    t = Table(title=f"starlab features bench ({result.seconds:.0f} s)")
    for col in ("check", "measured", "limit", "result"):
        t.add_column(col)
    for c in result.checks:
        status = "not measured" if c.passed is None else ("pass" if c.passed else "FAIL")
        t.add_row(
            c.name, "—" if c.measured is None else f"{c.measured:.4g}", f"{c.op.value} {c.limit:.4g}", status
        )
    console.print(t)
    console.print(f"wrote {path}")


MEMORY_EPILOG = (
    "Examples:\n\n"
    "  starlab features memory                 # 50,000 users on a private redis-server\n\n"
    "  starlab features memory --users 200000 --out /tmp/mem.json"
)


def memory(
    users: int = typer.Option(
        50_000, "--users", min=1_000, max=2_000_000, help="Users whose groups are written."
    ),
    out: Path | None = typer.Option(None, "--out", dir_okay=False, help="Where the JSON goes."),
) -> None:
    """Redis bytes per feature key, written by the precompute's own write path (capacity plan input)."""
    from feature_cache.bench.memory import measure_memory
    from starlab.evidence import latest_dir

    try:
        cfg = _settings()
    except FeatureCacheConfigError as exc:
        raise _fail(exc) from None
    console = Console()
    r = measure_memory(cfg, users, progress=lambda m: console.print(f"[dim]{m}[/dim]"))
    path = out or latest_dir() / MEMORY_FILE
    r.save(path)
    console.print(
        f"{r.keys:,} keys ({r.keys_per_user:.0f} per user) take {r.bytes / 1e6:.1f} MB in Redis "
        f"{r.redis_version}: {r.bytes_per_key:,.0f} bytes per key; wrote {path}"
    )


MEMORY_FILE = "4-feature-store-memory.json"


def register(app: typer.Typer) -> None:
    """Add `loadtest`, `regression`, `bench` and `memory` to a Typer group (the `features` group)."""
    app.command(name="loadtest", epilog=LOADTEST_EPILOG)(loadtest)
    app.command(name="regression", epilog=REGRESSION_EPILOG)(regression)
    app.command(name="bench", epilog=BENCH_EPILOG)(bench)
    app.command(name="memory", epilog=MEMORY_EPILOG)(memory)
