"""Story 3 ("Leading an important project"): batch-to-streaming with Kafka and Flink SQL.

- `job` (on the kernel's `starlab.flink` runner) and `sql/`: the Flink SQL
  job: Avro source with the event contract's watermark, keep-first dedup,
  per-minute metrics, the Parquet lake and the late-events topic, all
  exactly-once;
- `scenario`: a live run with the edge producer, faults (kill the job or the
  broker, stall) and the SLO monitor (`slo`, rules in `slo_rules.yaml`);
- `verify`: every output against the generator's ground truth;
- `reconcile`: the stream against dbt's batch recomputation, and backfill;
- `bench/`: throughput, latency, backfill rate and lateness in one run;
- `cli`, `demo`, `settings`, `errors`, `evidence`: the shape every story has.

Story folders never import each other; this one imports only the kernel.
"""

from starlab.story import Story

STORY = Story(
    name="stream",
    evidence_id="3-streaming",
    title="Kafka -> Flink SQL (dedup, watermark, exactly-once) -> verify, reconcile, backfill",
    order=20,
    cli="streaming.cli:app",
    demo="streaming.demo:run_demo",
    slo="streaming/slo.yaml",
    dashboard="streaming.dashboard:DASHBOARD",
    star="streaming.star:SCRIPTS",
)
