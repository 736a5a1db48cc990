"""Feast 0.67's side of the point-in-time comparison; runs inside Feast's own venv, never imported by starlab.

Backs story 4's "point-in-time correctness (0% leakage on 3 labeled
datasets)" by running the managed-style candidate (Feast) on the same data as
starlab's join: `python feast_job.py CONFIG.json` reads Parquet exports of
the feature history and the spine, defines one FileSource and FeatureView per
feature group (event_ts as the timestamp field, created_ts as the created
timestamp column, the same TTL), runs `get_historical_features` once per
requested run and writes each result to Parquet plus a JSON summary. With
`online`, it also materializes to a Redis given in the config and times
`get_online_features` against a plain redis-py HMGET.

Only the standard library, Feast and what Feast depends on (pandas, pyarrow,
redis-py) are imported: Feast 0.67 needs pandas < 3, redis < 8 and
tenacity < 9, which the project's lock cannot hold, so this file is the whole
interface between the two environments (JSON and Parquet in, JSON and
Parquet out).
"""

from __future__ import annotations

import inspect
import json
import math
import sys
import time
import traceback
from datetime import timedelta
from pathlib import Path
from typing import Any


def _percentile(sorted_values: list[float], q: float) -> float:
    # Nearest-rank percentile: exact on the sample, no interpolation.
    if not sorted_values:
        return float("nan")
    k = max(0, min(len(sorted_values) - 1, math.ceil(q / 100 * len(sorted_values)) - 1))
    return sorted_values[k]


def _latency(samples_ns: list[int], cpu_s: float) -> dict[str, float]:
    us = sorted(s / 1000 for s in samples_ns)
    return {
        "calls": float(len(us)),
        "p50_us": round(_percentile(us, 50), 1),
        "p95_us": round(_percentile(us, 95), 1),
        "p99_us": round(_percentile(us, 99), 1),
        "cpu_us_per_call": round(cpu_s / len(us) * 1e6, 1) if us else float("nan"),
    }


def _build_store(cfg: dict[str, Any], online_store: dict[str, Any]) -> tuple[Any, list[str], list[str]]:
    from feast import Entity, FeatureStore, FeatureView, Field, FileSource, RepoConfig, ValueType
    from feast.types import Bool, Float64, Int64, String

    types = {"int64": Int64, "float64": Float64, "string": String, "bool": Bool}
    repo = Path(cfg["repo_dir"])
    repo.mkdir(parents=True, exist_ok=True)
    config = RepoConfig(
        project="starlab_pit",
        registry=str(repo / "registry.db"),
        provider="local",
        offline_store={"type": "dask"},
        online_store=online_store,
        entity_key_serialization_version=3,
        repo_path=repo,
    )
    store = FeatureStore(config=config)
    user = Entity(name="user", join_keys=["user_id"], value_type=ValueType.STRING)
    objects: list[Any] = [user]
    refs: list[str] = []
    value_refs: list[str] = []
    for g in cfg["groups"]:
        source = FileSource(
            name=f"{g['name']}_history",
            path=g["parquet"],
            timestamp_field="event_ts",
            created_timestamp_column="created_ts",
        )
        fields = [Field(name="version_seq", dtype=Int64)] + [
            Field(name=f["name"], dtype=types[f["dtype"]]) for f in g["features"]
        ]
        objects.append(
            FeatureView(
                name=g["name"],
                entities=[user],
                ttl=timedelta(seconds=g["ttl_s"]),
                schema=fields,
                source=source,
                online=True,
            )
        )
        refs.append(f"{g['name']}:version_seq")
        for f in g["features"]:
            refs.append(f"{g['name']}:{f['name']}")
            value_refs.append(f"{g['name']}:{f['name']}")
    store.apply(objects)
    return store, refs, value_refs


def _facts() -> dict[str, Any]:
    import feast
    from feast import FeatureStore
    from feast.infra.offline_stores.dask import DaskOfflineStore

    params = inspect.signature(FeatureStore.get_historical_features).parameters
    name = "filter_by_created_timestamp"
    return {
        "feast_version": feast.__version__,
        "param_name": name,
        "param_in_signature": name in params,
        "param_default": repr(params[name].default) if name in params else None,
        "dask_store_supports_param": bool(
            getattr(DaskOfflineStore, "supports_filter_by_created_timestamp", False)
        ),
        "feature_store_file": inspect.getsourcefile(FeatureStore) or "",
    }


