"""Story 2 told aloud ("Meeting a tight deadline"): the STAR script and its deep-dive outline.

The Result names this story's claims by metric (rankings/evidence.py);
`starlab.evidence.star` fills in what the run measured.
"""

from __future__ import annotations

from starlab.evidence.star import DiveStep, ResultLine, StarScript

RANKINGS = StarScript(
    story_id="2-rankings",
    title="Meeting a tight deadline: a daily ranking table, cut to size and published safely",
    situation=(
        "Product marketing pulled a launch forward by ten days, and the launch needed a new daily ranking "
        "table behind an API and a dashboard."
    ),
    task=(
        "I had to deliver something small but dependable by launch day: data under 2 hours old at publish, "
        "under 0.5% duplicates, and an API answering within 200 ms at p95."
    ),
    action=(
        "I cut scope hard: three signals, recency, click-through rate and a recency-decayed score, with "
        "five long-tail features parked in dbt as disabled, each with its reason. The table is an "
        "incremental dbt model that re-ranks every date a late event touches. Nothing reaches users "
        "without a gate: dbt tests on row counts, nulls, keys and duplicates, then a Great Expectations "
        "suite against the previous build. Publishing is blue/green: build the idle table, gate it, flip a "
        "flag, warm Redis under versioned keys and move the serving pointer atomically. The API reads only "
        "Redis, so it never mixes versions, and rollback is one command. Airflow runs the cycle daily."
    ),
    result=(
        ResultLine(
            "In the measured run, freshness at publish was {freshness_at_publish}, duplication "
            "{duplicate_rate}, and API p95 {api_p95:.1f} with a flip halfway through the load."
        ),
        ResultLine(
            "Across that flip and a rollback, {bad_responses_during_switch} failed or came back mixed."
        ),
        ResultLine(
            "I injected a bad build on purpose; the change failure rate was {change_failure_rate}, "
            "and rolling back took {rollback_switch_s:.3f}."
        ),
        ResultLine("A daily incremental run cost {incremental_cost_ratio} of a full refresh."),
    ),
    tradeoff=(
        "The risk I accepted: the gate checks a build's shape, not whether its order makes sense, so a "
        "scoring bug that keeps counts and keys intact would publish. I watch how much of each new top "
        "twenty survives from the last, with rollback as the answer. And on a daily schedule the served "
        "table ages between publishes."
    ),
    deep_dive=(
        DiveStep(
            question="Exact quality checks and thresholds?",
            path="rankings/publish/gate.py",
            symbol="run_gx_suite",
            command="starlab rankings run",
            point="Row count against the previous build, null ratios, item ids in the dimension, duplicates.",
        ),
        DiveStep(
            question="How does the model handle late-arriving data?",
            path="dbt_project/macros/incremental.sql",
            symbol="engagement_dates_filter",
            point="A late click re-ranks its date and the window after it; incremental equals full refresh.",
        ),
        DiveStep(
            question="What did you cut, and what did the cut cost?",
            path="rankings/bench/deferral.py",
            symbol="measure_deferral",
            command="starlab rankings bench",
            point="Rank correlation with latent quality with and without each deferred feature.",
        ),
        DiveStep(
            question="How does a flip avoid serving a mix of versions?",
            path="rankings/serving/cache.py",
            symbol="RankingsCache.move_pointer",
            command="starlab rankings bench",
            point="Immutable keys per build, one Lua compare-and-set moves the pointer.",
        ),
        DiveStep(
            question="What does the API touch per request?",
            path="rankings/serving/api.py",
            symbol="create_app",
            command="starlab rankings serve",
            point="Redis only, never DuckDB; a Redis error answers 503.",
        ),
        DiveStep(
            question="How fast is rollback, and when is it unavailable?",
            path="rankings/publish/publisher.py",
            symbol="Publisher.rollback",
            command="starlab rankings rollback",
            point="Pointer, flag and view; only while the idle table still holds the previous build.",
        ),
        DiveStep(
            question="The risk you did not mitigate: how do you watch it?",
            path="rankings/publish/publisher.py",
            symbol="Publisher.record",
            command="starlab rankings status",
            point="top20_overlap_with_previous per publish, freshness now between publishes.",
        ),
    ),
)

SCRIPTS = (RANKINGS,)
"""What `Story.star` points at."""

__all__ = ["RANKINGS", "SCRIPTS"]
