"""What each simulated dependency answers for a user: plausible, deterministic features.

Backs the 004 story's feature-freshness split ("92% of features changed less
than every 30 minutes; only a small subset (<8%) were highly dynamic"): every
field here is a pure function of the user id, except the embeddings
service's `session_intent`, which changes every `intent_period_s` seconds
(default 5 s). That field is the one design B must fetch on demand or serve
flagged stale; `intent_valid_until` tells a cache how long the value holds.

The models are shared by the servers (to serialise) and the callers (to
validate), so both sides agree on one schema.
"""

from __future__ import annotations

import hashlib
import math
import struct

from pydantic import BaseModel, ConfigDict, Field

EMBEDDING_DIM = 8
"""Small on purpose: the payload size, not the model, is what the fan-out pays for."""

SESSION_INTENTS: tuple[str, ...] = ("browse", "purchase", "social", "news", "video", "idle")

# (country, city, IANA timezone)
_PLACES: tuple[tuple[str, str, str], ...] = (
    ("US", "New York", "America/New_York"),
    ("US", "San Francisco", "America/Los_Angeles"),
    ("BR", "Sao Paulo", "America/Sao_Paulo"),
    ("GB", "London", "Europe/London"),
    ("DE", "Berlin", "Europe/Berlin"),
    ("FR", "Paris", "Europe/Paris"),
    ("IN", "Bengaluru", "Asia/Kolkata"),
    ("JP", "Tokyo", "Asia/Tokyo"),
    ("NG", "Lagos", "Africa/Lagos"),
    ("AU", "Sydney", "Australia/Sydney"),
)


class _Features(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    user_id: str


class SocialFeatures(_Features):
    follower_count: int = Field(ge=0)
    following_count: int = Field(ge=0)
    mutual_friends: int = Field(ge=0)
    account_age_days: int = Field(ge=0)


class EmbeddingFeatures(_Features):
    embedding: tuple[float, ...]
    """Unit-norm user vector; stable per user (a slowly changing feature)."""
    session_intent: str
    """Fast-changing: a new value every `intent_period_s`."""
    intent_epoch: int = Field(ge=0)
    """floor(unix time / intent_period_s) at serving time: which period the intent belongs to."""
    intent_valid_until: float
    """Unix seconds at which `session_intent` may change: the natural TTL of that field."""


class GeoFeatures(_Features):
    country: str = Field(min_length=2, max_length=2)
    city: str
    timezone: str


class AbuseFeatures(_Features):
    risk_score: float = Field(ge=0.0, le=1.0)
    is_flagged: bool


def _uniforms(*parts: str, n: int) -> list[float]:
    """n uniforms in [0, 1) from a hash of `parts`: stable across processes and Python versions."""
    out: list[float] = []
    counter = 0
    while len(out) < n:
        digest = hashlib.blake2b(f"{counter}|{'|'.join(parts)}".encode(), digest_size=64).digest()
        out.extend(x / 2**64 for x in struct.unpack(">8Q", digest))
        counter += 1
    return out[:n]


def social_features(user_id: str) -> SocialFeatures:
    u = _uniforms("social", user_id, n=4)
    # Follower counts are heavy-tailed: exp of a uniform spans 1 to ~22k.
    followers = int(math.exp(u[0] * 10))
    return SocialFeatures(
        user_id=user_id,
        follower_count=followers,
        following_count=int(math.exp(u[1] * 7)),
        mutual_friends=int(u[2] * min(followers, 500)),
        account_age_days=int(u[3] * 4_000),
    )


def embedding_features(user_id: str, *, now_s: float, intent_period_s: float) -> EmbeddingFeatures:
    raw = [2.0 * x - 1.0 for x in _uniforms("embedding", user_id, n=EMBEDDING_DIM)]
    norm = math.sqrt(sum(x * x for x in raw)) or 1.0
    epoch = int(now_s // intent_period_s)
    intent_u = _uniforms("intent", user_id, str(epoch), n=1)[0]
    return EmbeddingFeatures(
        user_id=user_id,
        embedding=tuple(round(x / norm, 6) for x in raw),
        session_intent=SESSION_INTENTS[int(intent_u * len(SESSION_INTENTS))],
        intent_epoch=epoch,
        intent_valid_until=(epoch + 1) * intent_period_s,
    )


def geo_features(user_id: str) -> GeoFeatures:
    country, city, tz = _PLACES[int(_uniforms("geo", user_id, n=1)[0] * len(_PLACES))]
    return GeoFeatures(user_id=user_id, country=country, city=city, timezone=tz)


def abuse_features(user_id: str) -> AbuseFeatures:
    # u^4 puts most users near 0 risk and a thin tail near 1, as abuse scores are.
    risk = round(_uniforms("abuse", user_id, n=1)[0] ** 4, 6)
    return AbuseFeatures(user_id=user_id, risk_score=risk, is_flagged=risk > 0.9)


__all__ = [
    "EMBEDDING_DIM",
    "SESSION_INTENTS",
    "AbuseFeatures",
    "EmbeddingFeatures",
    "GeoFeatures",
    "SocialFeatures",
    "abuse_features",
    "embedding_features",
    "geo_features",
    "social_features",
]
