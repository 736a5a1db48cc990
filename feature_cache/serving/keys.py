"""The served feature view: groups, fields, request types, Redis keys and the text encoding of values.

Backs the 004 story's design B ("precompute features into Redis with a
5-minute TTL ... call an embeddings service for cold/missing features") by
fixing what one user's features are, in both designs:

- `social`, `geo`, `abuse`: slowly changing, from the social-graph, geo and
  abuse services (design A calls them; design B reads them precomputed);
- `embeddings`: the user vector (slow), and `intent`: `session_intent`, the
  fast-changing feature (story: "<8% highly dynamic"); both come from the
  embeddings service, the one design B may call on demand.

Redis layout: the materializer's contract (`feature_cache.precompute.records`):
one hash per (user, group), key `<prefix>:{<user_id>}:<group>`, each group with
its own TTL (Redis 7.0 has no per-field TTL), fields = the group's features
as text plus `_event_ts` (epoch ms the values hold as of), `_emit_ts` and
`_ingest_ts` (epoch ms). Text encoding as there: integers in decimal, floats
in repr, booleans 1/0, None as "". A unit test checks both sides agree.
This module is pure Python on purpose: the serving process must not import
DuckDB or Arrow (the offline schema's types) to read a hash.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from feature_cache.deps.features import AbuseFeatures, EmbeddingFeatures, GeoFeatures, SocialFeatures
from feature_cache.errors import FeatureCacheError

__all__ = [
    "EMIT_TS_FIELD",
    "EVENT_TS_FIELD",
    "INGEST_TS_FIELD",
    "LOW_VALUE_TYPES",
    "ONDEMAND_GROUPS",
    "USER_ID_PATTERN",
    "VIEW",
    "FieldSpec",
    "FieldType",
    "GroupName",
    "GroupSpec",
    "GroupValues",
    "RequestType",
    "Value",
    "decode_value",
    "encode_group",
    "encode_value",
    "group_key",
    "groups_from_embeddings",
    "groups_from_services",
    "spec",
    "ttl_key",
]

EVENT_TS_FIELD = "_event_ts"
EMIT_TS_FIELD = "_emit_ts"
INGEST_TS_FIELD = "_ingest_ts"

USER_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
"""User ids become Redis key segments: no ':' (the key separator), no spaces, bounded."""

Value = int | float | str | bool | tuple[float, ...] | None
"""One feature's value; None when missing; tuples for vectors (the embedding)."""

GroupValues = Mapping[str, Value]


class GroupName(StrEnum):
    SOCIAL = "social"
    EMBEDDINGS = "embeddings"
    INTENT = "intent"
    GEO = "geo"
    ABUSE = "abuse"


class FieldType(StrEnum):
    INT = "int"
    FLOAT = "float"
    STR = "str"
    BOOL = "bool"
    VECTOR = "vector"
    """Floats joined by ',' in one field (a hash field is a string)."""


class RequestType(StrEnum):
    """Notification types the ranking serves; the last two are the low-value ones the story sheds."""

    TRANSACTIONAL = "transactional"
    SOCIAL = "social"
    RECOMMENDATION = "recommendation"
    DIGEST = "digest"
    PROMOTIONAL = "promotional"


LOW_VALUE_TYPES: frozenset[RequestType] = frozenset({RequestType.DIGEST, RequestType.PROMOTIONAL})
"""Story: "Rate-limit lowest-value notification types to protect SLOs"."""


@dataclass(frozen=True)
class FieldSpec:
    name: str
    ftype: FieldType


@dataclass(frozen=True)
class GroupSpec:
    name: GroupName
    fields: tuple[FieldSpec, ...]
    ondemand: bool
    """Supplied by design B's on-demand call (the embeddings service)."""

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)


VIEW: tuple[GroupSpec, ...] = (
    GroupSpec(
        GroupName.SOCIAL,
        (
            FieldSpec("follower_count", FieldType.INT),
            FieldSpec("following_count", FieldType.INT),
            FieldSpec("mutual_friends", FieldType.INT),
            FieldSpec("account_age_days", FieldType.INT),
        ),
        ondemand=False,
    ),
    GroupSpec(GroupName.EMBEDDINGS, (FieldSpec("embedding", FieldType.VECTOR),), ondemand=True),
    GroupSpec(
        GroupName.INTENT,
        (FieldSpec("session_intent", FieldType.STR), FieldSpec("intent_epoch", FieldType.INT)),
        ondemand=True,
    ),
    GroupSpec(
        GroupName.GEO,
        (
            FieldSpec("country", FieldType.STR),
            FieldSpec("city", FieldType.STR),
            FieldSpec("timezone", FieldType.STR),
        ),
        ondemand=False,
    ),
    GroupSpec(
        GroupName.ABUSE,
        (FieldSpec("risk_score", FieldType.FLOAT), FieldSpec("is_flagged", FieldType.BOOL)),
        ondemand=False,
    ),
)
"""13 features in 5 groups; the order is the response's."""

