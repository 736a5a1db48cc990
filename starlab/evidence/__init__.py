"""The evidence report: every story claim next to the value starlab measured.

Stories build `Claim`s, fill in what they measured and call
`record(claims, story)`; `starlab report` (and `make demo`) calls
`build_report()` to merge them into `reports/latest/evidence.{json,md,html}`
(and a copy under `reports/<run-id>/`); evidence.json is an object (schema
`evidence.schema.json`) with the run's environment, each story's params and
the list of claims under "claims". `starlab report --compare A B` diffs two
runs (`load_run`, `compare_runs`).

    from starlab.evidence import Claim, record
    claim = Claim(story="3-streaming", claim="freshness < 5 minutes (p95)",
                  metric="freshness_p95", unit="min", claimed=5, comparator="<",
                  method="now - max(ingest_ts) sampled every 10 s",
                  command="starlab stream slo")
    record([claim.with_measured(2.4)], "3-streaming", params={"events": 20000, "seed": 7})
"""

from starlab.evidence.claim import (
    Claim,
    ClaimedValue,
    Comparator,
    EvidenceError,
    Measured,
    Status,
    format_value,
    jsonable,
)
from starlab.evidence.compare import (
    ClaimChange,
    Comparison,
    Difference,
    Run,
    compare_runs,
    list_runs,
    load_run,
    render_comparison,
)
from starlab.evidence.environment import Environment, collect_environment
from starlab.evidence.report import (
    BuiltReport,
    build_report,
    default_run_id,
    evidence_document,
    evidence_entries,
    save_plot,
    save_png,
)
from starlab.evidence.schema import SCHEMA_VERSION, evidence_schema, validate_evidence
from starlab.evidence.store import (
    ParamValue,
    StoryParams,
    StoryRecord,
    claims_dir,
    git_commit,
    latest_dir,
    load_story_records,
    plots_dir,
    record,
)

__all__ = [
    "SCHEMA_VERSION",
    "BuiltReport",
    "Claim",
    "ClaimChange",
    "ClaimedValue",
    "Comparator",
    "Comparison",
    "Difference",
    "Environment",
    "EvidenceError",
    "Measured",
    "ParamValue",
    "Run",
    "Status",
    "StoryParams",
    "StoryRecord",
    "build_report",
    "claims_dir",
    "collect_environment",
    "compare_runs",
    "default_run_id",
    "evidence_document",
    "evidence_entries",
    "evidence_schema",
    "format_value",
    "git_commit",
    "jsonable",
    "latest_dir",
    "list_runs",
    "load_run",
    "load_story_records",
    "plots_dir",
    "record",
    "render_comparison",
    "save_plot",
    "save_png",
    "validate_evidence",
]
