"""`starlab demo stream`: story 3 end to end, returning its claims.

A clean live run (e2e latency, freshness), measured for the RFC (CPU and
memory of Flink and Kafka, then the nightly batch over the same day); a run
with the job SIGKILLed mid-stream (exactly-once into Kafka and the Iceberg
table: 0 lost, 0 duplicated, every late event captured); reconcile the
stream against dbt's batch recomputation from a pinned lake snapshot and
backfill the drifting windows; compact the table's small files and expire
old snapshots; cost the three options of the RFC from the measurements.
"""

from __future__ import annotations

import time

from starlab.evidence import Claim
from starlab.lake.maintenance import MaintenanceOptions, maintain
from starlab.observability.dashboard import render_run
from starlab.story import DemoContext, DemoOutcome
from streaming.alerts import run_rules
from streaming.dashboard import for_run
from streaming.evidence import (
    STORY,
    claim_from_alerts,
    claims_from_lake,
    claims_from_rfc,
    claims_from_run,
    outcome_claims,
)
from streaming.plots import save_drift_plot, save_fault_run_plots
from streaming.reconcile import backfill, reconcile
from streaming.rfc.document import build_rfc, claims_lines
from streaming.rfc.prices import load_prices
from streaming.rfc.run import default_measurements_path, measure
from streaming.scenario import Fault, RunOptions, RunResult, run_stream
from streaming.settings import get_stream_settings

TIMING = ("e2e_latency_p95", "freshness_p95")
"""Claims taken from the clean run; correctness claims come from the run with the fault."""


