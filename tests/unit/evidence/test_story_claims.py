"""Every claim with a number in the story files has a `Claim` in its story's code (issue 13).

The story files: `stories/000_*.txt` (stories 1-4) and `stories/004_*.txt`
(the fan-out story, which lives in feature_cache beside story 4 and shares
its evidence id). `STORY_CLAIMS` lists, paragraph by paragraph (Situation,
Task, Action, Result, follow-ups), each figure a story claims, as
`(evidence id, metric, paraphrase with the figure)`; a claim stated twice (a
target, then its result) is listed twice against the same metric.
`NOT_CLAIMS` lists the figures left out, each with its reason: settings,
inputs, dates, plans, hypotheticals. `EXTRA_METRICS` lists the claims the
code makes beyond the stories' figures (correctness checks, issue targets).

The check is static, no process and no demo: every `Claim(...)` call in the
story packages is read with `ast` (tests/support/claims.py: `story=` resolved
through simple name bindings, `metric=` required to be a literal, so a metric
built at run time fails here instead of escaping the list). Then both
directions are checked:
each listed claim is produced by its story's code, and each metric the code
produces is listed or in `EXTRA_METRICS`.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pytest

from tests.support.claims import PACKAGES, Emitted, collect_claims, package_evidence_id, scan

# (evidence id, metric, paraphrase with the story's figure)
STORY_CLAIMS: tuple[tuple[str, str, str], ...] = (
    # --- story 1, handling team conflict (000) -------------------------------------------
    (
        "1-contracts",
        "breakages_per_quarter_with_gate",
        "schema breakages from 4 a quarter to none (2 quarters)",
    ),
    (
        "1-contracts",
        "dag_runtime_variance_p95_change",
        "DAG runtime variance at p95 35% lower, fewer retries",
    ),
    ("1-contracts", "pages_change", "60% fewer on-call pages"),
    ("1-contracts", "lead_time_mean_with_gate", "the app team's mean lead time held near 2 days"),
    ("1-contracts", "playbook_adopting_teams", "3 more data teams took up the playbook"),
    # --- story 2, tight deadline (000) ---------------------------------------------------
    ("2-rankings", "freshness_at_publish", "target: data fresher than 2 h"),
    ("2-rankings", "duplicate_rate", "target: duplicates under 0.5%"),
    ("2-rankings", "api_p95", "a warm cache keeps the API's p95 under 200 ms"),
    ("2-rankings", "freshness_at_publish", "at launch the data was 65-90 min old"),
    ("2-rankings", "duplicate_rate", "0.2% duplicates at launch"),
    ("2-rankings", "api_p95", "API p95 of 180 ms at launch"),
    ("2-rankings", "ctr_change", "CTR up 3.1% once the deferred features shipped"),
    ("2-rankings", "change_failure_rate", "blue/green kept the change failure rate at 0%"),
    # --- story 3, leading a project (000) ------------------------------------------------
    ("3-streaming", "freshness_p95", "target: freshness under 5 min"),
    ("3-streaming", "delivery_success", "target: 99.9% of events delivered"),
    ("3-streaming", "e2e_latency_p95", "SLA: end-to-end p95 below 3 min"),
    ("3-streaming", "event_loss_rate", "SLA: loss below 0.1% end to end"),
    ("3-streaming-bench", "backfill_7d_hours", "SLA: a 7-day window backfilled within 6 h"),
    ("3-streaming", "late_events_missing", "out-of-order events handled with 10 min of allowed lateness"),
    ("3-streaming", "freshness_p95", "p95 freshness down from a day to 2-4 min"),
    ("3-streaming", "event_loss_rate", "event loss down to 0.03%"),
    ("3-streaming", "rfc_batch_compute_change", "batch compute 40% lower"),
    ("3-streaming", "rfc_net_cost_change", "net cost 18% lower once Kafka is paid for"),
    ("3-streaming", "downstream_teams_migrated", "5 consumer teams moved over within 2 months"),
    ("3-streaming", "support_tickets_change", "support tickets halved (-50%)"),
    # --- story 4, build vs buy a feature store (000) -------------------------------------
    ("4-feature-store", "b_fetch_p95_ms", "POC target: online serving p95 under 50 ms"),
    ("4-feature-store", "offline_online_consistency_error", "POC target: offline/online mismatch below 0.5%"),
    ("4-feature-store", "pit_leakage_rate", "no leakage (0%) on 3 labelled datasets"),
    ("4-feature-store", "delivery_months_build", "building takes about 6 months"),
    ("4-feature-store", "delivery_weeks_buy", "buying delivers in 6 weeks"),
    ("4-feature-store", "tco_saving_pct_12m", "buy's 12-month TCO 22% below build's"),
    ("4-feature-store", "tco_breakeven_month", "build catches up only around month 18"),
    (
        "4-feature-store",
        "consistency_incidents_per_month",
        "consistency incidents from ~3 a month to 0 in the pilot",
    ),
    ("4-feature-store", "b_fetch_p95_ms", "serving p95 of 38 ms"),
    # --- the fan-out story, influencing without authority (004) --------------------------
    ("4-feature-store", "ctr_lift_pp", "stake: CTR up by +0.5 pp"),
    ("4-feature-store", "b_e2e_p95_ms", "SLA: end-to-end p95 at most 250 ms"),
    ("4-feature-store", "b_availability", "SLA: availability of 99.9% or better"),
    ("4-feature-store", "a_fetch_p95_ms", "parallel fan-out pays the worst tail (dependency p95 60-90 ms)"),
    ("4-feature-store", "a_availability_projected", "four 99.5% calls: 0.995^4 = 98.0%, ~2% failing"),
    ("4-feature-store", "a_e2e_p95_ms", "fan-out under load: p95 ~290 ms with retries, over 250 ms"),
    ("4-feature-store", "a_error_rate_under_spikes", "fan-out errors ~1.7% while dependency p95 spikes"),
    (
        "4-feature-store",
        "precompute_freshness_p95",
        "features precomputed by the stream into Redis, 5-minute TTL",
    ),
    ("4-feature-store", "hit_rate_steady", "~95% hits in shadow, so ~5% of requests make the on-demand call"),
    ("4-feature-store", "a_availability", "retries lift the fan-out above its 98% projection"),
    (
        "4-feature-store",
        "a_cost_month_usd",
        "fan-out: 8M req/day x 4 calls x $1e-5 = $320/day, ~$9.6k a month",
    ),
    ("4-feature-store", "b_cache_read_p50_ms", "one cache read takes ~3-5 ms"),
    ("4-feature-store", "b_e2e_p95_ms", "cache design's weighted p95 ~205 ms"),
    ("4-feature-store", "b_availability_projected", "Redis 99.99% plus a 99.5% call project ~99.94%"),
    ("4-feature-store", "offline_auc_delta_5min_staleness", "5 minutes of staleness cost ~0.10% offline AUC"),
    ("4-feature-store", "b_cost_month_usd", "cache design: ~$1.2k Redis + ~$16/day of calls, ~$1.7k a month"),
    ("4-feature-store", "cost_saving_month_usd", "~$7.9k a month cheaper than the fan-out"),
    ("4-feature-store", "hit_rate_prewarm_dynamic_ttl", "pre-warm and dynamic TTLs: hits from 95% to ~97%"),
    ("4-feature-store", "b_e2e_p95_ms", "after launch p95 205 ms against A's 290 ms"),
    ("4-feature-store", "b_availability", "99.95% available against 98% projected for the fan-out"),
    ("4-feature-store", "ctr_lift_pp", "+0.52 pp CTR against control"),
    ("4-feature-store", "cost_saving_month_usd", "~$7.9k a month of infra saved"),
    ("4-feature-store", "hit_rate_regressed", "under the seasonal spike hits fall from 97% to 85%"),
    ("4-feature-store", "hit_rate_restored", "the mitigations bring hits back above 95%"),
)

# (where, figure, why it is no claim starlab can back)
NOT_CLAIMS: tuple[tuple[str, str, str], ...] = (
    (
        "000 how-to",
        "1-2 lines, 1-2 trade-offs, 90-120 s, 3-5 min deep-dive",
        "advice on telling a story, no claim",
    ),
    (
        "1-contracts",
        "broke 2 times in a month",
        "the situation; the replay's arm without the gate is the baseline",
    ),
    (
        "1-contracts",
        "lineage of 8 critical tables",
        "the scope of the work (the contracted dbt models), no outcome",
    ),
    ("1-contracts", "2-week deprecation policy", "a rule the gate enforces (contracts/gate/deprecation.py)"),
    (
        "1-contracts",
        "weekly 15-min change review",
        "a meeting's cadence; `starlab contracts digest` is its agenda",
    ),
    ("2-rankings", "launch pulled in by 10 days", "the deadline: a date"),
    (
        "2-rankings",
        "3 features shipped, 5 deferred",
        "a scope decision in the code; bench/deferral.py has its effect",
    ),
    ("2-rankings", "14-day backfill window", "a setting (dbt var backfill_days)"),
    ("2-rankings", "rest of the features in 2 sprints", "a date on the team's calendar"),
    (
        "2-rankings",
        "0 incidents in the first week",
        "a window; change_failure_rate and the switch claims back it",
    ),
    ("3-streaming", "24h lag of the daily batch", "the baseline, a daily schedule"),
    ("4-feature-store", "weights 35/25/25/15%", "inputs agreed with stakeholders (tco/inputs.yaml)"),
    ("4-feature-store", "12-month TCO horizon", "the model's horizon, an input"),
    ("4-feature-store", "3-week POC of 2 managed options", "the evaluation's schedule and scope"),
    ("4-feature-store", "2 features shadowed for a week", "the shadow test's scope and window"),
    ("4-feature-store", "6-month exit strategy", "a plan's term"),
    ("4-feature-store", "99.9% uptime, <1% monthly error budget", "contract terms; an input (tco, slo.yaml)"),
    (
        "4-feature-store",
        "labor rate +-20%",
        "an example in a follow-up; `starlab features tco` has the sensitivity",
    ),
    ("4-feature-store", "fan-out to 4 services", "the design under review"),
    (
        "4-feature-store",
        "existing pipeline p95 ~120 ms",
        "the baseline, an input (the simulated scoring stage)",
    ),
    ("4-feature-store", "6 weeks to launch, shipped in week 6", "the timeline: dates"),
    ("4-feature-store", "1-2% of engaged sessions at risk", "a hypothetical risk"),
    ("4-feature-store", "dependency p95 60-90 ms", "an input of the simulated dependencies (deps/config.py)"),
    ("4-feature-store", "92% of features slower than 30 min, <8% fast", "an input of the simulated features"),
    ("4-feature-store", "load test at 2k QPS", "the load level, a setting (scaled to 2 cores)"),
    ("4-feature-store", "4-page options doc", "a document's length"),
    ("4-feature-store", "on-demand call adds ~65 ms", "the simulated embeddings service's latency, an input"),
    (
        "4-feature-store",
        "CTR within +-0.05 pp of target, projected",
        "a projection from the AUC delta; see ctr_lift_pp",
    ),
    (
        "4-feature-store",
        "A/B on 10%; rollback at p95 > 250 ms or > 0.5% failures",
        "the guardrails' settings",
    ),
    ("4-feature-store", "outcomes over the first 2 weeks", "the observation window"),
    (
        "4-feature-store",
        "0 error budget burned",
        "no figure of its own; b_availability vs the 99.9% SLO backs it",
    ),
    (
        "4-feature-store",
        "QPS x2 in the regression",
        "the scenario's premise, an input of the regression",
    ),
    ("4-feature-store", "CTR -0.3 pp in the regression", "a hypothetical's premise; a CTR needs real users"),
    ("4-feature-store", "load tests at 2-3x peak", "a plan"),
)

# (evidence id, metric, why starlab claims it beyond the stories' figures)
EXTRA_METRICS: tuple[tuple[str, str, str], ...] = (
    (
        "1-contracts",
        "incompatible_registration_refused",
        "the registry enforces a subject's mode (no figure)",
    ),
    (
        "1-contracts",
        "backfill_nulls_after",
        "the CDC backfill of deprecated fields is complete and idempotent",
    ),
    ("2-rankings", "bad_responses_during_switch", "blue/green correctness under load"),
    ("2-rankings", "rollback_switch_s", "the rollback is instant"),
    ("2-rankings", "incremental_cost_ratio", "the incremental dbt model is worth it"),
    ("2-rankings", "api_p99_vs_constant", "issue target: the route costs about one Redis round trip"),
    ("3-streaming", "duplicated_outputs", "exactly-once / dedup on event_id (no figure)"),
    ("3-streaming", "metric_mismatches", "per-minute metrics equal a batch recomputation"),
    ("3-streaming", "lake_compaction_row_change", "Iceberg compaction keeps every row"),
    ("3-streaming", "lake_files_per_partition", "no small files after maintenance"),
    ("3-streaming", "freshness_alert_fired_and_resolved", "SLO-based alerting with a runbook (no figure)"),
    ("3-streaming", "drift_windows_after_backfill", "batch/stream drift detected and repaired (follow-up)"),
    ("3-streaming-bench", "flink_events_per_s", "issue target"),
    ("3-streaming-bench", "flink_steady_events_per_s", "issue 12 target"),
    ("3-streaming-bench", "eo_p99_ms", "issue target"),
    ("4-feature-store", "fetch_p95_ratio_b_over_a", "B's fetch stage against A's, same run"),
    ("4-feature-store", "read_p95_vs_feast", "issue target"),
    ("4-feature-store", "features_p99_vs_constant_twin", "issue target"),
    ("4-feature-store", "offline_backfill_rows_per_s", "story 4 names backfill speed without a figure"),
    ("4-feature-store", "tco_decision", "the recommendation itself (no figure)"),
)


def missing(listed: Iterable[tuple[str, str, str]], emitted: Iterable[Emitted]) -> list[tuple[str, str, str]]:
    """Listed story claims no `Claim(...)` in the code produces."""
    produced = {(e.story, e.metric) for e in emitted}
    return [row for row in listed if (row[0], row[1]) not in produced]


def unlisted(
    emitted: Iterable[Emitted], listed: Iterable[tuple[str, str, str]], extra: Iterable[tuple[str, str, str]]
) -> list[Emitted]:
    """Claims the code produces that are neither a listed story claim nor an explicit extra."""
    known = {(s, m) for s, m, _ in listed} | {(s, m) for s, m, _ in extra}
    return [e for e in emitted if (e.story, e.metric) not in known]


@pytest.fixture(scope="module")
def emitted() -> list[Emitted]:
    found, unresolved = scan()
    assert not unresolved, "Claim(...) calls the check cannot read:\n" + "\n".join(
        f"  {u.where}: {u.why}" for u in unresolved
    )
    return found


# --- the checks ----------------------------------------------------------------------


def test_every_numbered_story_claim_is_produced_by_its_storys_code(emitted: list[Emitted]) -> None:
    gaps = missing(STORY_CLAIMS, emitted)
    assert not gaps, "story claims with no Claim(...) in the code:\n" + "\n".join(
        f"  {s} {m}: {p}" for s, m, p in gaps
    )


def test_every_metric_the_code_claims_is_listed_or_an_explicit_extra(emitted: list[Emitted]) -> None:
    strays = unlisted(emitted, STORY_CLAIMS, EXTRA_METRICS)
    assert not strays, "add these to STORY_CLAIMS or EXTRA_METRICS:\n" + "\n".join(
        f"  {e.story} {e.metric} ({e.where})" for e in strays
    )


def test_extras_are_claimed_by_the_code_and_are_not_story_claims(emitted: list[Emitted]) -> None:
    produced = {(e.story, e.metric) for e in emitted}
    extras = {(s, m) for s, m, _ in EXTRA_METRICS}
    assert not extras - produced, f"stale EXTRA_METRICS: {sorted(extras - produced)}"
    assert not extras & {(s, m) for s, m, _ in STORY_CLAIMS}, "a metric is both a story claim and an extra"
    assert len(extras) == len(EXTRA_METRICS), "EXTRA_METRICS lists a metric twice"


def test_each_claim_is_recorded_under_its_packages_evidence_id(emitted: list[Emitted]) -> None:
    ids = {p: package_evidence_id(p) for p in PACKAGES}
    assert ids == {
        "contracts": "1-contracts",
        "rankings": "2-rankings",
        "streaming": "3-streaming",
        "feature_cache": "4-feature-store",
    }
    for e in emitted:
        own = ids[e.where.split("/", 1)[0]]
        assert e.story == own or e.story.startswith(f"{own}-"), f"{e.where}: story {e.story!r} is not {own}"
    listed_ids = {s for s, _, _ in STORY_CLAIMS + EXTRA_METRICS}
    assert all(any(s == i or s.startswith(f"{i}-") for i in ids.values()) for s in listed_ids)


def test_the_lists_are_well_formed() -> None:
    assert len(set(STORY_CLAIMS)) == len(STORY_CLAIMS), "a story claim is listed twice"
    for story, metric, paraphrase in STORY_CLAIMS:
        assert story and metric and any(ch.isdigit() for ch in paraphrase), (story, metric, paraphrase)
    for where, figure, reason in NOT_CLAIMS:
        assert where and any(ch.isdigit() for ch in figure) and reason, (where, figure, reason)
    assert all(reason for _, _, reason in EXTRA_METRICS)


def test_per_story_counts_are_what_the_story_files_claim() -> None:
    per_story: dict[str, int] = {}
    for story, _, _ in STORY_CLAIMS:
        key = story.removesuffix("-bench")
        per_story[key] = per_story.get(key, 0) + 1
    # story 4 and the 004 fan-out story share 4-feature-store: 9 + 24
    assert per_story == {"1-contracts": 5, "2-rankings": 8, "3-streaming": 12, "4-feature-store": 33}


# --- the check checks ----------------------------------------------------------------


def test_a_made_up_metric_is_reported_missing(emitted: list[Emitted]) -> None:
    made_up = ("1-contracts", "made_up_metric", "42 of something")
    assert missing([*STORY_CLAIMS, made_up], emitted) == [made_up]
    # the right metric under another story's id is missing too
    wrong_story = ("2-rankings", "pages_change", "60% fewer pages")
    assert missing([wrong_story], emitted) == [wrong_story]


def test_an_unlisted_metric_in_the_code_is_reported() -> None:
    stray = Emitted("3-streaming", "new_metric", "streaming/x.py:1")
    assert unlisted([stray], STORY_CLAIMS, EXTRA_METRICS) == [stray]


def test_the_collector_resolves_names_and_refuses_dynamic_metrics(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "ids.py").write_text('STORY = "9-x"\n')
    source = """
from pkg.ids import STORY
BENCH = "9-x-bench"
def f(name):
    story = BENCH
    return [
        Claim(story=STORY, metric="a", claimed=1),
        ev.Claim(story=story, metric="b"),
        Claim(story="9-y", metric=f"{name}_p95"),
        Claim(story=name, metric="c"),
        Claim(**{"story": STORY, "metric": "d"}),
    ]
"""
    found, unresolved = collect_claims(source, "pkg/m.py", tmp_path)
    assert [(e.story, e.metric, e.where) for e in found] == [
        ("9-x", "a", "pkg/m.py:7"),
        ("9-x-bench", "b", "pkg/m.py:8"),
    ]
    assert [(u.where, u.why.split(" ")[0]) for u in unresolved] == [
        ("pkg/m.py:9", "metric="),
        ("pkg/m.py:10", "story="),
        ("pkg/m.py:11", "positional"),
    ]
