"""Feature groups of the offline store: names, types and the TTL each group is joined with.

Backs story 4's point-in-time claim ("0% leakage on 3 labeled datasets"):
the TTL of a group is part of the as-of rule (a version older than
`label_ts - ttl` counts as missing), so it lives next to the feature types
and is handed unchanged to starlab's join, the leakage check and Feast's
FeatureView. Feature names are unique across groups because the history is
one wide table (one typed, nullable column per feature).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

import pyarrow as pa

from feature_cache.errors import FeatureCacheConfigError

__all__ = [
    "ACTIVITY",
    "DEFAULT_SCHEMA",
    "PROFILE",
    "FeatureGroup",
    "FeatureSchema",
    "FeatureSpec",
    "FeatureType",
    "FeatureValue",
]

FeatureValue = int | float | str | bool | None
"""One feature's value as Python sees it; None is a missing value."""

_IDENT = re.compile(r"[a-z][a-z0-9_]{0,62}")
"""Names become SQL columns and Feast field names: lower snake case, no quoting needed."""

_RESERVED = frozenset(
    {"seq", "user_id", "feature_group", "event_ts", "created_ts", "spine_id", "label_ts", "label"}
)


class FeatureType(StrEnum):
    """A feature's storage type; the same four exist in DuckDB, Arrow and Feast."""

    INT64 = "int64"
    FLOAT64 = "float64"
    STRING = "string"
    BOOL = "bool"

    @property
    def duckdb(self) -> str:
        return {"int64": "BIGINT", "float64": "DOUBLE", "string": "VARCHAR", "bool": "BOOLEAN"}[self.value]

    @property
    def arrow(self) -> pa.DataType:
        return {
            "int64": pa.int64(),
            "float64": pa.float64(),
            "string": pa.string(),
            "bool": pa.bool_(),
        }[self.value]


@dataclass(frozen=True)
class FeatureSpec:
    """One feature column."""

    name: str
    dtype: FeatureType


@dataclass(frozen=True)
class FeatureGroup:
    """Features written together as one version, with the TTL they are joined with."""

    name: str
    ttl: timedelta
    """A version whose event_ts is older than `label_ts - ttl` counts as missing (exactly ttl is kept)."""
    features: tuple[FeatureSpec, ...]

    def __post_init__(self) -> None:
        if not _IDENT.fullmatch(self.name):
            raise FeatureCacheConfigError(f"feature group name {self.name!r} must match {_IDENT.pattern}")
        if self.ttl <= timedelta(0):
            raise FeatureCacheConfigError(f"feature group {self.name!r}: ttl must be > 0, got {self.ttl}")
        if not self.features:
            raise FeatureCacheConfigError(f"feature group {self.name!r} has no features")
        for f in self.features:
            if not _IDENT.fullmatch(f.name) or f.name in _RESERVED:
                raise FeatureCacheConfigError(
                    f"feature {self.name}.{f.name}: name must match {_IDENT.pattern} and not be one of "
                    f"{sorted(_RESERVED)}"
                )

    @property
    def ttl_us(self) -> int:
        """TTL in microseconds, the resolution of the history's timestamps."""
        return self.ttl // timedelta(microseconds=1)

    @property
    def feature_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.features)


@dataclass(frozen=True)
class FeatureSchema:
    """All groups of one history table; feature names are unique across groups."""

    groups: tuple[FeatureGroup, ...]

    def __post_init__(self) -> None:
        if not self.groups:
            raise FeatureCacheConfigError("a feature schema needs at least one group")
        seen_groups: set[str] = set()
        seen_features: dict[str, str] = {}
        for g in self.groups:
            if g.name in seen_groups:
                raise FeatureCacheConfigError(f"feature group {g.name!r} is defined twice")
            seen_groups.add(g.name)
            for f in g.features:
                if f.name in seen_features:
                    raise FeatureCacheConfigError(
                        f"feature {f.name!r} is in groups {seen_features[f.name]!r} and {g.name!r}; "
                        "names must be unique (one column per feature in the history table)"
                    )
                seen_features[f.name] = g.name

    def group(self, name: str) -> FeatureGroup:
        for g in self.groups:
            if g.name == name:
                return g
        raise FeatureCacheConfigError(
            f"unknown feature group {name!r}; known: {', '.join(g.name for g in self.groups)}"
        )

    @property
    def group_names(self) -> tuple[str, ...]:
        return tuple(g.name for g in self.groups)

    @property
    def features(self) -> tuple[FeatureSpec, ...]:
        return tuple(f for g in self.groups for f in g.features)


# The ten features of the story's serving path (1 entity x 10 features): a
# fast-changing group recomputed from sliding windows and a slowly changing
# profile. The TTLs are the offline join's: 10 minutes keeps a 5-minute
# window feature from being served long after the stream stopped updating it
# (twice the online cache's default 5-minute TTL, so a value the cache could
# still hold is never "missing" offline); a profile is valid for a day.
ACTIVITY = FeatureGroup(
    name="activity",
    ttl=timedelta(minutes=10),
    features=(
        FeatureSpec("clicks_5m", FeatureType.INT64),
        FeatureSpec("views_5m", FeatureType.INT64),
        FeatureSpec("ctr_1h", FeatureType.FLOAT64),
        FeatureSpec("dwell_ms_p50_1h", FeatureType.FLOAT64),
        FeatureSpec("last_item_id", FeatureType.STRING),
        FeatureSpec("last_category", FeatureType.STRING),
    ),
)
PROFILE = FeatureGroup(
    name="profile",
    ttl=timedelta(days=1),
    features=(
        FeatureSpec("country", FeatureType.STRING),
        FeatureSpec("account_tier", FeatureType.STRING),
        FeatureSpec("account_age_days", FeatureType.INT64),
        FeatureSpec("is_premium", FeatureType.BOOL),
    ),
)
DEFAULT_SCHEMA = FeatureSchema(groups=(ACTIVITY, PROFILE))
