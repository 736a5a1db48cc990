"""The 004 story's serving figures (and story 4's serving p95) as evidence claims, from measured results.

Backs every number the two stories claim for serving, each beside what a
run of `starlab features loadtest | bench | regression` measured:

- latency: design A's end-to-end p95 "~290 ms (violates 250 ms)", design
  B's "205 ms, within the 250 ms SLO", story 4's "online serving p95 < 50
  ms" (B's fetch stage), "tail latency behaves like the max of the calls"
  (A's fetch p95 at least the slowest dependency's p95), and B's fetch p95
  at most half of A's;
- the cache read "~3-5 ms" (B's Redis round trip, median);
- availability: A's projection "0.995^4 = 0.980" from the measured
  per-dependency failure rates, A's measured availability with retries
  ("availability improves"), A's "error rate ~1.7% under dependency p95
  spikes" (the load test's A), B's projection "~99.94%" on measured inputs,
  B's "99.95%" against the 99.9% SLO;
- hit rate: "~95%" steady, "~97%" with pre-warm and dynamic TTLs, the
  regression's "97% to 85%" and its restoration (">95%");
- cost: "~$9.6k/month" for A, "~$1.7k" for B, "~$7.9k saved", from the
  story's unit prices and the MEASURED calls per request;
- outcomes no local run can observe (CTR lift, offline AUC delta, story 4's
  consistency incidents in the pilot): `outcome_claims`, always not measured.

`measured` is always the run's value (None when that run was not given:
"not measured", never a pass); the story's figure is in `claimed` or in
`details["story_value"]`. Units: ms, fraction (0-1) for rates, USD/month.
"""

from __future__ import annotations

from feature_cache.bench.bench import BenchResult
from feature_cache.bench.regression import Mitigation, RegressionResult
from feature_cache.bench.results import DesignResult, LoadtestResult
from feature_cache.deps.config import DEFAULT_LATENCIES_MS
from feature_cache.settings import Design
from starlab.evidence import Claim

__all__ = [
    "LATENCY_METRICS",
    "STORY",
    "bench_claims",
    "bench_target_claims",
    "claims",
    "cost_claims",
    "design_claims",
    "outcome_claims",
    "regression_claims",
    "spike_claims",
]

STORY = "4-feature-store"
LOADTEST = "starlab features loadtest"
BENCH = "starlab features bench"
REGRESSION = "starlab features regression"

SLO_P95_MS = 250.0
SLO_AVAILABILITY = 0.999
SLOWEST_DEPENDENCY_P95_MS = max(p95 for _, p95 in DEFAULT_LATENCIES_MS.values())
"""90 ms (abuse): the story's "each had p95 ~60-90 ms"."""


def _run(d: DesignResult | None) -> dict[str, object]:
    if d is None:
        return {}
    return {
        "qps": d.qps,
        "duration_s": d.duration_s,
        "requests": d.requests,
        "faults": [f"{f.kind.value} {f.dependency.value} {f.duration_s:g}s@{f.at:.0%}" for f in d.faults],
        "load_avg_1m": list(d.load_avg_1m),
    }


