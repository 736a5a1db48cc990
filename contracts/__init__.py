"""Story 1 (data contracts): versioned Avro subjects, dbt model contracts, a CI gate, CDC backfill.

The compatibility checker and the registry are kernel infrastructure
(`starlab.schema`, `starlab.registry`) because streaming uses them too; this
package holds what the contracts story decides: the subjects and their
modes, the gate over Avro and dbt contracts with impact from lineage, the
change-request checks, the CDC backfill and the replayed quarter.
"""

from starlab.story import Story

STORY = Story(
    name="contracts",
    evidence_id="1-contracts",
    title="Avro subjects with Confluent's modes, dbt model contracts, the CI gate, CDC backfill, replay",
    order=10,
    cli="contracts.cli:app",
    demo="contracts.demo:run_demo",
    star="contracts.star:SCRIPTS",
)
