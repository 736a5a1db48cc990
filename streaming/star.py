"""Story 3 told aloud ("Leading an important project"): the STAR script and its deep-dive outline.

The Result names this story's claims by metric (streaming/evidence.py and
streaming/demo.py); `starlab.evidence.star` fills in what the run measured.
"""

from __future__ import annotations

from starlab.evidence.star import DiveStep, ResultLine, StarScript

STREAMING = StarScript(
    story_id="3-streaming",
    title="Leading an important project: moving engagement metrics from daily batch to streaming",
    situation=(
        "Our engagement metrics came from a daily batch job, so Ops and every downstream team looked at "
        "numbers a day old while they needed to react within minutes."
    ),
    task=(
        "I led the move to streaming end to end, with two targets I agreed up front: freshness under "
        "5 minutes and 99.9% delivery success."
    ),
    action=(
        "I wrote an RFC comparing Kafka, Flink and Iceberg with a managed stack, costed from CPU and "
        "memory I measured rather than guessed, and chose Kafka with Flink SQL for low-latency stateful "
        "work. Events carry a schema from the registry. Exactly-once was the core: checkpoints hold offsets "
        "and state, both Kafka sinks are transactional, the lake commits once per checkpoint, and readers "
        "only see committed data. Duplicates are dropped on event_id, keeping the first copy. The watermark "
        "allows 10 minutes of lateness, and anything later goes to its own topic instead of vanishing. I "
        "set SLO alerts on freshness and consumer lag, each with a runbook, and built reconciliation "
        "against a batch recomputation with a replayable backfill."
    ),
    result=(
        ResultLine(
            "On a clean run, p95 end-to-end latency was {e2e_latency_p95:.1f} and p95 freshness "
            "{freshness_p95:.1f}, where people used to wait a day."
        ),
        ResultLine(
            "In a run where I killed the Flink job partway through, the loss rate was {event_loss_rate}, "
            "delivery success {delivery_success}, and {duplicated_outputs} were duplicated."
        ),
        ResultLine(
            "Reconciliation flagged exactly the windows late events had touched, and after the backfill "
            "the drift was {drift_windows_after_backfill}."
        ),
    ),
    tradeoff=(
        "Two costs I accepted. Exactly-once output only becomes visible when a checkpoint commits, so "
        "latency is about one checkpoint interval. And anything later than the allowed lateness skips the "
        "live numbers: those minutes stay wrong until reconciliation repairs them. A shorter lateness "
        "closes minutes sooner, but sends many more events down that repair path."
    ),
    deep_dive=(
        DiveStep(
            question="How did you ensure exactly-once? Sinks and checkpointing.",
            path="starlab/flink/job_main.py",
            symbol="flink_settings",
            command="starlab stream run --events 200000 --rate 5000 --fault kill-job@0.3",
            point=(
                "EXACTLY_ONCE checkpoints on RocksDB, transactional sinks, read_committed readers; "
                "stop-with-savepoint so no transaction is left open."
            ),
        ),
        DiveStep(
            question="How does dedup on event_id work, and how much state does it keep?",
            path="streaming/sql/01_source.sql",
            symbol="deduped",
            command="starlab stream sql",
            point="ROW_NUMBER over event_id keeps the first copy; state TTL bounds RocksDB.",
        ),
        DiveStep(
            question="Out-of-order events: what is late, and what does it cost?",
            path="streaming/sql/01_source.sql",
            symbol="high_water",
            command="starlab stream bench --lateness",
            point="A checkpointed per-partition high-water mark; 10 min vs 2 min lateness on the same input.",
        ),
        DiveStep(
            question="How do you know nothing was lost or duplicated?",
            path="streaming/verify.py",
            symbol="verify",
            command="starlab stream verify",
            point="Every output against the generator's ground truth, read_committed.",
        ),
        DiveStep(
            question="Backfill and reconciliation: how do you find and repair drift?",
            path="streaming/reconcile.py",
            symbol="backfill",
            command="starlab stream reconcile && starlab stream backfill",
            point="dbt recomputes from a pinned lake snapshot; drifted windows replay in one transaction.",
        ),
        DiveStep(
            question="Which alert told you something was wrong?",
            path="streaming/slo.yaml",
            symbol="FreshnessSLOBreach",
            command="starlab alerts --since 10m",
            point="Freshness of the committed output over 300 s for a minute; the runbook is in the alert.",
        ),
        DiveStep(
            question="Why this stack, and what does it cost?",
            path="streaming/rfc/model.py",
            symbol="compare",
            command="starlab stream rfc --measure",
            point="Measured CPU and memory priced per option; say plainly where the model misses the -18%.",
        ),
    ),
)

SCRIPTS = (STREAMING,)
"""What `Story.star` points at."""

__all__ = ["SCRIPTS", "STREAMING"]