def design_claims(a: DesignResult | None, b: DesignResult | None, command: str = LOADTEST) -> list[Claim]:
    """Latency, availability and cost of A and B from one comparison run (loadtest or bench)."""
    out = [
        Claim(
            story=STORY,
            claim="design A (fan-out) end-to-end p95 ~290 ms, above the 250 ms SLO",
            metric="a_e2e_p95_ms",
            unit="ms",
            claimed=SLO_P95_MS,
            comparator=">",
            measured=None if a is None else round(a.e2e.p95, 1),
            method=(
                "open-loop load from a separate process (latency from the scheduled send time, HDR "
                "histogram); fan-out to four simulated services with stamina retries, then the "
                "story's scoring stage (lognormal, p95 120 ms)"
            ),
            command=command,
            details={"story_value_ms": 290, **_run(a)},
        ),
        Claim(
            story=STORY,
            claim="design B (Redis first) end-to-end p95 ~205 ms, within the 250 ms SLO",
            metric="b_e2e_p95_ms",
            unit="ms",
            claimed=SLO_P95_MS,
            comparator="<=",
            measured=None if b is None else round(b.e2e.p95, 1),
            method="same traffic, faults and scoring stage as design A; one Redis round trip per request",
            command=command,
            details={"story_value_ms": 205, **_run(b)},
        ),
        Claim(
            story=STORY,
            claim="online serving p95 < 50 ms (story 4: 38 ms) - design B's fetch stage",
            metric="b_fetch_p95_ms",
            unit="ms",
            claimed=50.0,
            comparator="<",
            measured=None if b is None else round(b.fetch.p95, 2),
            method=(
                "server-side HDR histogram of the fetch stage (cache read + on-demand call when needed), "
                "from the app's /admin/state"
            ),
            command=command,
            details={
                "story_value_ms": 38,
                "redis_read_p50_ms": b.redis_read.p50 if b and b.redis_read else None,
            },
        ),
        Claim(
            story=STORY,
            claim="design B's cache fetch ~3-5 ms (one Redis round trip, median)",
            metric="b_cache_read_p50_ms",
            unit="ms",
            claimed=5.0,
            comparator="<=",
            measured=None if b is None or b.redis_read is None else round(b.redis_read.p50, 3),
            method=(
                "server-side HDR histogram of design B's Redis read (one script call per request), "
                "from the app's /admin/state; the median, the cache latency of the story's weighted formula"
            ),
            command=command,
            details={
                "story_range_ms": [3, 5],
                "redis_read_p95_ms": None if b is None or b.redis_read is None else b.redis_read.p95,
            },
        ),
        Claim(
            story=STORY,
            claim="fan-out tail is the max of the calls: A's fetch p95 >= the slowest service's p95 (90 ms)",
            metric="a_fetch_p95_ms",
            unit="ms",
            claimed=SLOWEST_DEPENDENCY_P95_MS,
            comparator=">=",
            measured=None if a is None else round(a.fetch.p95, 1),
            method="server-side HDR histogram of the fan-out; beside it the exact p95 of the max of 4 models",
            command=command,
            details={"formula_p95_of_max_ms": None if a is None else a.formula_fetch_p95_ms},
        ),
        Claim(
            story=STORY,
            claim="B's fetch stage p95 at most half of A's",
            metric="fetch_p95_ratio_b_over_a",
            unit="ratio",
            claimed=0.5,
            comparator="<=",
            measured=None if a is None or b is None else round(b.fetch.p95 / a.fetch.p95, 4),
            method="B fetch p95 / A fetch p95, same run, same traffic and dependency latencies",
            command=command,
        ),
        Claim(
            story=STORY,
            claim="fan-out availability projected at 0.995^4 = 98.0%",
            metric="a_availability_projected",
            unit="fraction",
            claimed=(0.975, 0.985),
            comparator="range",
            measured=None if a is None else round(a.formula_availability, 5),
            method=(
                "prod(1 - f_i) with each dependency's failure rate measured from its own /stats during "
                "the run (the story's formula on measured inputs); the band is 98.0% +- 0.5 points"
            ),
            command=command,
            details={"failure_rates": a.failure_rates if a else None, "story_value": 0.980},
        ),
        Claim(
            story=STORY,
            claim="with retries, the fan-out's availability rises above the 98% projection",
            metric="a_availability",
            unit="fraction",
            claimed=0.98,
            comparator=">",
            measured=None if a is None else round(a.availability, 5),
            method="200 answers / requests not shed, from the load process; 3 attempts per dependency",
            command=command,
            details={"formula_with_retries": None if a is None else round(a.formula_availability_retried, 6)},
        ),
        Claim(
            story=STORY,
            claim="design B projected at ~99.94% (Redis 99.99%, on-demand call 99.5%), above the 99.9% SLO",
            metric="b_availability_projected",
            unit="fraction",
            claimed=SLO_AVAILABILITY,
            comparator=">=",
            measured=None if b is None else round(b.formula_availability, 6),
            method=(
                "hit x a_cache + miss x a_cache x a_call (the story's formula) on this run's inputs: miss = "
                "on-demand calls / lookups and a_cache = 1 - (cache errors + timeouts) / lookups from the "
                "app's counters, a_call = 1 - the embeddings service's failure rate from its /stats"
            ),
            command=command,
            details={"story_value": 0.9994, "hit_rate": None if b is None else b.hit_rate},
        ),
        Claim(
            story=STORY,
            claim="design B availability 99.95%, SLO >= 99.9%",
            metric="b_availability",
            unit="fraction",
            claimed=SLO_AVAILABILITY,
            comparator=">=",
            measured=None if b is None else round(b.availability, 5),
            method=(
                "200 answers / requests not shed, from the load process; degraded answers count as "
                "available (flagged in the response), as the story's fallback intends"
            ),
            command=command,
            details={
                "story_value": 0.9995,
                "formula": None if b is None else round(b.formula_availability, 6),
                "degraded_rate": None if b is None else round(b.degraded_rate, 5),
            },
        ),
    ]
    out += cost_claims(a, b, command)
    return out


