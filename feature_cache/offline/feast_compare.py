"""Feast 0.67 on the same history and spine as starlab's join: its venv, the exports, the runs, the read-back.

Backs story 4's "point-in-time correctness (0% leakage on 3 labeled
datasets)" with the comparison the story's build-vs-buy decision needs: the
same leakage check (leakage.py) applied to Feast's `get_historical_features`
run twice (default, and with `filter_by_created_timestamp=True`, a parameter
verified in Feast's source and reported by the job from the signature at run
time) next to starlab's. Optionally times Feast's `get_online_features`
against a plain redis-py HMGET (1 entity x 10 features) on a private
redis-server started here on a free port and stopped afterwards.

Feast cannot share the project's environment (it needs pandas < 3,
redis < 8, tenacity < 9), so it lives in `<home>/venvs/feast`, built with uv
from `feast-requirements.txt` (compiled from `feast-requirements.in`), and
runs `feast_job.py` as a subprocess; JSON and Parquet are the only contact.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from feature_cache.errors import FeatureCacheConfigError, FeatureCacheError
from feature_cache.offline.asof import seq_column
from feature_cache.offline.feast_docs import (
    D,
    FeastFacts,
    LatencyDoc,
    OfflineResult,
    OnlineResult,
    read_doc,
)
from feature_cache.offline.history import HISTORY_TABLE, HistoryStore
from feature_cache.offline.schema import FeatureSchema

__all__ = [
    "FEAST_JOB",
    "FEAST_REQUIREMENTS",
    "DatasetExport",
    "Engine",
    "FeastFacts",
    "FeastOffline",
    "FeastRun",
    "LatencyStats",
    "OnlineBench",
    "default_feast_venv",
    "ensure_feast_venv",
    "export_dataset",
    "load_feast_output",
    "run_feast_offline",
    "run_online_bench",
    "value_errors",
]

HERE = Path(__file__).resolve().parent
FEAST_REQUIREMENTS = HERE / "feast-requirements.txt"
FEAST_JOB = HERE / "feast_job.py"
RESERVED_PORTS = frozenset({6379, 6380, 8000, 8081, 9092, 9093})
"""Ports of the shared stack; the private bench Redis never takes one of them."""


class Engine(StrEnum):
    """The three as-of joins compared."""

    STARLAB = "starlab"
    FEAST_DEFAULT = "feast"
    FEAST_CREATED = "feast+created_filter"


FEAST_RUNS: tuple[tuple[Engine, bool], ...] = ((Engine.FEAST_DEFAULT, False), (Engine.FEAST_CREATED, True))
"""Feast engines and their `filter_by_created_timestamp` value."""


@dataclass(frozen=True)
class FeastRun:
    dataset: str
    engine: Engine
    rows: int
    seconds: float
    parquet: str | None
    error: str | None


@dataclass(frozen=True)
class FeastOffline:
    facts: FeastFacts
    runs: tuple[FeastRun, ...]
    seconds: float
    """Wall time of the subprocess, Feast's import and registry included."""


@dataclass(frozen=True)
class LatencyStats:
    calls: int
    p50_us: float
    p95_us: float
    p99_us: float
    cpu_us_per_call: float
    """Client CPU (process time) per call."""


@dataclass(frozen=True)
class OnlineBench:
    """Feast `get_online_features` vs redis-py HMGET, 1 entity x `features` features, same Redis."""

    features: int
    feast: LatencyStats
    redis_hmget: LatencyStats
    redis_port: int
    feast_missing: tuple[str, ...]
    """Features Feast returned as None for the entity (should be empty)."""


@dataclass(frozen=True)
class DatasetExport:
    """Parquet files of one dataset for the Feast job."""

    name: str
    repo_dir: Path
    spine_parquet: Path
    group_parquets: dict[str, Path]
    out_dir: Path


def default_feast_venv(home: Path) -> Path:
    """`<home>/venvs/feast`, next to the Flink venv (`.starlab/`, git-ignored)."""
    return home / "venvs" / "feast"


def _uv() -> str:
    # The project's venv carries uv (dev group); a PATH uv works as well.
    uv = Path(sys.executable).with_name("uv")
    found = str(uv) if uv.exists() else shutil.which("uv")
    if not found:
        raise FeatureCacheConfigError("`uv` is needed to build Feast's venv: install the dev group (uv sync)")
    return found


