"""Seeded generator of engagement events with known defects and a ground truth.

Every later check of loss, duplicates and lateness compares outputs with the
`Manifest` this generator writes, so the defects are injected on purpose and
recorded exactly:

- duplicates: a client retry re-sends an event (same event_id, same event
  time, a later ingest time) a few hundred emissions later;
- out-of-order: event time is 30 s to 8 min behind the stream, inside the
  10-minute allowed lateness, so it must still be counted in its window;
- late: event time is 15 to 40 minutes behind (beyond the allowed lateness
  with a wide margin, so a periodic watermark cannot make it on-time);
- malformed: records that break the contract (bad JSON, missing field, wrong
  type, unknown enum value, negative dwell) and must go to the dead-letter
  topic with the reason.

Emissions come in ingest order on a simulated clock: `rate_per_s` events per
second of event time starting at `start_ms`, so a 200k-event run covers about
an hour of event time and the 1-minute windows are well filled.
"""

from __future__ import annotations

import heapq
import json
import random
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from itertools import accumulate
from pathlib import Path
from typing import Literal

from starlab.errors import ConfigError
from starlab.events.model import ALLOWED_LATENESS_MS, PLATFORMS, Event

EmissionKind = Literal["valid", "duplicate", "malformed"]

OUT_OF_ORDER_DELAY_MS = (30_000, 8 * 60_000)
LATE_DELAY_MS = (15 * 60_000, 40 * 60_000)
NORMAL_DELAY_MS = (0, 3_000)
LATE_WARMUP_RECORDS = 1_000
DUPLICATE_GAP = (1, 400)
"""A retry arrives 1 to 400 emissions after the original."""

CATEGORIES = ("news", "sports", "music", "gaming", "food", "travel", "tech", "fashion")
COUNTRIES = ("US", "BR", "DE", "IN", "JP", "GB", "FR", "MX")
MALFORMED_KINDS = ("invalid_json", "missing_field", "bad_type", "unknown_enum", "bad_value")


@dataclass(frozen=True)
class GeneratorConfig:
    """What to generate; rates are fractions of the unique valid events."""

    seed: int = 7
    events: int = 10_000
    """Unique, valid events (duplicates and malformed records come on top)."""
    users: int = 2_000
    items: int = 300
    start_ms: int = 1_767_225_600_000
    """Event-time start; default 2026-01-01T00:00:00Z so runs are reproducible."""
    rate_per_s: float = 5.0
    """Events per second of simulated event time."""
    duplicate_rate: float = 0.02
    out_of_order_rate: float = 0.05
    late_rate: float = 0.01
    malformed_rate: float = 0.005
    zipf_s: float = 1.1
    """Skew of item popularity: a few hot items, a long tail (LFU matters)."""

    def __post_init__(self) -> None:
        if self.events <= 0 or self.users <= 0 or self.items <= 0:
            raise ConfigError("events, users and items must be positive")
        if self.rate_per_s <= 0:
            raise ConfigError("rate_per_s must be positive")
        for name in ("duplicate_rate", "out_of_order_rate", "late_rate", "malformed_rate"):
            value = getattr(self, name)
            if not 0.0 <= value < 1.0:
                raise ConfigError(f"{name} must be in [0, 1), got {value}")
        if self.out_of_order_rate + self.late_rate >= 1.0:
            raise ConfigError("out_of_order_rate + late_rate must stay below 1")

    @property
    def span_ms(self) -> int:
        return int(self.events / self.rate_per_s * 1000)


@dataclass(frozen=True, slots=True)
class Emission:
    """One record as the edge collector receives it, in ingest order."""

    seq: int
    kind: EmissionKind
    raw: bytes
    """The JSON bytes the device sent (for malformed ones, what was broken)."""
    event: Event | None
    """The parsed event; None for malformed records."""
    malformed_kind: str | None = None