def cost_claims(a: DesignResult | None, b: DesignResult | None, command: str = LOADTEST) -> list[Claim]:
    method = (
        "8M requests/day x MEASURED calls per request (the dependencies' own /stats, retries "
        "included) x $1e-5 per call x 30 days, + $1.2k/month Redis for B"
    )
    saving = None if a is None or b is None else round(a.cost_month_usd - b.cost_month_usd, 2)
    return [
        Claim(
            story=STORY,
            claim="design A costs ~$9.6k/month (8M req/day x 4 calls x $1e-5)",
            metric="a_cost_month_usd",
            unit="USD/month",
            claimed=(8_640.0, 10_560.0),
            comparator="range",
            measured=None if a is None else a.cost_month_usd,
            method=method + "; band: the story's $9.6k +- 10%",
            command=command,
            details={"calls_per_request": None if a is None else a.calls_per_request, "story_value": 9_600},
        ),
        Claim(
            story=STORY,
            claim="design B costs ~$1.7k/month (Redis $1.2k + on-demand calls)",
            metric="b_cost_month_usd",
            unit="USD/month",
            claimed=1_700.0,
            comparator="<=",
            measured=None if b is None else b.cost_month_usd,
            method=method,
            command=command,
            details={
                "calls_per_request": None if b is None else b.calls_per_request,
                "story_calls_per_request": 0.2,
                "note": "the story's $16/day implies 0.2 calls/request; B here calls once per miss",
            },
        ),
        Claim(
            story=STORY,
            claim="B saves ~$7.9k/month against A",
            metric="cost_saving_month_usd",
            unit="USD/month",
            claimed=7_900.0,
            comparator=">=",
            measured=saving,
            method="A's measured monthly cost - B's, same run",
            command=command,
        ),
    ]


def spike_claims(a: DesignResult | None, command: str = LOADTEST) -> list[Claim]:
    """A's error rate under the load test's dependency spike and outage (pass the load test's A only)."""
    return [
        Claim(
            story=STORY,
            claim="design A's error rate ~1.7% under dependency p95 spikes, above the 0.1% the SLO allows",
            metric="a_error_rate_under_spikes",
            unit="fraction",
            claimed=round(1 - SLO_AVAILABILITY, 6),
            comparator=">",
            measured=None if a is None else round(1 - a.availability, 5),
            method=(
                "1 - 200 answers / requests not shed, from the load process, over the load test's run of "
                "design A: every dependency failing 0.5% of calls, the embeddings service spiking x3 and "
                "going down, 3 attempts per dependency"
            ),
            command=command,
            details={"story_value": 0.017, **_run(a)},
        ),
    ]


