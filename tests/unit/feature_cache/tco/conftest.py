"""Fixtures of the TCO model's tests: small inputs whose figures are checked by hand.

`small_document(...)` builds a complete inputs document (a plain dict, as
the YAML parser returns it) from a few overrides, so each test states only
the numbers it checks; `small_inputs(...)` is the same document validated;
`write_yaml` puts a document in a file for the CLI tests. Tests get them as
fixtures (pytest runs with --import-mode=importlib: a conftest is not
importable by name).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from feature_cache.tco.inputs import TcoInputs, parse_inputs

WHY = "test assumption"

# Hand-checked case (see test_model.py): build delivers in 13 weeks (3 months),
# buy in 6.5 weeks (1.5 months); a month is 52/12 weeks.
SMALL_OPTIONS: dict[str, dict[str, float]] = {
    "build": {
        "compute_usd_month": 1000,
        "storage_usd_month": 100,
        "egress_usd_month": 100,
        "egress_growth_pct_month": 10,
        "licence_usd_month": 0,
        "labor_usd_year": 12000,
        "build_hours": 60,
        "delivery_weeks": 13,
        "slo_uptime_pct": 99.5,
    },
    "buy": {
        "compute_usd_month": 200,
        "storage_usd_month": 0,
        "egress_usd_month": 100,
        "egress_growth_pct_month": 0,
        "licence_usd_month": 500,
        "labor_usd_year": 2400,
        "build_hours": 15,
        "delivery_weeks": 6.5,
        "slo_uptime_pct": 99.9,
    },
}
SMALL_WEIGHTS = {"cost": 40, "reliability": 30, "time_to_value": 20, "maintainability": 10}
SMALL_SCORING = {
    "uptime_floor_pct": 99.0,
    "uptime_ceiling_pct": 100.0,
    "maintenance_ceiling_hours_month": 100,
}


def _named(values: dict[str, float]) -> dict[str, dict[str, Any]]:
    return {k: {"value": v, "why": WHY} for k, v in values.items()}


def _small_document(
    build: dict[str, float] | None = None,
    buy: dict[str, float] | None = None,
    weights: dict[str, float] | None = None,
    labor_rate_usd_hour: float = 100,
) -> dict[str, Any]:
    """The small case as a YAML-shaped dict, with per-option overrides."""
    options = copy.deepcopy(SMALL_OPTIONS)
    options["build"].update(build or {})
    options["buy"].update(buy or {})
    return {
        "shared": _named({"labor_rate_usd_hour": labor_rate_usd_hour}),
        "options": {name: {"label": f"{name} option", **_named(values)} for name, values in options.items()},
        "weights": _named({**SMALL_WEIGHTS, **(weights or {})}),
        "scoring": _named(SMALL_SCORING),
    }


def _write_yaml(path: Path, document: object) -> Path:
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture
def small_document() -> Callable[..., dict[str, Any]]:
    """Builder of the small case's YAML-shaped dict: `small_document(build={...}, weights={...})`."""
    return _small_document


@pytest.fixture
def small_inputs() -> Callable[..., TcoInputs]:
    """Builder of the small case, validated: `small_inputs(buy={"licence_usd_month": 600})`."""
    return lambda **overrides: parse_inputs(_small_document(**overrides), Path("small.yaml"))


@pytest.fixture
def write_yaml() -> Callable[[Path, object], Path]:
    """Dump a document as YAML to a path and return the path."""
    return _write_yaml
