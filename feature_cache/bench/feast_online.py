"""Feast 0.67's online read for the serving bench; runs inside Feast's own venv, never imported by starlab.

Backs issue 9's performance line "in-process feature read (one user, 10
features) against Feast 0.67's get_online_features for the same features on
the same Redis": `python feast_online.py CONFIG.json` defines one entity and
one FeatureView per feature group (the groups and values starlab serves),
writes one row per view straight to the Redis online store
(`write_to_online_store`: no offline source or materialization window to
get wrong), then times `get_online_features(...).to_dict()` for one user:
latency percentiles (nearest rank) and client CPU (process time) per call,
written to the result JSON.

With `"interactive": true` the timing is driven from stdin instead, so the
caller can interleave Feast's blocks with its own on a shared box (drift
then hits both alike): after the set-up it prints `{"ready": ...}`; each
line `N` runs N timed calls and prints `{"ns": [...], "cpu_s": ...}`; an
empty line or EOF ends it.

Only the standard library, Feast and what Feast depends on (pandas) are
imported: Feast needs pandas < 3, redis < 8 and tenacity < 9, which the
project's lock cannot hold (see feature_cache/offline/feast_job.py).
"""

from __future__ import annotations

import json
import math
import sys
import time
import traceback
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any


def _pct(sorted_values: list[float], q: float) -> float:
    k = max(0, min(len(sorted_values) - 1, math.ceil(q / 100 * len(sorted_values)) - 1))
    return sorted_values[k]


def run(cfg: dict[str, Any]) -> dict[str, Any]:
    import feast
    import pandas as pd
    from feast import Entity, FeatureStore, FeatureView, Field, FileSource, RepoConfig, ValueType
    from feast.types import Bool, Float64, Int64, String

    types = {"int": Int64, "float": Float64, "str": String, "bool": Bool}
    repo = Path(cfg["repo_dir"])
    repo.mkdir(parents=True, exist_ok=True)
    store = FeatureStore(
        config=RepoConfig(
            project="starlab_serving",
            registry=str(repo / "registry.db"),
            provider="local",
            online_store={"type": "redis", "connection_string": f"{cfg['host']}:{cfg['port']}"},
            offline_store={"type": "dask"},
            entity_key_serialization_version=3,
            repo_path=repo,
        )
    )
    user = Entity(name="user", join_keys=["user_id"], value_type=ValueType.STRING)
    now = datetime.now(UTC)
    objects: list[Any] = [user]
    frames: dict[str, Any] = {}
    refs: list[str] = []
    for g in cfg["groups"]:
        # A FileSource is required by the FeatureView; it is never read (rows go straight online).
        source_path = repo / f"{g['name']}.parquet"
        row = {"user_id": cfg["user_id"], "event_ts": now, "created_ts": now}
        row.update({f["name"]: f["value"] for f in g["fields"]})
        frame = pd.DataFrame([row])
        frame.to_parquet(source_path)
        frames[g["name"]] = frame
        objects.append(
            FeatureView(
                name=g["name"],
                entities=[user],
                ttl=timedelta(seconds=g["ttl_s"]),
                schema=[Field(name=f["name"], dtype=types[f["type"]]) for f in g["fields"]],
                source=FileSource(
                    name=f"{g['name']}_src",
                    path=str(source_path),
                    timestamp_field="event_ts",
                    created_timestamp_column="created_ts",
                ),
                online=True,
            )
        )
        refs.extend(f"{g['name']}:{f['name']}" for f in g["fields"])
    store.apply(objects)
    for name, frame in frames.items():
        store.write_to_online_store(name, frame)
    rows = [{"user_id": cfg["user_id"]}]

    def read() -> dict[str, Any]:
        result: dict[str, Any] = store.get_online_features(features=refs, entity_rows=rows).to_dict()
        return result

    sample = read()
    missing = [r for r in refs if sample.get(r.split(":")[1], [None])[0] is None]
    for _ in range(int(cfg["warmup"])):
        read()
    if cfg.get("interactive"):
        print(json.dumps({"ready": True, "feast_version": feast.__version__, "missing": missing}), flush=True)
        for line in sys.stdin:
            if not line.strip():
                break
            block: list[int] = []
            c0 = time.process_time()
            for _ in range(int(line)):
                t0 = time.perf_counter_ns()
                read()
                block.append(time.perf_counter_ns() - t0)
            print(json.dumps({"ns": block, "cpu_s": time.process_time() - c0}), flush=True)
        return {"interactive": True}
    samples: list[int] = []
    cpu0 = time.process_time()
    for _ in range(int(cfg["calls"])):
        t0 = time.perf_counter_ns()
        read()
        samples.append(time.perf_counter_ns() - t0)
    cpu = time.process_time() - cpu0
    us = sorted(s / 1000 for s in samples)
    return {
        "feast_version": feast.__version__,
        "features": len(refs),
        "missing": missing,
        "calls": len(us),
        "p50_us": _pct(us, 50),
        "p95_us": _pct(us, 95),
        "p99_us": _pct(us, 99),
        "cpu_us_per_call": cpu / len(us) * 1e6,
        "sample": {k: v[0] for k, v in sample.items()},
    }


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: feast_online.py CONFIG.json", file=sys.stderr)
        return 2
    cfg = json.loads(Path(argv[1]).read_text())
    try:
        out = run(cfg)
    except Exception as exc:  # reported in the result, so the caller prints one line
        out = {"error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()[-3000:]}
    Path(cfg["result_json"]).write_text(json.dumps(out, default=str, indent=2))
    return 1 if "error" in out else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