def outcome_claims(command: str = "starlab demo features") -> list[Claim]:
    """Figures no local run can observe (real users, a trained model, a production pilot): not measured.

    The 004 story's CTR lift and offline AUC delta, and story 4's consistency
    incidents in the pilot. Each keeps the story's figure so the report shows
    it unmeasured; `measured` stays None, never the story's number.
    """
    return [
        Claim(
            story=STORY,
            claim="CTR +0.52 pp vs control (target +0.50 pp)",
            metric="ctr_lift_pp",
            unit="pp",
            claimed=0.5,
            comparator=">=",
            measured=None,
            method="not measured: a CTR lift needs real users in an A/B test; starlab has no users",
            command=command,
            details={"story_value_pp": 0.52},
        ),
        Claim(
            story=STORY,
            claim="offline AUC delta with 5-minute staleness ~ -0.10%",
            metric="offline_auc_delta_5min_staleness",
            unit="%",
            claimed=-0.1,
            comparator=">=",
            measured=None,
            method="not measured: starlab serves features to no trained model, so there is no AUC to compare",
            command=command,
        ),
        Claim(
            story=STORY,
            claim="consistency incidents fell from ~3/month to 0 in the pilot (story 4)",
            metric="consistency_incidents_per_month",
            unit="incidents/month",
            claimed=0,
            comparator="==",
            measured=None,
            method=(
                "not measured: incidents are counted over months of a production pilot; one run measures "
                "the offline-online mismatch rate instead (offline_online_consistency_error)"
            ),
            command=command,
            details={"story_before_per_month": 3},
        ),
    ]


def bench_claims(result: BenchResult | None) -> list[Claim]:
    """Hit rates of the bench's clean runs (0.5% dependency failures, no spike or outage)."""
    b = result.b if result else None
    warm = result.b_warm if result else None
    return [
        Claim(
            story=STORY,
            claim="cache hit rate ~95% in steady state (shadow)",
            metric="hit_rate_steady",
            unit="fraction",
            claimed=0.95,
            comparator=">=",
            measured=None if b is None or b.hit_rate is None else round(b.hit_rate, 5),
            method=(
                "hits / lookups from the app's own counters (a hit: every group found in Redis within "
                "its TTL); Zipf traffic with ~4% of requests for users the stream has never seen "
                "(the ceiling of the hit rate)"
            ),
            command=BENCH,
            details={"story_value": 0.95, "requests": None if b is None else b.requests},
        ),
        Claim(
            story=STORY,
            claim="pre-warming hot keys and dynamic TTLs lift the hit rate to ~97%",
            metric="hit_rate_prewarm_dynamic_ttl",
            unit="fraction",
            claimed=0.97,
            comparator=">=",
            measured=None if warm is None or warm.hit_rate is None else round(warm.hit_rate, 5),
            method="as the steady run, after pre-warming the top 1,000 users, with the published TTLs read",
            command=BENCH,
            details={"story_value": 0.97},
        ),
    ]


def bench_target_claims(result: BenchResult | None) -> list[Claim]:
    """The issue's performance targets for `starlab features bench` (a)-(b), ratios from one run.

    (c) and (d) are the design and hit-rate claims above; these two compare
    starlab's read path with Feast's and with the server stack's floor.
    """
    read = None if result is None else result.read
    twin = None if result is None else result.twin
    return [
        Claim(
            story=STORY,
            claim="issue target: in-process feature read p95 at most 1/3 of Feast 0.67's on the same Redis",
            metric="read_p95_vs_feast",
            unit="ratio",
            claimed=round(1 / 3, 4),
            comparator="<=",
            measured=None if read is None or read.p95_ratio is None else round(read.p95_ratio, 4),
            method=(
                "one user x 10 features, alternating blocks of reads: starlab's redis-py read vs Feast's "
                "get_online_features (its own venv) on one private redis-server; client CPU per read in "
                "details"
            ),
            command=BENCH,
            details={"read": read},
        ),
        Claim(
            story=STORY,
            claim="issue target: /features p99 at concurrency 8 at most 2x its constant twin",
            metric="features_p99_vs_constant_twin",
            unit="x",
            claimed=2.0,
            comparator="<=",
            measured=None if twin is None else round(twin.p99_ratio, 3),
            method=(
                "the route and a constant twin with the same parameters and body size (mounted by the bench "
                "only), same server, alternating blocks at concurrency 8"
            ),
            command=BENCH,
            details={"twin": twin},
        ),
    ]


