"""Small manifest.json documents for the gate's unit tests (the shape dbt 1.11 writes, trimmed)."""

from __future__ import annotations

from typing import Any


def model(
    name: str,
    columns: dict[str, str],
    *,
    version: int | None = 1,
    latest: int | None = 1,
    enforced: bool = True,
    alias: str | None = None,
    deprecation: str | None = None,
    materialized: str = "table",
) -> tuple[str, dict[str, Any]]:
    uid = f"model.starlab.{name}" + (f".v{version}" if version is not None else "")
    node = {
        "resource_type": "model",
        "name": name,
        "version": version,
        "latest_version": latest,
        "contract": {"enforced": enforced, "checksum": "x"},
        "config": {"materialized": materialized, "contract": {"enforced": enforced}},
        "columns": {c: {"name": c, "data_type": t, "constraints": []} for c, t in columns.items()},
        "constraints": [],
        "relation_name": f'"warehouse"."marts"."{alias or name}"',
        "deprecation_date": deprecation,
        "original_file_path": f"models/marts/{name}.sql",
        "patch_path": f"starlab://models/marts/_{name}.yml",
    }
    return uid, node


def manifest(
    *models: tuple[str, dict[str, Any]], child_map: dict[str, list[str]] | None = None
) -> dict[str, Any]:
    return {
        "nodes": dict(models),
        "sources": {"source.starlab.lake.events": {"source_name": "lake", "name": "events"}},
        "exposures": {
            "exposure.starlab.sales_daily_report": {"name": "sales_daily_report"},
            "exposure.starlab.ranking_api": {"name": "ranking_api"},
        },
        "child_map": child_map or {},
    }
