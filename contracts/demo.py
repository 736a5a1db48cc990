"""`starlab demo contracts`: story 1 end to end on the real stack, returning its claims.

1. The app team's database feeds analytics through CDC: PostgreSQL is seeded
   with the generator's items and users, Debezium captures them, the bridge
   re-encodes them to Avro through the registry and lands the dims dbt reads;
   one UPDATE is then timed from PostgreSQL to the Avro topic and the lake.
2. The registry enforces a subject's mode: an incompatible registration is
   refused with 409, through confluent-kafka's own client.
3. The expand/contract migration of items v2 and the CDC backfill of the
   deprecated field: the new fields have no nulls where the old one had a
   value, and a second run changes nothing (same row digest).
4. The replayed quarter, with and without the gate (`contracts.replay`).
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass

from contracts.errors import ContractsError
from starlab.evidence import Claim, jsonable
from starlab.settings import Settings
from starlab.story import DemoContext, DemoOutcome

STORY = "1-contracts"


@dataclass(frozen=True)
class CdcRound:
    seeded_changes: int
    bridged_changes: int
    items_in_lake: int
    update_to_lake_s: float
    """One UPDATE in PostgreSQL until the lake's items dimension shows it."""


def _cdc_round(settings: Settings, events: int) -> CdcRound:
    import pyarrow.parquet as pq

    from starlab.appdb import connect, seed_database
    from starlab.cdc import run_bridge
    from starlab.events.generator import GeneratorConfig

    seeded = seed_database(settings, GeneratorConfig(events=events))
    first = run_bridge(settings)
    items_file = first.table("items").lake_file
    # One change by the app team, followed to the lake: the path a schema or
    # value change takes to analytics in the story.
    marker = f"demo-{uuid.uuid4().hex[:6]}"
    t0 = time.monotonic()
    with connect(settings) as conn:
        row = conn.execute(b"SELECT item_id FROM items ORDER BY item_id LIMIT 1").fetchone()
        if row is None:
            raise ContractsError("the app database has no items after seeding")
        item_id = str(row[0])
        conn.execute(b"UPDATE items SET category = %s WHERE item_id = %s", (marker, item_id))
        conn.commit()
    seen = False
    deadline = t0 + 120
    bridged = first.changes
    while not seen and time.monotonic() < deadline:
        bridged += run_bridge(settings, idle_timeout_s=1.0).changes
        table = pq.read_table(items_file, columns=["item_id", "category"]).to_pylist()
        seen = any(r["item_id"] == item_id and r["category"] == marker for r in table)
    elapsed = time.monotonic() - t0
    # Put the value back, so the dims stay the generator's (rankings reads them next).
    with connect(settings) as conn:
        conn.execute(
            b"UPDATE items SET category = %s WHERE item_id = %s",
            (_generator_category(events, item_id), item_id),
        )
        conn.commit()
    bridged += run_bridge(settings, idle_timeout_s=1.0).changes
    rows = pq.read_metadata(items_file).num_rows
    return CdcRound(
        seeded_changes=seeded.changed,
        bridged_changes=bridged,
        items_in_lake=rows,
        update_to_lake_s=round(elapsed, 2) if seen else float("nan"),
    )


def _generator_category(events: int, item_id: str) -> str:
    from starlab.events.generator import Generator, GeneratorConfig

    return next(i.category for i in Generator(GeneratorConfig(events=events)).items if i.item_id == item_id)


@dataclass(frozen=True)
class RegistryRefusal:
    subject: str
    refused: bool
    status: int | None
    message: str


def _registry_refusal(settings: Settings) -> RegistryRefusal:
    """Register v1, set BACKWARD_TRANSITIVE, then try a v2 that drops a required field."""
    from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
    from confluent_kafka.schema_registry.error import SchemaRegistryError

    client = SchemaRegistryClient({"url": settings.schema_registry_url})
    subject = f"demo.contracts.{uuid.uuid4().hex[:6]}-value"

    def order(*fields: tuple[str, str]) -> str:
        cols = [{"name": n, "type": t} for n, t in fields]
        return json.dumps({"type": "record", "name": "Order", "fields": cols})

    v1 = order(("id", "string"), ("total", "double"))
    v2 = order(("id", "string"), ("total_cents", "long"))  # a rename: readers of v2 cannot read v1 data
    try:
        client.register_schema(subject, Schema(v1, "AVRO"))
        client.set_compatibility(subject, "BACKWARD_TRANSITIVE")
        try:
            client.register_schema(subject, Schema(v2, "AVRO"))
        except SchemaRegistryError as exc:
            return RegistryRefusal(subject, True, exc.http_status_code, exc.error_message[:300])
        return RegistryRefusal(subject, False, 200, "an incompatible v2 was registered")
    finally:
        client.delete_subject(subject, permanent=False)
        client.delete_subject(subject, permanent=True)


