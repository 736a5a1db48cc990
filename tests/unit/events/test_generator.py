"""The generator's ground truth matches what it emitted, defect by defect."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import duckdb
import pytest

from starlab.errors import ConfigError
from starlab.events.generator import Generator, GeneratorConfig, Manifest
from starlab.events.model import ALLOWED_LATENESS_MS, ContractViolation, parse_event
from starlab.lake.events import events_sql, generate_to_files
from starlab.settings import Settings

CFG = GeneratorConfig(
    events=6_000,
    rate_per_s=2.0,
    duplicate_rate=0.05,
    late_rate=0.03,
    out_of_order_rate=0.1,
    malformed_rate=0.02,
)


@pytest.fixture(scope="module")
def run() -> tuple[list, Manifest]:
    gen = Generator(CFG)
    return list(gen.emissions()), gen.manifest


def test_counts_match_manifest(run: tuple[list, Manifest]) -> None:
    emissions, m = run
    kinds = Counter(e.kind for e in emissions)
    assert len(m.unique_ids) == CFG.events == kinds["valid"]
    assert len(set(m.unique_ids)) == CFG.events
    assert kinds["duplicate"] == len(m.duplicate_ids) > 0
    assert kinds["malformed"] == len(m.malformed) > 0
    assert m.emitted == len(emissions) == sum(kinds.values())
    # roughly the configured rates (seeded, so exact but not brittle to assert exactly)
    assert 0.03 < len(m.duplicate_ids) / CFG.events < 0.07
    assert 0.01 < len(m.malformed) / len(emissions) < 0.03


def test_duplicates_repeat_an_earlier_event(run: tuple[list, Manifest]) -> None:
    emissions, _ = run
    first = {}
    for e in emissions:
        if e.kind == "valid":
            first[e.event.event_id] = e
        elif e.kind == "duplicate":
            orig = first[e.event.event_id]  # KeyError if a duplicate precedes its original
            assert e.event.event_ts == orig.event.event_ts
            assert e.event.ingest_ts > orig.event.ingest_ts


def test_late_events_are_behind_the_watermark(run: tuple[list, Manifest]) -> None:
    emissions, m = run
    late = set(m.late_ids)
    assert late
    newest = -1
    for e in emissions:
        if e.kind != "valid":
            continue
        if e.event.event_id in late:
            assert e.event.event_ts < newest - ALLOWED_LATENESS_MS
        elif e.event.event_id in set(m.out_of_order_ids):
            assert e.event.delay_ms < ALLOWED_LATENESS_MS
        newest = max(newest, e.event.event_ts)


def test_malformed_records_break_the_contract(run: tuple[list, Manifest]) -> None:
    emissions, _ = run
    reasons = Counter()
    for e in emissions:
        if e.kind == "malformed":
            with pytest.raises(ContractViolation) as info:
                parse_event(e.raw)
            reasons[info.value.reason] += 1
            assert info.value.reason == e.malformed_kind
        else:
            parse_event(e.raw)
    assert set(reasons) == {"invalid_json", "missing_field", "bad_type", "unknown_enum", "bad_value"}


def test_same_seed_same_data() -> None:
    a = [e.raw for e in Generator(GeneratorConfig(events=500, seed=3)).emissions()]
    b = [e.raw for e in Generator(GeneratorConfig(events=500, seed=3)).emissions()]
    c = [e.raw for e in Generator(GeneratorConfig(events=500, seed=4)).emissions()]
    assert a == b
    assert a != c


def test_files_and_lake(tmp_path: Path) -> None:
    gen = Generator(GeneratorConfig(events=2_000, rate_per_s=0.01))  # spans ~2 days
    settings = Settings(data_dir=tmp_path, home=tmp_path / "home")
    run_dir = generate_to_files(gen, settings, "r1")
    m = Manifest.read(run_dir / "manifest.json")
    assert (run_dir / "events.jsonl").read_bytes().count(b"\n") == m.emitted
    sql, state = events_sql(settings)
    assert state.snapshots == 1  # one append, one commit
    total, distinct, days = duckdb.sql(
        f"select count(*), count(distinct event_id), count(distinct event_date) from ({sql})"
    ).fetchall()[0]
    assert total == m.valid_emissions
    assert distinct == len(m.unique_ids)
    assert days >= 2
    items = duckdb.sql(f"select count(*) from '{tmp_path}/lake/dims/items.parquet'").fetchall()[0]
    assert items == (gen.cfg.items,)


@pytest.mark.parametrize(
    "bad",
    [{"events": 0}, {"late_rate": 1.2}, {"rate_per_s": 0}, {"late_rate": 0.6, "out_of_order_rate": 0.5}],
)
def test_bad_config_is_rejected(bad: dict) -> None:
    with pytest.raises(ConfigError):
        GeneratorConfig(**bad)
