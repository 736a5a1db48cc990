"""Warehouse relations for the pre-deploy check: each contracted version's columns, types and a row sample.

Backs story 1's "contract tests in Airflow pre-deploy" on the warehouse side:
dbt enforces a contract when it builds a model, but a relation can drift
afterwards (a hand-run ALTER, a build with enforcement off, a version built
by an older project). Before a deploy, every contracted model version's
relation is read from DuckDB's information_schema and compared with its
contract, and a bounded, repeatable row sample feeds the declared
not_null/accepted_values checks.

The warehouse is opened read-only: the check never takes DuckDB's single
writer lock from a build. A lock held by a writer is transient (retried).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from contracts.errors import ContractsTransientError
from contracts.validate.declared import ModelContract
from contracts.validate.model import RelationColumn, RelationSample

SAMPLE_SEED = 42
"""REPEATABLE seed of the row sample: the same table gives the same sample, so a re-run of the
same interval judges the same rows."""


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def sample_relations(
    warehouse: Path, models: Sequence[ModelContract], rows: int
) -> tuple[RelationSample, ...]:
    """Columns, types and up to `rows` sampled rows of each model version's relation."""
    import duckdb  # heavy: only in the task that samples

    if not warehouse.exists():
        return tuple(RelationSample(model=m.label, relation=m.relation, exists=False) for m in models)
    try:
        con = duckdb.connect(str(warehouse), read_only=True)
    except duckdb.IOException as exc:
        raise ContractsTransientError(f"warehouse {warehouse} is not readable now: {exc}") from None
    out: list[RelationSample] = []
    try:
        for m in models:
            schema, _, table = m.relation.rpartition(".")
            found = con.execute(
                "select column_name, data_type from information_schema.columns "
                "where table_schema = ? and table_name = ? order by ordinal_position",
                [schema or "main", table],
            ).fetchall()
            if not found:
                out.append(RelationSample(model=m.label, relation=m.relation, exists=False))
                continue
            columns = tuple(RelationColumn(name=str(n), data_type=str(t)) for n, t in found)
            present = {c.name for c in columns}
            wanted = sorted({t.column for t in m.value_tests} & present)
            sampled: tuple[dict[str, str | None], ...] = ()
            if wanted:
                select = ", ".join(f"cast({_quote(c)} as varchar) as {_quote(c)}" for c in wanted)
                result = con.execute(
                    f"select {select} from {_quote(schema or 'main')}.{_quote(table)} "
                    f"using sample reservoir({int(rows)} rows) repeatable ({SAMPLE_SEED})"
                ).fetchall()
                sampled = tuple(dict(zip(wanted, row, strict=True)) for row in result)
            out.append(
                RelationSample(model=m.label, relation=m.relation, exists=True, columns=columns, rows=sampled)
            )
    finally:
        con.close()
    return tuple(out)


__all__ = ["SAMPLE_SEED", "sample_relations"]