def _lake_v2_nulls(settings: Settings) -> int:
    """The backfill travels through CDC like any change: bridge it, then count v2 nulls in the lake."""
    import pyarrow.parquet as pq

    from starlab.cdc import run_bridge

    items = run_bridge(settings, idle_timeout_s=2.0).table("items").lake_file
    rows = pq.read_table(items).to_pylist()
    if not rows or "category_group" not in rows[0]:
        return len(rows)
    return sum(
        1 for r in rows if r["category"] and (r["category_group"] is None or r["category_name"] is None)
    )


def _replay(ctx: DemoContext, problems: list[str]) -> list[Claim]:
    """The scripted quarter in both arms; its breakages per arm are the story's headline."""
    from contracts.evidence import claims_from_replay
    from contracts.replay.plot import plot_breakages
    from contracts.replay.run import run_replay
    from contracts.settings import ContractsSettings

    result = run_replay(ctx.settings, ContractsSettings(), progress=ctx.progress)
    plot = plot_breakages(result, ctx.settings.reports_dir)
    w, g = result.without, result.with_gate
    if w is not None and g is not None:
        ctx.progress(
            f"replayed quarter: breakages {len(w.breakages)} without the gate, {len(g.breakages)} with "
            f"it; pages {w.pages} -> {g.pages}; plot {plot}"
        )
        if g.breakages:
            problems.append(f"{len(g.breakages)} breakages reached dbt or a consumer with the gate on")
    return claims_from_replay(result, "starlab contracts replay")


def run_demo(ctx: DemoContext) -> DemoOutcome:
    from contracts.cdc import apply_items_v2_expand, backfill_items_category
    from contracts.evidence import outcome_claims
    from starlab.appdb import connect

    settings, progress = ctx.settings, ctx.progress
    problems: list[str] = []

    cdc = _cdc_round(settings, ctx.events)
    progress(
        f"CDC: seeded {cdc.seeded_changes:,} app rows, bridged {cdc.bridged_changes:,} changes to Avro, "
        f"{cdc.items_in_lake} items in the lake dims; one UPDATE reached the lake in {cdc.update_to_lake_s} s"
    )
    if cdc.update_to_lake_s != cdc.update_to_lake_s:  # NaN: never arrived
        problems.append("an UPDATE in PostgreSQL did not reach the lake dims through CDC within 120 s")

    refusal = _registry_refusal(settings)
    progress(
        f"registry: incompatible v2 of {refusal.subject} "
        f"{'refused with ' + str(refusal.status) if refusal.refused else 'ACCEPTED'}: {refusal.message[:160]}"
    )
    if not refusal.refused:
        problems.append("the registry accepted a schema its subject's mode forbids")

    with connect(settings) as conn:
        apply_items_v2_expand(conn)
        conn.commit()
    first = backfill_items_category(settings)
    again = backfill_items_category(settings)
    progress(
        f"backfill of items v2 from the change log: {first.rows_scanned:,} changes replayed "
        f"({first.rows_per_s:,.0f}/s), {first.rows_updated} rows filled, nulls {first.nulls_before} -> "
        f"{first.nulls_after}; second run updated {again.rows_updated}, table "
        f"{'changed' if again.changed_table else 'unchanged'}"
    )
    if first.nulls_after or again.rows_updated or again.changed_table:
        problems.append("the CDC backfill left nulls or was not idempotent")
    lake_nulls = _lake_v2_nulls(settings)
    progress(f"after the backfill, the lake's items dims carry v2: rows with a NULL new field {lake_nulls}")
    if lake_nulls:
        problems.append(f"{lake_nulls} items in the lake dims lack the v2 fields after the backfill")

    claims = [
        Claim(
            story=STORY,
            claim="the registry refuses a change its compatibility mode forbids (409)",
            metric="incompatible_registration_refused",
            unit="",
            claimed=1,
            comparator="==",
            measured=refusal.refused,
            method=(
                "confluent-kafka's SchemaRegistryClient registers v1 under BACKWARD_TRANSITIVE, then a v2 "
                f"without the required field: HTTP {refusal.status}"
            ),
            command="starlab demo contracts",
        ),
        Claim(
            story=STORY,
            claim="CDC backfill of a deprecated field leaves no nulls and is idempotent",
            metric="backfill_nulls_after",
            unit="rows",
            claimed=0,
            comparator="==",
            measured=first.nulls_after + again.rows_updated + int(again.changed_table),
            method=(
                f"items v2 expand migration, then the category split filled from the replayed Debezium log "
                f"({first.rows_scanned:,} changes, {first.rows_updated} rows filled); measured = nulls "
                "left + rows a second run changed + (1 if its row digest moved)"
            ),
            command="starlab contracts backfill",
            details={"first": jsonable(first), "second": jsonable(again)},
        ),
    ]
    claims += _replay(ctx, problems)
    claims += outcome_claims()
    return DemoOutcome(claims=claims, problems=problems)


__all__ = ["run_demo"]