ONDEMAND_GROUPS: frozenset[GroupName] = frozenset(g.name for g in VIEW if g.ondemand)

_BY_NAME = {g.name: g for g in VIEW}


def spec(name: GroupName) -> GroupSpec:
    return _BY_NAME[name]


def group_key(prefix: str, user_id: str, group: GroupName | str) -> str:
    """`<prefix>:{<user_id>}:<group>`: `feature_cache.precompute.records.redis_key`'s layout.

    The braces are a Redis Cluster hash tag (issue 12): only the user id is
    hashed, so a user's groups share one slot and the one-script read (and the
    materializer's per-user write) stays legal on a cluster, while users spread
    over the masters. A standalone Redis ignores them."""
    return f"{prefix}:{{{user_id}}}:{group}"


def ttl_key(prefix: str) -> str:
    """Hash `group -> seconds` where a writer publishes its dynamic TTLs. Two segments, so it
    can never be a user's group key (three). Its slot is no user's: on a cluster the reader
    reads it beside the script (`cache.CacheReader`), not in it."""
    return f"{prefix}:_ttl"


# --- text encoding ------------------------------------------------------------------


def encode_value(value: Value, ftype: FieldType) -> str:
    if value is None:
        return ""
    if ftype is FieldType.BOOL:
        return "1" if value else "0"
    if ftype is FieldType.VECTOR:
        if not isinstance(value, tuple):
            raise FeatureCacheError(f"a vector field needs a tuple of floats, got {type(value).__name__}")
        return ",".join(repr(float(x)) for x in value)
    if ftype is FieldType.FLOAT:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise FeatureCacheError(f"a float field needs a number, got {value!r}")
        return repr(float(value))
    return str(value)


def decode_value(raw: bytes | str | None, ftype: FieldType) -> Value:
    """One hash field back to its type; missing or "" is None. Raises `FeatureCacheError` on junk."""
    if raw is None:
        return None
    text = raw.decode() if isinstance(raw, bytes) else raw
    if text == "":
        return None
    try:
        if ftype is FieldType.INT:
            return int(text)
        if ftype is FieldType.FLOAT:
            return float(text)
        if ftype is FieldType.BOOL:
            if text in ("1", "true", "True"):
                return True
            if text in ("0", "false", "False"):
                return False
            raise ValueError(text)
        if ftype is FieldType.VECTOR:
            return tuple(float(x) for x in text.split(","))
    except ValueError:
        raise FeatureCacheError(f"{text[:40]!r} is not a {ftype.value}") from None
    return text


def encode_group(
    group: GroupSpec,
    values: GroupValues,
    *,
    event_ts_ms: int,
    ingest_ts_ms: int,
    emit_ts_ms: int | None = None,
) -> dict[str, str]:
    """Hash fields of one version: every feature of the group, then the three timestamps."""
    fields = {f.name: encode_value(values.get(f.name), f.ftype) for f in group.fields}
    fields[EVENT_TS_FIELD] = str(event_ts_ms)
    fields[EMIT_TS_FIELD] = str(emit_ts_ms if emit_ts_ms is not None else event_ts_ms)
    fields[INGEST_TS_FIELD] = str(ingest_ts_ms)
    return fields


# --- from the dependencies' answers ------------------------------------------------------


def groups_from_embeddings(emb: EmbeddingFeatures) -> dict[GroupName, dict[str, Value]]:
    """The two groups the embeddings service supplies (design B's on-demand answer)."""
    return {
        GroupName.EMBEDDINGS: {"embedding": tuple(emb.embedding)},
        GroupName.INTENT: {"session_intent": emb.session_intent, "intent_epoch": emb.intent_epoch},
    }


def groups_from_services(
    social: SocialFeatures, emb: EmbeddingFeatures, geo: GeoFeatures, abuse: AbuseFeatures
) -> dict[GroupName, dict[str, Value]]:
    """All five groups from the four services' answers (design A, the stream, pre-warm)."""
    out: dict[GroupName, dict[str, Value]] = {
        GroupName.SOCIAL: {
            "follower_count": social.follower_count,
            "following_count": social.following_count,
            "mutual_friends": social.mutual_friends,
            "account_age_days": social.account_age_days,
        },
        GroupName.GEO: {"country": geo.country, "city": geo.city, "timezone": geo.timezone},
        GroupName.ABUSE: {"risk_score": abuse.risk_score, "is_flagged": abuse.is_flagged},
    }
    out.update(groups_from_embeddings(emb))
    return {g.name: out[g.name] for g in VIEW}


def field_count(groups: Sequence[GroupSpec] = VIEW) -> int:
    return sum(len(g.fields) for g in groups)