def run_offline(cfg: dict[str, Any]) -> dict[str, Any]:
    """Every dataset of the config, each with every run; one process so Feast is imported once."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    results = []
    for ds in cfg["datasets"]:
        store, refs, _ = _build_store(ds, {"type": "sqlite", "path": str(Path(ds["repo_dir"]) / "online.db")})
        spine = pq.read_table(ds["spine_parquet"]).to_pandas()
        entity_df = pd.DataFrame(
            {
                "spine_id": spine["spine_id"].astype("int64"),
                "user_id": spine["user_id"].astype(str),
                "event_timestamp": pd.to_datetime(spine["label_ts"], utc=True),
            }
        )
        runs = []
        for run in cfg["runs"]:
            kwargs: dict[str, Any] = {}
            if run["filter_by_created_timestamp"]:
                kwargs["filter_by_created_timestamp"] = True
            t0 = time.perf_counter()
            try:
                df = store.get_historical_features(
                    entity_df=entity_df.copy(), features=refs, full_feature_names=True, **kwargs
                ).to_df()
            except Exception as exc:  # reported, not raised: the other runs still count
                runs.append({"name": run["name"], "error": f"{type(exc).__name__}: {exc}", "rows": 0})
                continue
            seconds = time.perf_counter() - t0
            keep = ["spine_id"] + [c for c in df.columns if "__" in c]
            out = Path(ds["out_dir"]) / f"{run['name']}.parquet"
            out.parent.mkdir(parents=True, exist_ok=True)
            # Nullable integer/boolean columns come back as float/object; Arrow keeps nulls as nulls.
            pq.write_table(pa.Table.from_pandas(df[keep].reset_index(drop=True), preserve_index=False), out)
            runs.append(
                {"name": run["name"], "rows": len(df), "seconds": round(seconds, 4), "parquet": str(out)}
            )
        results.append({"name": ds["name"], "runs": runs})
    return {"datasets": results}


def run_online(cfg: dict[str, Any]) -> dict[str, Any]:
    import pandas as pd
    import redis

    host, port = cfg["redis"]["host"], int(cfg["redis"]["port"])
    store, _, value_refs = _build_store(cfg, {"type": "redis", "connection_string": f"{host}:{port}"})
    store.materialize(
        start_date=pd.Timestamp(cfg["materialize_start"]).to_pydatetime(),
        end_date=pd.Timestamp(cfg["materialize_end"]).to_pydatetime(),
    )
    user_id = cfg["user_id"]
    calls, warmup = int(cfg.get("calls", 2000)), int(cfg.get("warmup", 200))
    rows = [{"user_id": user_id}]

    def feast_read() -> dict[str, Any]:
        return store.get_online_features(features=value_refs, entity_rows=rows).to_dict()

    sample = feast_read()
    missing = [r for r in value_refs if sample.get(r.split(":")[1], [None])[0] is None]

    client = redis.Redis(host=host, port=port)
    key = f"starlab:bench:user:{user_id}"
    fields = [r.split(":")[1] for r in value_refs]
    client.hset(key, mapping={f: str(sample.get(f, [""])[0]) for f in fields})

    def raw_read() -> list[Any]:
        return client.hmget(key, fields)

    out: dict[str, Any] = {"features": len(value_refs), "user_id": user_id, "feast_missing": missing}
    for name, fn in (("feast_get_online_features", feast_read), ("redis_hmget", raw_read)):
        for _ in range(warmup):
            fn()
        samples: list[int] = []
        cpu0 = time.process_time()
        for _ in range(calls):
            t0 = time.perf_counter_ns()
            fn()
            samples.append(time.perf_counter_ns() - t0)
        out[name] = _latency(samples, time.process_time() - cpu0)
    client.delete(key)
    client.close()
    return out


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: feast_job.py CONFIG.json", file=sys.stderr)
        return 2
    cfg = json.loads(Path(argv[1]).read_text())
    result: dict[str, Any] = {"facts": _facts()}
    try:
        if cfg["mode"] == "offline":
            result.update(run_offline(cfg))
        elif cfg["mode"] == "online":
            result["online"] = run_online(cfg)
        else:
            raise ValueError(f"unknown mode {cfg['mode']!r}")
    except Exception as exc:
        result["error"] = f"{type(exc).__name__}: {exc}"
        result["traceback"] = traceback.format_exc()[-4000:]
    Path(cfg["result_json"]).write_text(json.dumps(result, indent=2, default=str))
    return 1 if "error" in result else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
