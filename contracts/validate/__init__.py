"""Story 1's pre-deploy contract check: live topics and warehouse relations against the contracts.

Backs "added contract tests in Airflow pre-deploy": the `contract_gate` DAG
(dags/contract_gate.py) only wires these functions; each returns typed
results (`contracts.validate.model`).

Function API:
- `load_declared(contracts_root, manifest, settings) -> DeclaredContracts`
- `sample_topics(settings, cfg, contracts) -> tuple[TopicSample, ...]`
- `sample_warehouse(settings, cfg, contracts) -> tuple[RelationSample, ...]`
- `validate(contracts, topics, relations, registry=, interval=) -> ValidationReport`
- `check_live(settings, cfg, contracts, interval) -> ValidationReport` (all three)
"""

from contracts.validate.check import check_live, sample_topics, sample_warehouse, validate
from contracts.validate.declared import DeclaredContracts, live_topic, load_declared
from contracts.validate.model import (
    Check,
    ContractCheckFailed,
    Finding,
    RelationSample,
    TopicSample,
    ValidationReport,
)
from contracts.validate.topics import Registry

__all__ = [
    "Check",
    "ContractCheckFailed",
    "DeclaredContracts",
    "Finding",
    "Registry",
    "RelationSample",
    "TopicSample",
    "ValidationReport",
    "check_live",
    "live_topic",
    "load_declared",
    "sample_topics",
    "sample_warehouse",
    "validate",
]