def run_demo(ctx: DemoContext) -> DemoOutcome:
    settings, progress, cfg = ctx.settings, ctx.progress, get_stream_settings()

    def show(label: str, r: RunResult) -> None:
        rep, lat = r.report, r.latency_ms
        progress(
            f"{label}: lost {rep.lost}, duplicated {rep.duplicated}, "
            f"late {rep.late_captured}/{rep.expected_late}, metric mismatches {rep.metric_mismatches}; "
            f"e2e p95 {(lat.p95 / 1000 if lat else float('nan')):.1f}s, "
            f"freshness p95 {r.freshness_p95_s or float('nan'):.1f}s"
        )

    measured = measure(
        settings,
        events=ctx.events,
        rate=cfg.demo_rate_per_s,
        progress=progress,
        checkpoint_interval_ms=cfg.checkpoint_interval_ms,
    )
    clean = measured.run
    show("clean run", clean)
    measurements_path = default_measurements_path(settings)
    measured.measurements.write(measurements_path)
    fault = Fault.parse(cfg.demo_fault)
    fault_rate = cfg.demo_fault_rate_per_s_cluster if settings.clustered else cfg.demo_fault_rate_per_s
    faulty = run_stream(
        settings,
        RunOptions(
            events=ctx.events,
            rate=fault_rate,
            checkpoint_interval_ms=cfg.checkpoint_interval_ms,
            faults=[fault],
            # the shipped freshness alert, scoped to this run, with a demo's margins
            alert_rules=run_rules(
                {
                    "FreshnessSLOBreach": {
                        "threshold": cfg.demo_alert_freshness_s,
                        "for_s": 2,
                        "keep_firing_for_s": 5,
                    }
                },
                warmup_s=15,
            ),
        ),
        progress=progress,
    )
    for a in faulty.alerts:
        progress(f"alert {a.status}: {a.alertname} (runbook {a.annotations.get('runbook_url')})")
    show(f"run with {cfg.demo_fault}", faulty)
    # The dashboard a candidate opens: the faulty run as Prometheus saw it, the fault marked.
    markers = [
        m for w in faulty.fault_windows for m in ((w.started_at, w.kind), (w.ended_at, f"{w.kind} done"))
    ]
    markers.append((faulty.input_ended_at, "input ended"))
    # the run's alert fired on its own threshold, not the shipped 300 s: both lines are drawn
    dashboard = for_run(faulty.run_id, faulty.group, cfg.demo_alert_freshness_s)
    page = render_run(settings, dashboard, faulty.started_at, time.time(), markers)
    progress(f"dashboard: {page}" if page else "dashboard: Prometheus not running, none drawn")
    if page:  # the same panels, titled, in the evidence report
        save_fault_run_plots(page.with_suffix(".json"), cfg.demo_fault, faulty.report, settings.reports_dir)

    before = reconcile(settings)
    span = before.drift_span()
    repaired = backfill(settings, *span, run_dbt=False) if span else None
    after = reconcile(settings, run_dbt=False)
    save_drift_plot(before, after, settings.reports_dir)
    lake = faulty.report
    progress(
        f"lake: Iceberg table at snapshot {lake.lake_snapshot_id}, {lake.lake_snapshots} snapshots "
        f"(one per checkpoint with data), {lake.lake_files} data files"
    )
    # Maintenance keeps a day of snapshots (time travel) and compacts what the stream wrote.
    maintained = maintain(settings, MaintenanceOptions())
    for line in maintained.lines():
        progress(f"maintenance: {line}")
    rfc_out = measurements_path.with_name("rfc-0001-batch-to-streaming.md")
    comparison = build_rfc(
        measured.measurements,
        load_prices(),
        rfc_out,
        prices_file="streaming/rfc/prices.yaml",
        measurements_file=str(measurements_path),
        command="starlab demo stream",
    )
    for line in claims_lines(comparison):
        progress(f"RFC: {line}")
    progress(f"RFC written to {rfc_out}")
    progress(
        f"reconcile (lake snapshot {before.lake_snapshot_id}): {before.drift_windows} of "
        f"{before.windows_compared} windows drift "
        f"({before.drift_events} events; {before.batch_late_events} late events in the batch); "
        f"backfill replayed {repaired.windows if repaired else 0} windows "
        f"in {repaired.seconds if repaired else 0:.1f}s; drift after: {after.drift_windows}"
    )

    # A claim's command reproduces it on the topology it was measured on.
    on = "STARLAB_TOPOLOGY=cluster " if settings.clustered else ""
    base = f"{on}starlab stream run --events {ctx.events} --rate {cfg.demo_rate_per_s:g}"
    timing = [c for c in claims_from_run(clean, base) if c.metric in TIMING]
    fault_cmd = f"{on}starlab stream run --events {ctx.events} --rate {fault_rate:g} --fault {cfg.demo_fault}"
    correctness = [c for c in claims_from_run(faulty, fault_cmd) if c.metric not in TIMING]
    correctness.append(
        claim_from_alerts(faulty, f"{fault_cmd} --freshness-alert-s {cfg.demo_alert_freshness_s:g}")
    )
    drift = Claim(
        story=STORY,
        claim="drift between batch and stream is detected and repaired (0 after backfill)",
        metric="drift_windows_after_backfill",
        unit="windows",
        claimed=0,
        comparator="==",
        measured=after.drift_windows,
        method=(
            f"dbt marts.fct_item_metrics_1m over the lake vs the stream's latest value per window: "
            f"{before.drift_windows} windows drifted before, "
            f"{repaired.windows if repaired else 0} replayed in one transaction"
        ),
        command="starlab stream reconcile && starlab stream backfill",
        details={"before": before.summary(3)},
    )
    lake_claims = claims_from_lake(lake, maintained)
    cost_claims = claims_from_rfc(comparison, measured.measurements)
    problems = []
    if not clean.report.ok:
        problems.append("the clean run did not verify (lost, duplicated or mismatched output)")
    if not faulty.report.ok:
        problems.append(f"the run with {cfg.demo_fault} did not verify (exactly-once broken)")
    if after.drift_windows:
        problems.append(f"{after.drift_windows} windows still drift after the backfill")
    if not maintained.rows_unchanged:
        problems.append("compaction changed the table's row count")
    claims = [*timing, *correctness, drift, *lake_claims, *cost_claims, *outcome_claims()]
    return DemoOutcome(claims=claims, problems=problems)


__all__ = ["run_demo"]