def regression_claims(result: RegressionResult | None) -> list[Claim]:
    """The regression's hit-rate drop under the spike and its restoration."""
    spike = None if result is None else result.phase(Mitigation.SPIKE)
    restored = None if result is None else result.restored_hit
    details: dict[str, object] = {}
    if result is not None:
        details = {
            "phases": {p.label: None if p.hit_rate is None else round(p.hit_rate, 4) for p in result.phases},
            "steady": result.baseline_hit,
            "load_avg_1m": list(result.load_avg_1m),
        }
    return [
        Claim(
            story=STORY,
            claim="under the seasonal spike the hit rate fell from 97% to ~85%",
            metric="hit_rate_regressed",
            unit="fraction",
            claimed=(0.80, 0.90),
            comparator="range",
            measured=None if spike is None or spike.hit_rate is None else round(spike.hit_rate, 4),
            method=(
                "hit rate (hits / lookups, app counters reset per phase) of the spike phase: QPS x2, key "
                "space +25%, stream 33 s behind, Redis memory capped at the steady set + 20% (LRU), "
                "embeddings overloaded; band: 85% +- 5 points. The phases that follow change latency "
                "guards only, and the thrash goes on: their hit rates are in details"
            ),
            command=REGRESSION,
            details=details,
        ),
        Claim(
            story=STORY,
            claim="pre-warm, LFU + admission and dynamic TTLs restore a hit rate above 95%",
            metric="hit_rate_restored",
            unit="fraction",
            claimed=0.95,
            comparator=">",
            measured=None if restored is None else round(restored, 4),
            method="hit rate of the last phase, every mitigation on, spike conditions unchanged",
            command=REGRESSION,
            details=details,
        ),
    ]


LATENCY_METRICS = frozenset(
    {
        "a_e2e_p95_ms",
        "b_e2e_p95_ms",
        "b_fetch_p95_ms",
        "b_cache_read_p50_ms",
        "a_fetch_p95_ms",
        "fetch_p95_ratio_b_over_a",
    }
)
"""Taken from the load test when there is one: the story's 290 ms was "with retries ... under
dependency p95 spikes", which the load test injects."""


def claims(
    loadtest: LoadtestResult | None = None,
    bench: BenchResult | None = None,
    regression: RegressionResult | None = None,
) -> list[Claim]:
    """Every serving claim.

    Latency from the load test (spike and outage injected, as the story's load test had);
    availability and cost from the bench's clean runs (each dependency failing 0.5% of
    calls, nothing else: the premise of 0.995^4 and of the monthly costs). With only one
    of the two, it backs every design claim. A's error rate under spikes comes from the
    load test only (the bench's clean runs have no spike).
    """
    lt = design_claims(loadtest.of(Design.A), loadtest.of(Design.B), LOADTEST) if loadtest else None
    bn = design_claims(bench.a, bench.b, BENCH) if bench else None
    if lt is not None and bn is not None:
        design = [c for c in lt if c.metric in LATENCY_METRICS] + [
            c for c in bn if c.metric not in LATENCY_METRICS
        ]
    else:
        design = lt or bn or design_claims(None, None)
    spikes = spike_claims(loadtest.of(Design.A) if loadtest else None)
    return design + spikes + bench_claims(bench) + bench_target_claims(bench) + regression_claims(regression)
