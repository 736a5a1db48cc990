"""The point-in-time run: 3 labeled datasets, starlab's as-of join, the leakage check, Feast beside it.

Backs story 4's "point-in-time correctness (0% leakage on 3 labeled
datasets)" and "backfill speed (rows/sec)": `run_pit` builds each dataset
into its own DuckDB history, joins its spine with starlab's as-of join,
checks every cell with the independent oracle of leakage.py, and (unless
told not to) runs Feast 0.67 twice on Parquet exports of the same data and
checks its output with the same code. It also measures append throughput.
`starlab features pit` prints the table and writes the report as JSON.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
from rich.table import Table

from feature_cache.errors import FeatureCacheError
from feature_cache.offline.asof import build_training_set
from feature_cache.offline.datasets import DATASETS, DatasetSpec, LabeledDataset, build_dataset, load_dataset
from feature_cache.offline.feast_compare import (
    DatasetExport,
    Engine,
    FeastFacts,
    OnlineBench,
    ensure_feast_venv,
    export_dataset,
    load_feast_output,
    run_feast_offline,
    run_online_bench,
    value_errors,
)
from feature_cache.offline.history import BackfillBench, HistoryStore, bench_append
from feature_cache.offline.leakage import CaseCheck, LeakageReport, check_leakage, count_disagreements
from feature_cache.offline.schema import DEFAULT_SCHEMA, FeatureSchema
from starlab.evidence import jsonable

__all__ = [
    "DatasetResult",
    "DatasetSummary",
    "EngineResult",
    "PitReport",
    "feast_findings",
    "pit_table",
    "run_pit",
    "write_report",
]


@dataclass(frozen=True)
class EngineResult:
    """One engine's training set for one dataset, as judged by the leakage check."""

    engine: Engine
    dataset: str
    spine_rows: int
    output_rows: int
    missing_rows: int
    duplicate_rows: int
    cells: int
    leaks: int
    late_ingest_leaks: int
    future_event_leaks: int
    wrong_values: int
    """Non-leaking wrong cells: outside_ttl + skipped_newer + false_null (+ unknown seq)."""
    outside_ttl: int
    skipped_newer: int
    tie_lost: int
    """Of skipped_newer: lost an event_ts tie to a version ingested later (both known at the label)."""
    false_null: int
    shared_label_rows: int
    shared_label_missing: int
    value_errors: int
    nulls: dict[str, int]
    disagreements_vs_starlab: int
    seconds: float
    cases: tuple[CaseCheck, ...]

    @property
    def leak_rate(self) -> float:
        return self.leaks / self.cells if self.cells else 0.0


@dataclass(frozen=True)
class DatasetSummary:
    name: str
    description: str
    seed: int
    history_rows: int
    spine_rows: int
    case_rows: dict[str, int]


@dataclass(frozen=True)
class DatasetResult:
    dataset: DatasetSummary
    engines: tuple[EngineResult, ...]

    def engine(self, engine: Engine) -> EngineResult | None:
        return next((e for e in self.engines if e.engine == engine), None)


@dataclass(frozen=True)
class PitReport:
    """Everything `starlab features pit` measured."""

    datasets: tuple[DatasetResult, ...]
    feast: FeastFacts | None
    feast_note: str | None
    """Why Feast was not run or failed; None when it ran."""
    backfill: BackfillBench | None
    online: OnlineBench | None
    online_note: str | None
    seconds: float
    work_dir: str

    def engine_totals(self, engine: Engine) -> tuple[int, int, int]:
        """(datasets, leaking cells, checked cells) of `engine` over all datasets."""
        runs = [e for d in self.datasets for e in d.engines if e.engine == engine]
        return len(runs), sum(e.leaks for e in runs), sum(e.cells for e in runs)


def _engine_result(
    engine: Engine,
    dataset: str,
    report: LeakageReport,
    value_errs: int,
    disagreements: int,
    seconds: float,
) -> EngineResult:
    return EngineResult(
        engine=engine,
        dataset=dataset,
        spine_rows=report.spine_rows,
        output_rows=report.output_rows,
        missing_rows=report.missing_rows,
        duplicate_rows=report.duplicate_rows,
        cells=report.cells,
        leaks=report.leaks,
        late_ingest_leaks=report.late_ingest_leaks,
        future_event_leaks=report.future_event_leaks,
        wrong_values=report.wrong_values,
        outside_ttl=sum(g.outside_ttl for g in report.groups),
        skipped_newer=sum(g.skipped_newer for g in report.groups),
        tie_lost=sum(g.tie_lost for g in report.groups),
        false_null=sum(g.false_null for g in report.groups),
        shared_label_rows=report.shared_label_rows,
        shared_label_missing=report.shared_label_missing,
        value_errors=value_errs,
        nulls=report.nulls,
        disagreements_vs_starlab=disagreements,
        seconds=seconds,
        cases=report.cases,
    )