def ensure_feast_venv(venv: Path) -> Path:
    """Create (or reuse) Feast's venv from the locked requirements; returns its python."""
    python = venv / "bin" / "python"
    stamp = venv / ".requirements-sha"
    want = hashlib.sha256(FEAST_REQUIREMENTS.read_bytes()).hexdigest()
    if python.exists() and stamp.exists() and stamp.read_text() == want:
        return python
    uv = _uv()
    for cmd in (
        [uv, "venv", "-q", "--allow-existing", "--python", "3.11", str(venv)],
        [uv, "pip", "install", "-q", "--python", str(python), "-r", str(FEAST_REQUIREMENTS)],
    ):
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
        if proc.returncode != 0:
            raise FeatureCacheError(f"building Feast's venv failed: {proc.stderr.strip()[-400:]}")
    stamp.write_text(want)
    return python


def export_dataset(store: HistoryStore, spine: pa.Table, name: str, work_dir: Path) -> DatasetExport:
    """Write the history (one Parquet file per group) and the spine where the Feast job reads them."""
    base = work_dir / "feast" / name
    if base.exists():
        shutil.rmtree(base)  # a stale registry would keep old sources
    base.mkdir(parents=True)
    parquets = {}
    for g in store.schema.groups:
        p = base / f"{g.name}_history.parquet"
        store.export_group_parquet(g.name, p)
        parquets[g.name] = p
    spine_path = base / "spine.parquet"
    pq.write_table(spine, spine_path)
    return DatasetExport(
        name=name,
        repo_dir=base / "repo",
        spine_parquet=spine_path,
        group_parquets=parquets,
        out_dir=base / "out",
    )


def _groups_cfg(export: DatasetExport, schema: FeatureSchema) -> list[dict[str, object]]:
    return [
        {
            "name": g.name,
            "ttl_s": g.ttl.total_seconds(),
            "parquet": str(export.group_parquets[g.name]),
            "features": [{"name": f.name, "dtype": f.dtype.value} for f in g.features],
        }
        for g in schema.groups
    ]


def _run_job(python: Path, cfg: dict[str, object], work_dir: Path, timeout_s: float, model: type[D]) -> D:
    """Run `feast_job.py` on `cfg` in Feast's venv and read its result file as `model`."""
    work_dir.mkdir(parents=True, exist_ok=True)
    cfg_path = work_dir / f"feast_{cfg['mode']}_config.json"
    result_path = work_dir / f"feast_{cfg['mode']}_result.json"
    result_path.unlink(missing_ok=True)
    cfg_path.write_text(json.dumps({**cfg, "result_json": str(result_path)}, indent=2))
    try:
        proc = subprocess.run(
            [str(python), str(FEAST_JOB), str(cfg_path)], capture_output=True, text=True, timeout=timeout_s
        )
    except subprocess.TimeoutExpired as exc:
        raise FeatureCacheError(f"the Feast job took longer than {timeout_s:.0f} s") from exc
    if not result_path.exists():
        raise FeatureCacheError(
            f"the Feast job wrote no result (exit {proc.returncode}): {proc.stderr[-600:]}"
        )
    text = result_path.read_text()
    try:
        failed = json.loads(text).get("error")
    except (ValueError, AttributeError):
        failed = None  # not a JSON object: read_doc says what is wrong with it
    if failed is not None:
        raise FeatureCacheError(f"the Feast job failed: {failed}")
    return read_doc(model, text, result_path)


def run_feast_offline(
    python: Path,
    exports: Sequence[DatasetExport],
    schema: FeatureSchema,
    work_dir: Path,
    timeout_s: float = 1200.0,
) -> FeastOffline:
    """Both Feast runs on every exported dataset, in one subprocess."""
    cfg: dict[str, object] = {
        "mode": "offline",
        "datasets": [
            {
                "name": e.name,
                "repo_dir": str(e.repo_dir),
                "groups": _groups_cfg(e, schema),
                "spine_parquet": str(e.spine_parquet),
                "out_dir": str(e.out_dir),
            }
            for e in exports
        ],
        "runs": [{"name": engine.value, "filter_by_created_timestamp": flag} for engine, flag in FEAST_RUNS],
    }
    t0 = time.perf_counter()
    result = _run_job(python, cfg, work_dir, timeout_s, OfflineResult)
    seconds = time.perf_counter() - t0
    runs = tuple(
        FeastRun(
            dataset=ds.name,
            engine=Engine(r.name),
            # A failed run has no output; its figures are 0 and `error` says why (RunDoc checks the rest).
            rows=r.rows or 0,
            seconds=r.seconds or 0.0,
            parquet=r.parquet,
            error=r.error,
        )
        for ds in result.datasets
        for r in ds.runs
    )
    return FeastOffline(facts=result.facts, runs=runs, seconds=round(seconds, 2))


