"""The pre-deploy contract check: samples in, findings out. What the `contract_gate` DAG runs.

Backs story 1's "added contract tests in Airflow pre-deploy" (and, in the
replayed quarter, the breakages that schema review in CI cannot see: a value
the app team starts writing without changing any schema). Three steps, one
per DAG task, each usable on its own:

1. `sample_topics`: the newest records of every value subject's topic;
2. `sample_warehouse`: every contracted model version's relation;
3. `validate`: every check on both samples, all findings in one report.

The rules, each a `Check`:

- topics: the registry's latest version of the subject is a version the
  contracts list (SCHEMA_UNREVIEWED); every current record decodes with it
  (DECODE_REGISTRY) and with the contract's latest version file
  (DECODE_CONTRACT); fields of a topic landed into a dbt source meet that
  source's not_null / accepted_values tests (NOT_NULL, ACCEPTED_VALUES);
- relations: the columns and types equal the version's contract
  (RELATION_MISSING_COLUMN, RELATION_EXTRA_COLUMN, RELATION_TYPE) and the
  sampled rows meet the version's not_null / accepted_values tests.

A topic or relation that does not exist yet is reported with a note, not a
finding: a version that is added by the deploy being checked is built by it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from pathlib import Path

from contracts.gate.manifest import normalize_type
from contracts.settings import ContractsSettings
from contracts.validate.declared import (
    DeclaredContracts,
    ModelContract,
    SubjectContract,
    ValueCheck,
    ValueTest,
    live_topic,
)
from contracts.validate.model import (
    Check,
    Finding,
    RelationSample,
    RelationSummary,
    TopicSample,
    TopicSummary,
    ValidationReport,
)
from contracts.validate.topics import (
    Registry,
    current_records,
    decode,
    parse_reader,
    sample_topic,
    schema_ids,
)
from contracts.validate.warehouse import sample_relations
from starlab.schema import canonical_text, parse_schema
from starlab.settings import Settings

TYPE_ALIASES: dict[str, str] = {
    "string": "varchar",
    "text": "varchar",
    "char": "varchar",
    "int": "integer",
    "int4": "integer",
    "int8": "bigint",
    "long": "bigint",
    "float8": "double",
    "double precision": "double",
    "float4": "float",
    "real": "float",
    "bool": "boolean",
    "numeric": "decimal",
    "timestamp without time zone": "timestamp",
    "datetime": "timestamp",
    "timestamptz": "timestamp with time zone",
}
"""Spellings of one warehouse type: the contract says `varchar`, DuckDB's catalog says VARCHAR."""
EXAMPLES = 3
"""Example values quoted in a finding."""


def warehouse_type(data_type: str | None) -> str:
    """dbt's normalisation (lower case, no size) plus the aliases above."""
    t = normalize_type(data_type)
    return TYPE_ALIASES.get(t, t)


# --------------------------------------------------------------------------- sampling


def sample_topics(
    settings: Settings, cfg: ContractsSettings, contracts: DeclaredContracts
) -> tuple[TopicSample, ...]:
    """A bounded sample of the live topic of every value subject in `contracts`."""
    return tuple(
        sample_topic(
            settings,
            contract_topic=s.contract_topic,
            topic=live_topic(s.contract_topic, settings),
            subject=s.subject,
            per_partition=cfg.sample_records,
            timeout_s=cfg.sample_timeout_s,
        )
        for s in contracts.subjects
    )


def sample_warehouse(
    settings: Settings, cfg: ContractsSettings, contracts: DeclaredContracts
) -> tuple[RelationSample, ...]:
    return sample_relations(settings.warehouse_path, contracts.models, cfg.sample_rows)


# --------------------------------------------------------------------------- value checks


def value_findings(
    tests: Iterable[ValueTest],
    rows: Sequence[Mapping[str, object]],
    contract: str,
    where: str,
    noun: str = "column",
) -> list[Finding]:
    """not_null / accepted_values over sampled rows (accepted_values ignores nulls, as dbt's does)."""
    out: list[Finding] = []
    for t in tests:
        if rows and t.column not in rows[0]:
            continue  # the column itself is missing: a schema finding, reported elsewhere
        values = [r.get(t.column) for r in rows]
        if t.kind is ValueCheck.NOT_NULL:
            nulls = sum(1 for v in values if v is None)
            if nulls:
                out.append(
                    Finding(
                        check=Check.NOT_NULL,
                        contract=contract,
                        object=f"{where} {noun} {t.column}",
                        detail=f"{nulls} of {len(values)} sampled values are null",
                        count=nulls,
                    )
                )
        else:
            allowed = set(t.values)
            bad = [str(v) for v in values if v is not None and str(v) not in allowed]
            if bad:
                examples = ", ".join(repr(v) for v in sorted(set(bad))[:EXAMPLES])
                out.append(
                    Finding(
                        check=Check.ACCEPTED_VALUES,
                        contract=contract,
                        object=f"{where} {noun} {t.column}",
                        detail=f"{examples} not in {sorted(allowed)}",
                        count=len(bad),
                    )
                )
    return out


def _text(value: object) -> str | None:
    return None if value is None else str(value)


# --------------------------------------------------------------------------- topics