def _bench_user(ds: LabeledDataset) -> str:
    """The user with the most versions: a realistic, fully populated entity for the online read."""
    counts: dict[str, int] = {}
    for v in ds.versions:
        counts[v.user_id] = counts.get(v.user_id, 0) + 1
    return max(sorted(counts), key=lambda u: counts[u])


def run_pit(
    work_dir: Path,
    *,
    feast: bool = True,
    feast_venv: Path | None = None,
    online_bench: bool = False,
    online_calls: int = 2000,
    backfill_rows: int = 200_000,
    specs: Sequence[DatasetSpec] = DATASETS,
    schema: FeatureSchema = DEFAULT_SCHEMA,
    progress: Callable[[str], None] = lambda _msg: None,
) -> PitReport:
    """Build, join, check and compare every dataset under `work_dir` (recreated per dataset)."""
    if (feast or online_bench) and feast_venv is None:
        raise FeatureCacheError("run_pit needs feast_venv to run Feast (or feast=False, online_bench=False)")
    t0 = time.perf_counter()
    work_dir.mkdir(parents=True, exist_ok=True)
    stores: list[tuple[LabeledDataset, HistoryStore, pa.Table, float]] = []
    exports: list[DatasetExport] = []
    try:
        for spec in specs:
            progress(f"dataset {spec.name}: generating and loading")
            ds = build_dataset(spec)
            base = work_dir / spec.name
            if base.exists():
                shutil.rmtree(base)
            store = HistoryStore.open(base / "history.duckdb", schema)
            load_dataset(ds, store)
            ts = build_training_set(store.con, ds.spine, schema)
            stores.append((ds, store, ts.table, ts.seconds))
            if feast or online_bench:
                exports.append(export_dataset(store, ds.spine, spec.name, work_dir))

        feast_facts: FeastFacts | None = None
        feast_note: str | None = "skipped (--no-feast)" if not feast else None
        feast_runs = {}
        python = None
        if feast or online_bench:
            assert feast_venv is not None
            progress(f"Feast venv: {feast_venv}")
            python = ensure_feast_venv(feast_venv)
        if feast and python is not None:
            progress("Feast: get_historical_features, default and with filter_by_created_timestamp")
            try:
                offline = run_feast_offline(python, exports, schema, work_dir)
                feast_facts = offline.facts
                feast_runs = {(r.dataset, r.engine): r for r in offline.runs}
            except FeatureCacheError as exc:
                feast_note = f"failed: {exc}"

        results = []
        groups = schema.group_names
        for ds, store, starlab_table, starlab_s in stores:
            name = ds.spec.name
            progress(f"dataset {name}: leakage check")
            rep = check_leakage(store.con, ds.spine, starlab_table, schema)
            engines = [
                _engine_result(
                    Engine.STARLAB,
                    name,
                    rep,
                    value_errors(store.con, starlab_table, schema),
                    0,
                    starlab_s,
                )
            ]
            for engine in (Engine.FEAST_DEFAULT, Engine.FEAST_CREATED):
                run = feast_runs.get((name, engine))
                if run is None or run.error:
                    continue
                out = load_feast_output(run, groups)
                frep = check_leakage(store.con, ds.spine, out, schema)
                engines.append(
                    _engine_result(
                        engine,
                        name,
                        frep,
                        value_errors(store.con, out, schema),
                        count_disagreements(starlab_table, out, groups),
                        run.seconds,
                    )
                )
            results.append(
                DatasetResult(
                    dataset=DatasetSummary(
                        name=name,
                        description=ds.spec.description,
                        seed=ds.spec.seed,
                        history_rows=store.count(),
                        spine_rows=ds.spine.num_rows,
                        case_rows=ds.case_rows,
                    ),
                    engines=tuple(engines),
                )
            )

        online: OnlineBench | None = None
        online_note: str | None = "skipped (pass --online-bench)" if not online_bench else None
        if online_bench and python is not None and stores:
            progress("online read: Feast get_online_features vs redis-py HMGET on a private redis-server")
            ds = stores[0][0]
            label_ts = ds.spine.column("label_ts")
            window = (pc.min(label_ts).as_py(), pc.max(label_ts).as_py())
            try:
                online = run_online_bench(
                    python, exports[0], schema, work_dir, _bench_user(ds), window, calls=online_calls
                )
            except FeatureCacheError as exc:
                online_note = f"failed: {exc}"
    finally:
        for _, store, _, _ in stores:
            store.close()

    backfill = None
    if backfill_rows > 0:
        progress(f"backfill: appending {backfill_rows} rows")
        backfill = bench_append(work_dir / "backfill_bench.duckdb", rows=backfill_rows, schema=schema)

    return PitReport(
        datasets=tuple(results),
        feast=feast_facts,
        feast_note=feast_note,
        backfill=backfill,
        online=online,
        online_note=online_note,
        seconds=round(time.perf_counter() - t0, 2),
        work_dir=str(work_dir),
    )


