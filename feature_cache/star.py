"""Story 4 and the 004 fan-out story told aloud: two STAR scripts and their deep-dive outlines.

Both read the claims of evidence id `4-feature-store` (feature_cache/evidence.py,
offline/evidence.py, tco/evidence.py, demo.py): the package records one file
for both stories. The fan-out script is written as `004-fan-out.md`, the name
the repository gives that story, so it does not read as part of story 4.
"""

from __future__ import annotations

from starlab.evidence.star import DiveStep, ResultLine, StarScript

EVIDENCE_ID = "4-feature-store"

BUILD_VS_BUY = StarScript(
    story_id=EVIDENCE_ID,
    title="Influencing decisions with data: build or buy a feature store",
    situation=(
        "The infra team was split on building our own feature store or adopting a managed one, and the "
        "debate had turned into opinion against opinion."
    ),
    task=(
        "I was asked for a recommendation that would survive scrutiny on cost, time to value, reliability "
        "and what our team could maintain."
    ),
    action=(
        "Before anyone saw a number, I got the stakeholders to agree the criteria and their weights: cost "
        "35%, reliability and time to value 25% each, maintainability 15%. Then I built a cost model where "
        "every assumption is a named input with its reason: engineering hours, labour rate, compute, "
        "storage, egress and licence. I moved each input 20% either way to see which ones could flip the "
        "answer. For reliability I ran a proof of concept instead of trusting slides: serving latency from "
        "a Redis cache fed by a streaming job, offline-online consistency at one instant, and point-in-time "
        "joins on three labelled datasets, each cell checked by an independent oracle, with Feast on the "
        "same data for contrast."
    ),
    result=(
        ResultLine(
            "The model put the managed option {tco_saving_pct_12m} cheaper over the first year, with "
            "build only breaking even after {tco_breakeven_month}, and the weighted scorecard chose "
            "{tco_decision}."
        ),
        ResultLine(
            "The plan had buy live in {delivery_weeks_buy}, against {delivery_months_build} to build."
        ),
        ResultLine(
            "In the proof of concept, serving p95 was {b_fetch_p95_ms}, offline-online consistency error "
            "{offline_online_consistency_error}, and point-in-time leakage {pit_leakage_rate}."
        ),
    ),
    tradeoff=(
        "I accepted vendor lock-in and recommended buying with an exit plan: contractual SLOs, and feature "
        "definitions kept in our own repository. I was also explicit that the cost figures come from stated "
        "assumptions, not observation, which is why the sensitivity sat next to them: people could argue "
        "with an input instead of the conclusion."
    ),
    deep_dive=(
        DiveStep(
            question="How was the TCO built?",
            path="feature_cache/tco/model.py",
            symbol="run_model",
            command="starlab features tco",
            point="Monthly cost is compute + storage + egress + labor/12 once live, one-off effort before.",
        ),
        DiveStep(
            question="Where do the assumptions come from?",
            path="feature_cache/tco/inputs.yaml",
            symbol="labor_rate_usd_hour",
            point="Every input is named with its reason; a bad one exits 2 naming the field.",
        ),
        DiveStep(
            question="Sensitivity: what if labour costs 20% more, or egress grows?",
            path="feature_cache/tco/sensitivity.py",
            symbol="run_sensitivity",
            command="starlab features tco --horizon-months 24",
            point="Each input moved one at a time; the tornado shows which ones drive the answer.",
        ),
        DiveStep(
            question="How did you validate point-in-time correctness?",
            path="feature_cache/offline/asof.py",
            symbol="build_training_set",
            command="starlab features pit --feast",
            point="Event time and ingest time both at or before the label time, within the group's TTL.",
        ),
        DiveStep(
            question="How do you know nothing leaked?",
            path="feature_cache/offline/leakage.py",
            symbol="check_leakage",
            command="starlab features pit",
            point="An independent oracle re-checks every cell; Feast's default join leaks late corrections.",
        ),
        DiveStep(
            question="Offline-online consistency: measured how?",
            path="feature_cache/precompute/consistency.py",
            symbol="online_offline_consistency",
            command="starlab features precompute measure",
            point="Every cached group at one instant against the history as of that instant.",
        ),
        DiveStep(
            question="Where did the serving latency come from?",
            path="feature_cache/serving/cache.py",
            symbol="CacheReader",
            command="starlab features bench",
            point="One Redis round trip per request; the bench also reads through Feast on the same Redis.",
        ),
    ),
)