@dataclass
class Manifest:
    """Ground truth of a generated run; what every verification compares to."""

    config: dict[str, object]
    emitted: int = 0
    unique_ids: list[str] = field(default_factory=list)
    duplicate_ids: list[str] = field(default_factory=list)
    """One entry per extra copy sent (an id sent 3 times appears twice)."""
    late_ids: list[str] = field(default_factory=list)
    out_of_order_ids: list[str] = field(default_factory=list)
    malformed: list[dict[str, object]] = field(default_factory=list)
    """`{"seq", "kind", "event_id"}` per malformed record."""
    min_event_ts: int | None = None
    max_event_ts: int | None = None

    @property
    def valid_emissions(self) -> int:
        return len(self.unique_ids) + len(self.duplicate_ids)

    def summary(self) -> dict[str, int]:
        return {
            "emitted": self.emitted,
            "unique": len(self.unique_ids),
            "duplicates": len(self.duplicate_ids),
            "late": len(self.late_ids),
            "out_of_order": len(self.out_of_order_ids),
            "malformed": len(self.malformed),
        }

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(asdict(self), separators=(",", ":")))

    @classmethod
    def read(cls, path: Path) -> Manifest:
        return cls(**json.loads(path.read_text()))


@dataclass(frozen=True)
class Item:
    item_id: str
    category: str
    created_at_ms: int
    quality: float
    """Latent appeal in [0.5, 1.5]; scales click and like probabilities."""


@dataclass(frozen=True)
class User:
    user_id: str
    country: str
    signup_at_ms: int
    home_platform: str


def make_items(cfg: GeneratorConfig, rng: random.Random) -> list[Item]:
    day_ms = 86_400_000
    return [
        Item(
            item_id=f"i{n:05d}",
            category=rng.choice(CATEGORIES),
            created_at_ms=cfg.start_ms - rng.randint(1, 60) * day_ms,
            quality=round(rng.uniform(0.5, 1.5), 3),
        )
        for n in range(cfg.items)
    ]


def make_users(cfg: GeneratorConfig, rng: random.Random) -> list[User]:
    day_ms = 86_400_000
    return [
        User(
            user_id=f"u{n:06d}",
            country=rng.choice(COUNTRIES),
            signup_at_ms=cfg.start_ms - rng.randint(1, 900) * day_ms,
            home_platform=rng.choice(PLATFORMS),
        )
        for n in range(cfg.users)
    ]