def pit_table(report: PitReport) -> Table:
    """One row per dataset and engine: rows kept, leaks, wrong values, nulls per group.

    late / future: leaking cells whose version was ingested / valid after the
    label time; wrong: non-leaking cells with the wrong version; ≠ starlab:
    cells (spine row x group) where the engine chose another version or
    dropped the row.
    """
    groups = sorted({g for d in report.datasets for e in d.engines for g in e.nulls})
    table = Table(title="Point-in-time training sets: starlab vs Feast 0.67 (same history, same spine)")
    table.add_column("dataset", no_wrap=True, min_width=16)
    table.add_column("engine", no_wrap=True, min_width=20)
    for col, justify in (
        ("spine rows", "right"),
        ("output rows", "right"),
        ("dropped", "right"),
        ("leaks", "right"),
        ("late", "right"),
        ("future", "right"),
        ("wrong", "right"),
        *((f"nulls {g}", "right") for g in groups),
        ("≠ starlab", "right"),
        ("seconds", "right"),
    ):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for d in report.datasets:
        for e in d.engines:
            leak_style = "red" if e.leaks else "green"
            table.add_row(
                d.dataset.name,
                str(e.engine),
                str(e.spine_rows),
                str(e.output_rows),
                str(e.missing_rows),
                f"[{leak_style}]{e.leaks}[/{leak_style}]",
                str(e.late_ingest_leaks),
                str(e.future_event_leaks),
                str(e.wrong_values),
                *(str(e.nulls.get(g, 0)) for g in groups),
                "—" if e.engine == Engine.STARLAB else str(e.disagreements_vs_starlab),
                f"{e.seconds:.2f}",
            )
        table.add_section()
    return table


def feast_findings(report: PitReport) -> list[str]:
    """Plain sentences read off the numbers: where each Feast run leaked or dropped rows, by case."""
    lines: list[str] = []
    for engine in (Engine.FEAST_DEFAULT, Engine.FEAST_CREATED):
        runs = [e for d in report.datasets for e in d.engines if e.engine == engine]
        if not runs:
            continue
        leaks: dict[str, int] = {}
        dropped: dict[str, tuple[int, int]] = {}
        wrong: dict[str, int] = {}
        for e in runs:
            for c in e.cases:
                leaks[c.case] = leaks.get(c.case, 0) + c.leak_cells
                wrong[c.case] = wrong.get(c.case, 0) + c.wrong_cells
                m, n = dropped.get(c.case, (0, 0))
                dropped[c.case] = (m + c.missing_rows, n + c.spine_rows)

        def fmt(d: dict[str, int]) -> str:
            items = sorted(((v, k) for k, v in d.items() if v), reverse=True)
            return ", ".join(f"{k} {v}" for v, k in items) or "none"

        total_leaks = sum(e.leaks for e in runs)
        late = sum(e.late_ingest_leaks for e in runs)
        lines.append(
            f"{engine}: {total_leaks} leaking cells ({late} from versions ingested after the label time); "
            f"by case: {fmt(leaks)}"
        )
        drop_txt = ", ".join(f"{k} {m}/{n}" for k, (m, n) in sorted(dropped.items()) if m) or "none"
        lines.append(
            f"{engine}: {sum(e.missing_rows for e in runs)} of {sum(e.spine_rows for e in runs)} spine rows "
            f"dropped; by case (dropped/rows): {drop_txt}"
        )
        lines.append(
            f"{engine}: {sum(e.wrong_values for e in runs)} wrong (non-leaking) cells, "
            f"{sum(e.tie_lost for e in runs)} of them an event_ts tie lost to the later ingest, "
            f"{sum(e.outside_ttl for e in runs)} outside the TTL, {sum(e.false_null for e in runs)} NULL "
            f"though a value was known; by case: {fmt(wrong)}"
        )
        lines.append(
            f"{engine}: {sum(e.shared_label_missing for e in runs)} of "
            f"{sum(e.shared_label_rows for e in runs)} spine rows that share (user_id, label_ts) "
            "with another row are missing"
        )
    return lines


def write_report(report: PitReport, path: Path) -> None:
    """The report as JSON (dataclasses flattened; derived leak rates added per engine)."""
    data = jsonable(dataclasses.asdict(report))
    for d_json, d in zip(data["datasets"], report.datasets, strict=True):
        for e_json, e in zip(d_json["engines"], d.engines, strict=True):
            e_json["leak_rate"] = e.leak_rate
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2))