FAN_OUT = StarScript(
    story_id=EVIDENCE_ID,
    script_id="004-fan-out",
    title="Influencing without authority: a feature cache instead of a synchronous fan-out",
    situation=(
        "We were launching a near-real-time ranking change for notifications, six weeks from a marketing "
        "date. A senior engineer proposed fetching features per request from four services at once. The "
        "SLO was a p95 of 250 ms and 99.9% availability."
    ),
    task=(
        "I owned model quality and the experiment, not the service design. I had to make sure what shipped "
        "met the SLOs, and change the design, if needed, by persuasion alone."
    ),
    action=(
        "I met each stakeholder one to one, and asked SRE for every dependency's latency and failure "
        "history. The math carried the argument: availability multiplies across dependencies, and a "
        "parallel fan-out pays the slowest tail. I built a load test with simulated services at those "
        "latencies, with retries and injected faults, and a shadow alternative: a streaming job precomputes "
        "features into Redis with a TTL, one on-demand call covers cold keys, and a circuit breaker "
        "degrades instead of failing. In the review I restated the engineer's goals first, showed both "
        "designs in one options matrix, and proposed a guarded rollout with a kill switch."
    ),
    result=(
        ResultLine(
            "Under the same load and faults, the fan-out's p95 was {a_e2e_p95_ms} against "
            "{b_e2e_p95_ms} for the cache-first design."
        ),
        ResultLine(
            "On the measured failure rates the fan-out's availability worked out at "
            "{a_availability_projected:.1f}, while the cache-first design served {b_availability:.2f}."
        ),
        ResultLine(
            "Priced at our volume, the fan-out cost {a_cost_month_usd:,.0f} and the cache "
            "{b_cost_month_usd:,.0f}, saving {cost_saving_month_usd:,.0f}."
        ),
        ResultLine(
            "We adopted the cache. When a traffic spike later dropped the hit rate to "
            "{hit_rate_regressed:.0f}, pre-warming, admission control and dynamic TTLs restored "
            "{hit_rate_restored:.0f}."
        ),
    ),
    tradeoff=(
        "The trade-off I asked people to accept was staleness: most features can be minutes old, and only "
        "fast-changing ones get a live call. I also owned the new failure mode, so guardrails trip the kill "
        "switch on p95 or failure rate."
    ),
    deep_dive=(
        DiveStep(
            question="Show the reliability math.",
            path="feature_cache/serving/reliability.py",
            symbol="fanout_availability",
            command="starlab features bench",
            point="P(all succeed) is the product of availabilities, fed with each service's failure rate.",
        ),
        DiveStep(
            question="Why does the fan-out's tail grow with each dependency?",
            path="feature_cache/serving/reliability.py",
            symbol="quantile_of_max_ms",
            point="The request waits for the slowest call: the p95 of a max of lognormals.",
        ),
        DiveStep(
            question="How did you compare the designs fairly?",
            path="feature_cache/bench/loadtest.py",
            symbol="run_loadtest",
            command="starlab features loadtest",
            point="Open-loop load from a separate process, same traffic and faults, latency from send time.",
        ),
        DiveStep(
            question="What does the fan-out do per request?",
            path="feature_cache/serving/fanout.py",
            symbol="FanoutClient.fetch",
            command="starlab features serve --design A --with-deps",
            point="Four calls in parallel, retries within a deadline.",
        ),
        DiveStep(
            question="And the cache-first design?",
            path="feature_cache/serving/app.py",
            symbol="_Runtime.fetch_b",
            command="starlab features serve --design B --with-deps",
            point="One Redis read, an on-demand call behind a breaker for misses, degraded answers flagged.",
        ),
        DiveStep(
            question="What did the design review see?",
            path="feature_cache/bench/options.py",
            symbol="options_matrix",
            command="starlab demo features",
            point="p95, p99, availability measured and by formula, calls per request, cost, delivery risk.",
        ),
        DiveStep(
            question="Your design regressed under load months later: what did you do?",
            path="feature_cache/bench/regression.py",
            symbol="run_regression",
            command="starlab features regression",
            point="The bad day replayed, then each mitigation in turn with its hit rate and p95.",
        ),
        DiveStep(
            question="Where does the automatic rollback live?",
            path="feature_cache/slo.yaml",
            symbol="FeatureP95High",
            command="starlab alerts --since 30m",
            point="An alert whose action flips the breaching instance's kill switch, with a runbook.",
        ),
    ),
)

SCRIPTS = (BUILD_VS_BUY, FAN_OUT)
"""What `Story.star` points at: story 4, then the 004 fan-out story."""

__all__ = ["BUILD_VS_BUY", "EVIDENCE_ID", "FAN_OUT", "SCRIPTS"]