class Generator:
    """Iterate `emissions()` once; `manifest` is complete when it is exhausted."""

    def __init__(self, cfg: GeneratorConfig) -> None:
        self.cfg = cfg
        self._rng = random.Random(cfg.seed)
        self.items = make_items(cfg, self._rng)
        self.users = make_users(cfg, self._rng)
        self.manifest = Manifest(config=asdict(cfg))
        # Zipf weights over items: rank r gets 1 / r^s. Cumulative once, so
        # each draw is a bisect instead of a pass over all weights.
        self._item_cum = list(accumulate(1.0 / (r + 1) ** cfg.zipf_s for r in range(cfg.items)))
        self._user_cum = list(accumulate(1.0 / (r + 1) ** 0.6 for r in range(cfg.users)))

    def _event_type(self, item: Item) -> str:
        roll = self._rng.random()
        click_p, like_p, share_p = 0.10 * item.quality, 0.03 * item.quality, 0.008
        if roll < click_p:
            return "click"
        if roll < click_p + like_p:
            return "like"
        if roll < click_p + like_p + share_p:
            return "share"
        return "impression"

    def _delay_ms(self, seq: int) -> tuple[int, str]:
        rng, cfg = self._rng, self.cfg
        roll = rng.random()
        # No late event among the first records: each partition needs some
        # on-time data before its watermark exists to be "behind".
        if roll < cfg.late_rate and seq >= LATE_WARMUP_RECORDS:
            return rng.randint(*LATE_DELAY_MS), "late"
        if roll < cfg.late_rate + cfg.out_of_order_rate:
            return rng.randint(*OUT_OF_ORDER_DELAY_MS), "out_of_order"
        return rng.randint(*NORMAL_DELAY_MS), "normal"

    def _malformed(self, seq: int, ingest_ms: int) -> Emission:
        rng = self._rng
        kind = rng.choice(MALFORMED_KINDS)
        event_id = f"m{self.cfg.seed:x}-{seq:09d}"
        base: dict[str, object] = {
            "event_id": event_id,
            "user_id": "u000001",
            "item_id": "i00001",
            "event_type": "click",
            "event_ts": ingest_ms - 1_000,
            "ingest_ts": ingest_ms,
            "platform": "web",
            "session_id": f"s-{seq}",
            "dwell_ms": None,
        }
        if kind == "missing_field":
            del base[rng.choice(["item_id", "user_id", "event_ts"])]
        elif kind == "bad_type":
            base["event_ts"] = "2026-01-01T00:00:00Z"
        elif kind == "unknown_enum":
            base["event_type"] = "swipe"
        elif kind == "bad_value":
            base["event_type"], base["dwell_ms"] = "impression", -5
        raw = json.dumps(base, separators=(",", ":")).encode()
        if kind == "invalid_json":
            raw = raw[: len(raw) // 2]  # a truncated upload
        self.manifest.malformed.append({"seq": seq, "kind": kind, "event_id": event_id})
        return Emission(seq=seq, kind="malformed", raw=raw, event=None, malformed_kind=kind)

    def emissions(self) -> Iterator[Emission]:
        cfg, rng, m = self.cfg, self._rng, self.manifest
        step_ms = 1000.0 / cfg.rate_per_s
        pending: list[tuple[int, int, Event]] = []  # (due seq, tiebreak, event)
        seq = 0
        unique = 0
        max_event_ts = -1
        while unique < cfg.events or pending:
            ingest_ms = cfg.start_ms + int(seq * step_ms)
            if pending and (pending[0][0] <= seq or unique >= cfg.events):
                _, _, original = heapq.heappop(pending)
                dup = Event(**{**original.to_record(), "ingest_ts": ingest_ms})
                m.duplicate_ids.append(dup.event_id)
                yield Emission(seq=seq, kind="duplicate", raw=dup.to_json_bytes(), event=dup)
            elif rng.random() < cfg.malformed_rate:
                yield self._malformed(seq, ingest_ms)
            else:
                item = rng.choices(self.items, cum_weights=self._item_cum)[0]
                user = rng.choices(self.users, cum_weights=self._user_cum)[0]
                delay, lateness = self._delay_ms(seq)
                event_type = self._event_type(item)
                event = Event(
                    event_id=f"e{cfg.seed:x}-{unique:09d}",
                    user_id=user.user_id,
                    item_id=item.item_id,
                    event_type=event_type,
                    event_ts=ingest_ms - delay,
                    ingest_ts=ingest_ms,
                    platform=user.home_platform if rng.random() < 0.8 else rng.choice(PLATFORMS),
                    session_id=f"s{user.user_id[1:]}-{ingest_ms // 1_800_000}",
                    dwell_ms=rng.randint(200, 30_000) if event_type == "impression" else None,
                )
                unique += 1
                m.unique_ids.append(event.event_id)
                # Ground truth for lateness is relative to the newest event
                # time sent so far, which is what a watermark tracks.
                if lateness == "late" and event.event_ts < max_event_ts - ALLOWED_LATENESS_MS:
                    m.late_ids.append(event.event_id)
                elif lateness == "out_of_order":
                    m.out_of_order_ids.append(event.event_id)
                max_event_ts = max(max_event_ts, event.event_ts)
                m.min_event_ts = (
                    event.event_ts if m.min_event_ts is None else min(m.min_event_ts, event.event_ts)
                )
                m.max_event_ts = max_event_ts
                if rng.random() < cfg.duplicate_rate:
                    due = seq + rng.randint(*DUPLICATE_GAP)
                    heapq.heappush(pending, (due, unique, event))
                yield Emission(seq=seq, kind="valid", raw=event.to_json_bytes(), event=event)
            seq += 1
            m.emitted = seq
