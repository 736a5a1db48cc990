"""The evidence report: every story claim next to the value starlab measured.

Stories build `Claim`s, fill in what they measured and call
`record(claims, story)`; `starlab report` (and `make demo`) calls
`build_report()` to merge them into `reports/latest/evidence.{json,md,html}`.

    from starlab.evidence import Claim, record
    claim = Claim(story="3-streaming", claim="freshness < 5 minutes (p95)",
                  metric="freshness_p95", unit="min", claimed=5, comparator="<",
                  method="now - max(ingest_ts) sampled every 10 s",
                  command="starlab stream slo")
    record([claim.with_measured(2.4)], "3-streaming")
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
from starlab.evidence.report import BuiltReport, build_report, evidence_entries, save_plot
from starlab.evidence.store import (
    StoryRecord,
    claims_dir,
    git_commit,
    latest_dir,
    load_story_records,
    plots_dir,
    record,
)

__all__ = [
    "BuiltReport",
    "Claim",
    "ClaimedValue",
    "Comparator",
    "EvidenceError",
    "Measured",
    "Status",
    "StoryRecord",
    "build_report",
    "claims_dir",
    "evidence_entries",
    "format_value",
    "git_commit",
    "jsonable",
    "latest_dir",
    "load_story_records",
    "plots_dir",
    "record",
    "save_plot",
]