def load_feast_output(run: FeastRun, groups: Sequence[str]) -> pa.Table:
    """A Feast result in the neutral shape: spine_id, `<g>__seq` (from version_seq), `<g>__<feature>`."""
    if run.parquet is None:
        raise FeatureCacheError(f"Feast run {run.engine} on {run.dataset} has no output: {run.error}")
    table = pq.read_table(run.parquet)
    names = [c.replace("__version_seq", "__seq") for c in table.column_names]
    table = table.rename_columns(names)
    for g in groups:
        i = table.schema.get_field_index(seq_column(g))
        if i < 0:
            raise FeatureCacheError(f"Feast output lacks {g}__version_seq")
        # pandas turns a nullable int column into float64; the seq values are exact in a double.
        table = table.set_column(i, seq_column(g), table.column(i).cast(pa.int64()))
    spine_i = table.schema.get_field_index("spine_id")
    return table.set_column(spine_i, "spine_id", table.column(spine_i).cast(pa.int64()))


def value_errors(
    con: duckdb.DuckDBPyConnection, output: pa.Table, schema: FeatureSchema, history: str = HISTORY_TABLE
) -> int:
    """Cells whose returned value differs from the history row of the chosen seq (NULL row -> NULL value).

    A sanity check on the read-back path (Parquet, pandas dtypes): engines are
    compared by the version they chose, so the values must belong to it.
    """
    parts = []
    for g in schema.groups:
        seq = seq_column(g.name)
        for f in g.features:
            col = f"{g.name}__{f.name}"
            if col not in output.column_names:
                continue
            parts.append(
                f"SELECT count(*) FROM _ve_out o LEFT JOIN {history} h ON h.seq = o.{seq} "
                f"WHERE TRY_CAST(o.{col} AS {f.dtype.duckdb}) IS DISTINCT FROM h.{f.name}"
            )
    if not parts:
        return 0
    con.register("_ve_out", output)
    try:
        rows = con.execute("SELECT " + " + ".join(f"({p})" for p in parts)).fetchall()
    finally:
        con.unregister("_ve_out")
    return int(rows[0][0])


# --- online read bench (private Redis) ---------------------------------------


def _free_port() -> int:
    for _ in range(20):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if port not in RESERVED_PORTS:
            return port
    raise FeatureCacheError("no free port for the private Redis")


@contextlib.contextmanager
def private_redis(work_dir: Path) -> Iterator[int]:
    """A redis-server of our own on a free loopback port, no persistence; stopped on exit."""
    import redis

    binary = shutil.which("redis-server")
    if binary is None:
        raise FeatureCacheConfigError("redis-server is not installed; the online bench needs one of its own")
    port = _free_port()
    data = Path(tempfile.mkdtemp(prefix="feast-redis-", dir=work_dir))
    proc = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(data),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        client = redis.Redis(host="127.0.0.1", port=port)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise FeatureCacheError(f"private redis-server on port {port} did not start") from None
                time.sleep(0.05)
        client.close()
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(data, ignore_errors=True)


def run_online_bench(
    python: Path,
    export: DatasetExport,
    schema: FeatureSchema,
    work_dir: Path,
    user_id: str,
    window: tuple[datetime, datetime],
    calls: int = 2000,
    timeout_s: float = 600.0,
) -> OnlineBench:
    """Materialize `export` into a private Redis and time both reads of `user_id`'s features."""
    with private_redis(work_dir) as port:
        start, end = window
        cfg: dict[str, object] = {
            "mode": "online",
            "repo_dir": str(work_dir / "feast_online_repo"),
            "groups": _groups_cfg(export, schema),
            "redis": {"host": "127.0.0.1", "port": port},
            "materialize_start": (start - timedelta(days=2)).isoformat(),
            "materialize_end": (end + timedelta(days=1)).isoformat(),
            "user_id": user_id,
            "calls": calls,
            "warmup": max(50, calls // 10),
        }
        shutil.rmtree(work_dir / "feast_online_repo", ignore_errors=True)
        online = _run_job(python, cfg, work_dir, timeout_s, OnlineResult).online

    def stats(doc: LatencyDoc) -> LatencyStats:
        return LatencyStats(
            calls=doc.calls,
            p50_us=doc.p50_us,
            p95_us=doc.p95_us,
            p99_us=doc.p99_us,
            cpu_us_per_call=doc.cpu_us_per_call,
        )

    return OnlineBench(
        features=online.features,
        feast=stats(online.feast_get_online_features),
        redis_hmget=stats(online.redis_hmget),
        redis_port=port,
        feast_missing=tuple(online.feast_missing),
    )
