"""Story 3's claims next to what a streaming run measured.

Each claim keeps the story's figure; the measured value comes from
`RunResult` (verify, SLO monitor, latency probe) of the same run.
"""

from __future__ import annotations

from starlab.evidence import Claim
from streaming.scenario import RunResult

STORY = "3-streaming"


def claims_from_run(r: RunResult, command: str) -> list[Claim]:
    rep = r.report
    lat = r.latency_ms
    faults = ", ".join(r.faults_done) or "none"
    ckpt = r.options.checkpoint_interval_ms
    out = [
        Claim(
            story=STORY,
            claim="p95 end-to-end latency < 3 min",
            metric="e2e_latency_p95",
            unit="s",
            claimed=180.0,
            comparator="<",
            measured=None if lat is None else lat.p95 / 1000,
            method=(
                "produce time of the newest input in each committed metrics row -> the moment a "
                f"read_committed consumer saw it; {lat.count if lat else 0:,} rows; checkpoints every "
                f"{ckpt} ms; faults: {faults}"
            ),
            command=command,
            details={"latency_ms": lat.to_dict() if lat else None},
        ),
        Claim(
            story=STORY,
            claim="freshness 2-4 min p95 (SLO < 5 min)",
            metric="freshness_p95",
            unit="s",
            claimed=300.0,
            comparator="<",
            measured=r.freshness_p95_s,
            method=(
                "now - newest event time in the committed metrics topic, "
                "sampled every second while data flowed"
            ),
            command=command,
            details={"freshness_max_s": r.freshness_max_s, "story_range_s": [120, 240]},
        ),
        Claim(
            story=STORY,
            claim="end-to-end loss rate < 0.1% (story: 0.03%)",
            metric="event_loss_rate",
            unit="%",
            claimed=0.1,
            comparator="<",
            measured=rep.loss_rate * 100,
            method=(
                f"(unique events produced - distinct event_ids in the lake) / produced; "
                f"{rep.expected_unique:,} produced, {rep.lost} lost; faults: {faults}"
            ),
            command=command,
        ),
        Claim(
            story=STORY,
            claim="99.9% delivery success",
            metric="delivery_success",
            unit="%",
            claimed=99.9,
            comparator=">=",
            measured=(1 - rep.loss_rate) * 100,
            method="1 - loss rate over the same run",
            command=command,
        ),
        Claim(
            story=STORY,
            claim="exactly-once: no event duplicated in the outputs (dedup on event_id)",
            metric="duplicated_outputs",
            unit="events",
            claimed=0,
            comparator="==",
            measured=rep.duplicated,
            method=(
                f"lake rows - distinct ids plus late-topic rows - distinct ids, read_committed; the input "
                f"had {len(r.manifest.duplicate_ids):,} duplicate sends; faults: {faults}"
            ),
            command=command,
        ),
        Claim(
            story=STORY,
            claim="events beyond 10 min allowed lateness are captured, not dropped",
            metric="late_events_missing",
            unit="events",
            claimed=0,
            comparator="==",
            measured=rep.late_missing + rep.late_unexpected,
            method=(
                f"late-events topic vs the generator's ground truth: {rep.late_captured:,} captured of "
                f"{rep.expected_late:,} expected"
            ),
            command=command,
        ),
        Claim(
            story=STORY,
            claim="per-minute metrics equal an exact batch recomputation",
            metric="metric_mismatches",
            unit="windows",
            claimed=0,
            comparator="==",
            measured=rep.metric_mismatches + abs(rep.metric_keys_found - rep.metric_keys_expected),
            method=f"{rep.metric_keys_expected:,} (item, minute) rows vs counts from the regenerated events",
            command=command,
        ),
    ]
    return out