def check_topic(
    sample: TopicSample, contract: SubjectContract, registry: Registry
) -> tuple[TopicSummary, list[Finding]]:
    live_subject = f"{sample.topic}-value"
    if not sample.exists:
        return TopicSummary(
            contract_topic=sample.contract_topic,
            topic=sample.topic,
            subject=sample.subject,
            records=0,
            note="topic does not exist yet",
        ), []
    findings: list[Finding] = []
    where = f"topic {sample.topic}"
    latest = registry.latest(live_subject)
    contract_canonicals = {v.canonical: v.version for v in contract.versions}
    registry_reader = None
    if latest is not None:
        version, text = latest
        registry_reader = parse_reader(text)
        canonical = canonical_text(parse_schema(text, source=live_subject, validate_defaults=False))
        if canonical not in contract_canonicals:
            findings.append(
                Finding(
                    check=Check.SCHEMA_UNREVIEWED,
                    contract=contract.subject,
                    object=f"subject {live_subject} v{version}",
                    detail=(
                        f"registered v{version} is none of the contract's versions "
                        f"(1..{contract.latest.version}): a schema change nobody reviewed"
                    ),
                )
            )
    records = current_records(sample)
    contract_reader = parse_reader(contract.latest.text)
    decoded_rows: list[dict[str, object]] = []
    failures: dict[Check, list[str]] = {Check.DECODE_REGISTRY: [], Check.DECODE_CONTRACT: []}
    for record in records:
        if registry_reader is not None:
            got = decode(record, registry, registry_reader)
            if got.error is not None:
                failures[Check.DECODE_REGISTRY].append(got.error)
        got = decode(record, registry, contract_reader)
        if got.error is not None or got.value is None:
            failures[Check.DECODE_CONTRACT].append(got.error or "no value")
            continue
        decoded_rows.append({k: _text(v) for k, v in got.value.items()})
    for check, errors in failures.items():
        if errors:
            reader = (
                f"registered v{latest[0]}"
                if check is Check.DECODE_REGISTRY and latest
                else f"contract v{contract.latest.version}"
            )
            findings.append(
                Finding(
                    check=check,
                    contract=contract.subject,
                    object=where,
                    detail=(
                        f"{len(errors)} of {len(records)} records do not decode with {reader}: {errors[0]}"
                    ),
                    count=len(errors),
                )
            )
    findings += value_findings(contract.value_tests, decoded_rows, contract.subject, where, "field")
    return TopicSummary(
        contract_topic=sample.contract_topic,
        topic=sample.topic,
        subject=sample.subject,
        records=len(records),
        schema_ids=schema_ids(records),
        registry_version=latest[0] if latest else None,
        contract_version=contract.latest.version,
    ), findings


# --------------------------------------------------------------------------- relations


def check_relation(sample: RelationSample, contract: ModelContract) -> tuple[RelationSummary, list[Finding]]:
    if not sample.exists:
        return RelationSummary(
            model=sample.model, relation=sample.relation, exists=False, rows=0, note="not built yet"
        ), []
    where = f"relation {sample.relation}"
    findings: list[Finding] = []
    built = {c.name.lower(): c for c in sample.columns}
    declared = {c.name.lower(): c for c in contract.columns}
    for name, col in declared.items():
        have = built.get(name)
        if have is None:
            findings.append(
                Finding(
                    check=Check.RELATION_MISSING_COLUMN,
                    contract=contract.label,
                    object=f"{where} column {col.name}",
                    detail=f"contracted column ({col.data_type or 'no data_type'}) is not in the relation",
                )
            )
        elif col.data_type and warehouse_type(have.data_type) != warehouse_type(col.data_type):
            findings.append(
                Finding(
                    check=Check.RELATION_TYPE,
                    contract=contract.label,
                    object=f"{where} column {col.name}",
                    detail=f"built as {have.data_type}, contract says {col.data_type}",
                )
            )
    for name, have in built.items():
        if name not in declared:
            findings.append(
                Finding(
                    check=Check.RELATION_EXTRA_COLUMN,
                    contract=contract.label,
                    object=f"{where} column {have.name}",
                    detail=f"{have.data_type} column the contract does not declare",
                )
            )
    findings += value_findings(contract.value_tests, sample.rows, contract.label, where)
    return RelationSummary(
        model=sample.model, relation=sample.relation, exists=True, rows=len(sample.rows)
    ), findings


# --------------------------------------------------------------------------- the report


def validate(
    contracts: DeclaredContracts,
    topics: Sequence[TopicSample],
    relations: Sequence[RelationSample],
    *,
    registry: Registry,
    interval: date,
) -> ValidationReport:
    """Every check on both samples; a sample without its contract is ignored (it was not asked for)."""
    findings: list[Finding] = []
    topic_summaries: list[TopicSummary] = []
    by_subject = {s.subject: s for s in contracts.subjects}
    for sample in topics:
        subject = by_subject.get(sample.subject)
        if subject is not None:
            summary, found = check_topic(sample, subject, registry)
            topic_summaries.append(summary)
            findings += found
    relation_summaries: list[RelationSummary] = []
    by_model = {m.label: m for m in contracts.models}
    for rel in relations:
        model = by_model.get(rel.model)
        if model is not None:
            summary_r, found = check_relation(rel, model)
            relation_summaries.append(summary_r)
            findings += found
    return ValidationReport(
        interval=interval,
        contracts_root=str(contracts.root),
        topics=tuple(topic_summaries),
        relations=tuple(relation_summaries),
        findings=tuple(findings),
    )


def check_live(
    settings: Settings,
    cfg: ContractsSettings,
    contracts: DeclaredContracts,
    interval: date,
) -> ValidationReport:
    """All three steps in one call (tests, a CLI): sample both sides and validate."""
    return validate(
        contracts,
        sample_topics(settings, cfg, contracts),
        sample_warehouse(settings, cfg, contracts),
        registry=Registry(settings.schema_registry_url),
        interval=interval,
    )


def contracts_root_or_default(value: str | None) -> Path:
    from starlab.settings import ROOT

    return Path(value).resolve() if value else ROOT


__all__ = [
    "check_live",
    "check_relation",
    "check_topic",
    "contracts_root_or_default",
    "sample_topics",
    "sample_warehouse",
    "validate",
    "value_findings",
    "warehouse_type",
]
