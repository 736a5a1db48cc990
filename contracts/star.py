"""Story 1 told aloud ("Handling team conflict"): the STAR script and its deep-dive outline.

The Result names this story's claims by metric (contracts/evidence.py and
contracts/demo.py); `starlab.evidence.star` fills in what the run measured.
"""

from __future__ import annotations

from starlab.evidence.star import DiveStep, ResultLine, StarScript

CONTRACTS = StarScript(
    story_id="1-contracts",
    title="Handling team conflict: data contracts for upstream schema changes",
    situation=(
        "Our analytics pipelines broke twice in one month after the app team changed schemas upstream, "
        "and Sales missed its daily report. Analytics blamed the app team, who heard a request to freeze "
        "their releases."
    ),
    task=(
        "I owned the platform in between: stop upstream changes from breaking downstream users without "
        "slowing the app team, and get both sides to own the rules rather than have me impose them."
    ),
    action=(
        "I got the app, analytics and platform owners together and traced lineage from the app's tables "
        "to the Sales report, so everyone saw which columns mattered. I proposed a light contract: a "
        "compatibility mode for every Avro subject in the schema registry, a dbt contract on every model a "
        "consumer reads, and breaking changes only as a new version, the old one deprecated at least two "
        "weeks out. CI diffs every contract against the base branch and lists each violation with its fix "
        "and the consumers it would break. Airflow validates live data before each deploy, and deprecated "
        "fields are backfilled from the CDC change log."
    ),
    result=(
        ResultLine(
            "Replaying a quarter of upstream changes through the real pipeline with the gate, I counted "
            "{breakages_per_quarter_with_gate} reaching dbt or a consumer."
        ),
        ResultLine(
            "On-call pages changed by {pages_change} against the replay without it, and the p95 runtime "
            "variance of the daily DAG by {dag_runtime_variance_p95_change:.0f}."
        ),
        ResultLine(
            "The app team kept its pace: mean lead time for a change was {lead_time_mean_with_gate:.1f}."
        ),
        ResultLine(
            "The CDC backfill, run twice, left {backfill_nulls_after} unfilled or changed by the rerun."
        ),
    ),
    tradeoff=(
        "The price is friction at review: a breaking change costs a new version and a fix before merge "
        "instead of a page after. And a valid schema carrying bad values still passes CI; the pre-deploy "
        "check catches it, but still pages someone."
    ),
    deep_dive=(
        DiveStep(
            question="How did CI enforce the contracts? Show a rule and its failure path.",
            path="contracts/gate/check.py",
            symbol="run_gate",
            command="starlab contracts check --base HEAD",
            point=(
                "Rename a column of the Sales table in its SQL and its contract: exit 1 with "
                "DBT_COLUMN_RENAMED, the fix, and the exposure it breaks."
            ),
        ),
        DiveStep(
            question="Why trust the compatibility check?",
            path="starlab/schema/compatibility.py",
            symbol="check",
            command=(
                "starlab contracts compat contracts/cdc/schemas/app.items-value/v1.avsc "
                "contracts/cdc/schemas/app.items-value/v2.avsc --mode FULL_TRANSITIVE"
            ),
            point="It agrees with Java Avro on a generated corpus; pinned readers are also checked FORWARD.",
        ),
        DiveStep(
            question="What makes a breaking change acceptable?",
            path="contracts/gate/deprecation.py",
            symbol="check_deprecations",
            point="A new model version, the old one kept with a deprecation_date at least 14 days out.",
        ),
        DiveStep(
            question="A non-backward-compatible change under an urgent timeline?",
            path="contracts/replay/quarter.yaml",
            symbol="U1",
            command="starlab contracts replay",
            point="Sales needs a rename by tomorrow: it lands the same day as v2, v1 keeps serving.",
        ),
        DiveStep(
            question="How did the app's own tables migrate?",
            path="contracts/cdc/backfill.py",
            symbol="backfill_items_category",
            command="starlab contracts backfill",
            point="Expand/contract: new fields beside the old one, filled from the Debezium log, rerunnable.",
        ),
        DiveStep(
            question="What runs before a deploy, on live data?",
            path="dags/contract_gate.py",
            symbol="contract_gate",
            command="starlab demo contracts",
            point="Samples topics and warehouse tables, validates them against the contracts, blocks deploy.",
        ),
        DiveStep(
            question="How did you quantify friction against reliability?",
            path="contracts/evidence.py",
            symbol="claims_from_replay",
            command="starlab contracts replay",
            point="Both arms of one quarter: breakages, pages, runtime variance, lead time, fix commits.",
        ),
    ),
)

SCRIPTS = (CONTRACTS,)
"""What `Story.star` points at."""

__all__ = ["CONTRACTS", "SCRIPTS"]
