"""dbt's lineage as the gate reads it, and a topic change's impact (contracts/gate/manifest.py, impact.py)."""

from __future__ import annotations

from datetime import date

from contracts.gate.declarations import ConsumersFile
from contracts.gate.impact import map_violations, topic_impact
from contracts.gate.manifest import ManifestView, changed_contracts
from contracts.gate.model import Rule

from .manifests import manifest, model

STG = model("stg_events", {"event_id": "varchar"})
INT = model("int_daily", {"item_id": "varchar", "events": "bigint"})
FCT = model("fct_sales", {"category": "varchar"}, deprecation="2027-01-15T00:00:00+00:00")
LINEAGE = {
    "source.starlab.lake.events": [STG[0], "test.starlab.not_null_x"],
    STG[0]: [INT[0]],
    INT[0]: [FCT[0], "exposure.starlab.ranking_api"],
    FCT[0]: ["exposure.starlab.sales_daily_report"],
}
VIEW = ManifestView.from_json(manifest(STG, INT, FCT, child_map=LINEAGE))
CONSUMERS = ConsumersFile.model_validate(
    {
        "topics": {
            "engagement.events": {
                "format": "avro",
                "consumers": [
                    {"name": "flink_job", "kind": "flink_job", "reader_schema": "pinned"},
                    {
                        "name": "lake",
                        "kind": "dbt_source",
                        "dbt_source": "lake.events",
                        "reader_schema": "not_avro",
                    },
                    {"name": "features", "kind": "flink_job", "status": "planned"},
                ],
            }
        }
    }
)


def test_models_read_with_versions_dates_and_relations() -> None:
    (node,) = VIEW.versions_of("fct_sales")
    assert node.label == "fct_sales v1" and node.version == "1" and node.latest_version == "1"
    assert node.deprecation_date == date(2027, 1, 15)
    assert node.relation_name == '"warehouse"."marts"."fct_sales"'
    assert node.patch_path == "models/marts/_fct_sales.yml"


def test_downstream_follows_child_map_to_exposures_and_skips_tests() -> None:
    models, exposures = VIEW.downstream([STG[0]])
    assert models == ["fct_sales v1", "int_daily v1"]
    assert exposures == ["ranking_api", "sales_daily_report"]


def test_a_topic_reaches_consumers_and_the_lineage_behind_its_dbt_source() -> None:
    impact = topic_impact("engagement.events", CONSUMERS, VIEW)
    assert impact.consumers == ("flink_job", "lake", "features (planned)")
    assert impact.models == ("fct_sales v1", "int_daily v1", "stg_events v1")
    assert impact.exposures == ("ranking_api", "sales_daily_report")
    assert topic_impact("unknown.topic", CONSUMERS, VIEW).is_empty


def test_only_models_whose_contract_changed_are_candidates() -> None:
    changed_int = model("int_daily", {"item_id": "varchar", "events": "double"})
    widened = model("stg_events", {"event_id": "VARCHAR(36)"})  # size only: dbt's rule, not a change
    head = ManifestView.from_json(manifest(widened, changed_int, FCT))
    assert changed_contracts(VIEW, head) == ["int_daily"]


def test_a_consumer_naming_a_missing_dbt_source_is_reported() -> None:
    broken = ConsumersFile.model_validate(
        {
            "topics": {
                "t": {
                    "format": "avro",
                    "consumers": [{"name": "c", "kind": "dbt_source", "dbt_source": "lake.gone"}],
                }
            }
        }
    )
    (v,) = map_violations(broken, VIEW)
    assert v.rule is Rule.MAP_INCOMPLETE and "lake.gone" in v.changed
    assert map_violations(CONSUMERS, VIEW) == []
