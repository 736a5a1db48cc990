"""Three labeled datasets, generated from a seed, built around the cases where point-in-time joins go wrong.

Backs story 4's "0% leakage on 3 labeled datasets": the story does not say
what the three were, so they are made here, each a feature history plus a
label spine whose rows carry a `case` tag saying which trap they set:

- late_correction: label time between a version's ingest and the ingest of
  its correction (same event_ts, created minutes later); only the original
  was known. An engine that ignores created_ts returns the correction.
- profile_backfill: the same for the slow profile group, corrected hours later.
- tie_event_ts: both the version and its correction are known; they tie on
  event_ts and the later ingest must win.
- at_event_ts / created_at_label: label_ts equals the version's event_ts
  (ingested at once) or its created_ts: the boundary is inclusive (<=).
- just_before_known: label_ts 1 us before the version became known.
- ttl_exact / ttl_beyond: label_ts = event_ts + ttl (kept) or + ttl + 1 us
  (missing) at the end of a session, with no newer version in between.
- before_first_version: label_ts before the user's first activity version.
- no_history: users with no version at all.
- duplicate_label_ts: two labels of one user at the same instant.
- random: label times spread over each user's sessions (many versions per
  entity, which is where a join that scans instead of seeks gets slow).

Activity comes in sessions separated by pauses longer than the TTL, so TTL
edges occur naturally; values are random but typed as the schema says. The
same seed gives the same versions and spine, byte for byte.
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pyarrow as pa

from feature_cache.offline.asof import SPINE_SCHEMA
from feature_cache.offline.history import FeatureVersion, HistoryStore
from feature_cache.offline.schema import ACTIVITY, PROFILE

__all__ = [
    "CASES",
    "DATASETS",
    "DatasetSpec",
    "LabeledDataset",
    "build_dataset",
    "load_dataset",
]

BASE_TS = datetime(2026, 3, 2)
"""Naive UTC; only differences matter."""
_US = timedelta(microseconds=1)

CASES = (
    "late_correction",
    "profile_backfill",
    "tie_event_ts",
    "at_event_ts",
    "created_at_label",
    "just_before_known",
    "ttl_exact",
    "ttl_beyond",
    "before_first_version",
    "duplicate_label_ts",
)
"""Constructed spine cases; `random` and `no_history` rows come on top."""


@dataclass(frozen=True)
class DatasetSpec:
    """How one labeled dataset is generated."""

    name: str
    description: str
    seed: int
    users: int
    """Users with history."""
    no_history_users: int
    sessions_per_user: int
    versions_per_session: int
    """Mean activity versions per session."""
    gap_s: float
    """Mean seconds between activity versions in a session."""
    correction_share: float
    """Share of activity versions followed by a late correction."""
    correction_delay_s: tuple[float, float]
    profile_backfill_share: float
    random_labels_per_user: int
    cases: dict[str, int] = field(default_factory=dict)
    """Constructed spine rows per case (names from CASES)."""


# Sizes: Feast's file offline store merges every spine row with every
# version of its user in pandas, so spine rows x versions per user sets its
# run time; these keep each of Feast's runs to seconds on 2 shared cores.
DATASETS: tuple[DatasetSpec, ...] = (
    DatasetSpec(
        name="late-corrections",
        description="a third of activity windows recomputed 2-30 min later; profiles backfilled hours later",
        seed=4101,
        users=160,
        no_history_users=15,
        sessions_per_user=3,
        versions_per_session=12,
        gap_s=90.0,
        correction_share=0.33,
        correction_delay_s=(120.0, 1800.0),
        profile_backfill_share=0.3,
        random_labels_per_user=4,
        cases={
            "late_correction": 200,
            "profile_backfill": 80,
            "tie_event_ts": 100,
            "at_event_ts": 25,
            "created_at_label": 25,
            "just_before_known": 25,
            "ttl_exact": 25,
            "ttl_beyond": 25,
            "before_first_version": 15,
            "duplicate_label_ts": 15,
        },
    ),
    DatasetSpec(
        name="ttl-boundaries",
        description="labels exactly at event/ingest times and at the TTL edge; users with no history",
        seed=4102,
        users=160,
        no_history_users=40,
        sessions_per_user=4,
        versions_per_session=6,
        gap_s=120.0,
        correction_share=0.08,
        correction_delay_s=(60.0, 900.0),
        profile_backfill_share=0.1,
        random_labels_per_user=3,
        cases={
            "late_correction": 30,
            "profile_backfill": 20,
            "tie_event_ts": 30,
            "at_event_ts": 120,
            "created_at_label": 120,
            "just_before_known": 150,
            "ttl_exact": 150,
            "ttl_beyond": 150,
            "before_first_version": 80,
            "duplicate_label_ts": 40,
        },
    ),
    DatasetSpec(
        name="dense-history",
        description="few users with hundreds of versions each; frequent corrections and event-time ties",
        seed=4103,
        users=20,
        no_history_users=5,
        sessions_per_user=5,
        versions_per_session=50,
        gap_s=20.0,
        correction_share=0.15,
        correction_delay_s=(5.0, 90.0),
        profile_backfill_share=0.2,
        random_labels_per_user=15,
        cases={
            "late_correction": 80,
            "profile_backfill": 30,
            "tie_event_ts": 80,
            "at_event_ts": 25,
            "created_at_label": 25,
            "just_before_known": 25,
            "ttl_exact": 25,
            "ttl_beyond": 25,
            "before_first_version": 15,
            "duplicate_label_ts": 20,
        },
    ),
)


@dataclass(frozen=True, eq=False)
class LabeledDataset:
    """A generated history and its label spine."""

    spec: DatasetSpec
    versions: tuple[FeatureVersion, ...]
    """In ingest order (created_ts), as a materializer would append them."""
    spine: pa.Table
    """SPINE_SCHEMA plus a `case` string column."""
    case_rows: dict[str, int]
    """Spine rows per case as built (a case can fall short when the history offers no candidate)."""


@dataclass
class _V:
    """A version under construction; `correction_of` links a correction to its original."""

    group: str
    event: datetime
    created: datetime
    values: dict[str, object]
    correction_of: _V | None = None

    @property
    def known(self) -> datetime:
        return max(self.event, self.created)


def _jitter(rng: random.Random) -> timedelta:
    # Sub-second jitter so no two versions share a timestamp by accident;
    # the ties the datasets want are made on purpose.
    return timedelta(microseconds=rng.randrange(1, 1_000_000))


def _activity_values(rng: random.Random) -> dict[str, object]:
    clicks = rng.randrange(0, 20)
    views = clicks + rng.randrange(0, 60)
    return {
        "clicks_5m": clicks,
        "views_5m": views,
        "ctr_1h": round(clicks / views, 6) if views else 0.0,
        "dwell_ms_p50_1h": round(rng.uniform(100.0, 30_000.0), 3),
        # A user can have no last item yet: NULL values are part of the data.
        "last_item_id": None if rng.random() < 0.05 else f"i{rng.randrange(100_000):05d}",
        "last_category": rng.choice(("news", "sports", "music", "video", "games")),
    }


def _corrected(rng: random.Random, values: dict[str, object]) -> dict[str, object]:
    out = dict(values)
    clicks = int(values["clicks_5m"]) + rng.randrange(1, 6)  # type: ignore[call-overload]
    views = int(values["views_5m"]) + rng.randrange(1, 10)  # type: ignore[call-overload]
    out.update(clicks_5m=clicks, views_5m=views, ctr_1h=round(clicks / views, 6))
    return out


def _profile_values(rng: random.Random, age_days: int) -> dict[str, object]:
    return {
        "country": rng.choice(("DE", "FR", "US", "BR", "IN", "JP")),
        "account_tier": rng.choice(("free", "plus", "pro")),
        "account_age_days": age_days,
        "is_premium": rng.random() < 0.2,
    }


def _user_history(spec: DatasetSpec, rng: random.Random) -> list[_V]:
    out: list[_V] = []
    ttl = ACTIVITY.ttl
    t = BASE_TS + timedelta(seconds=rng.uniform(0, 6 * 3600)) + _jitter(rng)
    first = t
    for _ in range(spec.sessions_per_user):
        n = max(1, int(rng.expovariate(1 / spec.versions_per_session)) + 1)
        for _ in range(n):
            # 15% of versions are stamped at their event time (batch-computed
            # values): those make the "label exactly at event_ts" boundary.
            delay = timedelta(0) if rng.random() < 0.15 else timedelta(seconds=rng.uniform(0.05, 3.0))
            v = _V(ACTIVITY.name, t, t + delay, _activity_values(rng))
            out.append(v)
            if rng.random() < spec.correction_share:
                lo, hi = spec.correction_delay_s
                late = v.created + timedelta(seconds=rng.uniform(lo, hi)) + _jitter(rng)
                out.append(_V(ACTIVITY.name, t, late, _corrected(rng, v.values), correction_of=v))
            t += timedelta(seconds=rng.expovariate(1 / spec.gap_s)) + _jitter(rng)
        # A pause longer than the TTL ends the session, so the last version of
        # every session has a TTL edge with no newer version behind it.
        t += ttl + timedelta(seconds=rng.uniform(300, 4 * 3600)) + _jitter(rng)
    # Profiles: one before the first session, then every ~8 h until the end.
    age = rng.randrange(1, 2000)
    p = first - timedelta(seconds=rng.uniform(600, 12 * 3600)) - _jitter(rng)
    while p < t:
        v = _V(PROFILE.name, p, p + timedelta(seconds=rng.uniform(1, 60)), _profile_values(rng, age))
        out.append(v)
        if rng.random() < spec.profile_backfill_share:
            late = v.created + timedelta(hours=rng.uniform(2, 30)) + _jitter(rng)
            fixed = dict(v.values, country=rng.choice(("DE", "FR", "US", "BR", "IN", "JP")))
            out.append(_V(PROFILE.name, p, late, fixed, correction_of=v))
        step = timedelta(seconds=rng.expovariate(1 / (8 * 3600))) + _jitter(rng)
        p += step
        age += step.days
    return out


def _next_event_after(events: Sequence[datetime], event: datetime) -> datetime:
    """Smallest event time > `event` in the sorted `events`, or datetime.max."""
    i = bisect.bisect_right(events, event)
    return events[i] if i < len(events) else datetime.max


def _cases_for_user(versions: list[_V]) -> dict[str, list[datetime]]:
    """Every label time that sets each trap for one user (sampled later).

    Each trap is placed where the right answer is a value, not NULL: the
    version that should win is still inside its group's TTL at the label.
    """
    act = [v for v in versions if v.group == ACTIVITY.name]
    prof = [v for v in versions if v.group == PROFILE.name]
    ttl = ACTIVITY.ttl
    act_events = sorted(v.event for v in act)
    prof_events = sorted(v.event for v in prof)
    # Instants at which some activity version is fresh (known and within TTL):
    # profile traps are put there so the activity group does not make the row
    # empty (an engine may drop a row whose group has nothing in its TTL).
    act_live = sorted((v.known, v.event + ttl) for v in act if v.correction_of is None)
    act_known = [k for k, _ in act_live]
    out: dict[str, list[datetime]] = {c: [] for c in CASES}
    for c in act:
        o = c.correction_of
        if o is None:
            continue
        # The original is known, the correction not yet, no newer event hides
        # the correction from an engine that ignores created_ts, and the
        # original is within the TTL.
        upper = min(c.created, _next_event_after(act_events, c.event), o.event + ttl)
        if upper - o.known > 2 * _US:
            out["late_correction"].append(o.known + (upper - o.known) / 2)
        # Both known, tied on event_ts: the later ingest must win.
        upper = min(_next_event_after(act_events, c.event), c.event + ttl)
        if upper - c.created > 2 * _US:
            out["tie_event_ts"].append(c.created + (upper - c.created) / 2)
    for c in prof:
        o = c.correction_of
        if o is None:
            continue
        upper = min(c.created, _next_event_after(prof_events, c.event), o.event + PROFILE.ttl)
        i = bisect.bisect_right(act_known, o.known)
        # Up to three labels per backfilled profile, each while activity is fresh.
        for known, fresh_until in act_live[i : i + 3]:
            end = min(upper, fresh_until)
            if known >= upper:
                break
            if end - known > 2 * _US:
                out["profile_backfill"].append(known + (end - known) / 2)
    for v in act:
        if v.correction_of is not None:
            continue
        if v.created == v.event:
            out["at_event_ts"].append(v.event)
        else:
            out["created_at_label"].append(v.created)
        out["just_before_known"].append(v.known - _US)
        if _next_event_after(act_events, v.event) > v.event + ttl + timedelta(seconds=1):
            out["ttl_exact"].append(v.event + ttl)
            out["ttl_beyond"].append(v.event + ttl + _US)
    if act:
        out["before_first_version"].append(min(v.event for v in act) - timedelta(minutes=5))
    return out


def build_dataset(spec: DatasetSpec) -> LabeledDataset:
    """Generate the history and the spine of `spec` (deterministic in `spec.seed`)."""
    rng = random.Random(spec.seed)
    users = [f"u{spec.seed}-{i:05d}" for i in range(spec.users)]
    idle = [f"u{spec.seed}-n{i:04d}" for i in range(spec.no_history_users)]
    histories = {u: _user_history(spec, rng) for u in users}

    rows: list[tuple[str, datetime, int, str]] = []

    def label() -> int:
        return int(rng.random() < 0.3)

    for u, hist in histories.items():
        lo = min(v.event for v in hist) - timedelta(minutes=30)
        hi = max(v.known for v in hist) + timedelta(minutes=30)
        act = [v for v in hist if v.group == ACTIVITY.name]
        for _ in range(spec.random_labels_per_user):
            # Most labels fall inside a session (a training example is an
            # impression, and impressions happen while the user is active);
            # a fifth anywhere, pauses included.
            if rng.random() < 0.8:
                ts = rng.choice(act).event + ACTIVITY.ttl * rng.uniform(0.0, 1.2)
            else:
                ts = lo + (hi - lo) * rng.random()
            rows.append((u, ts, label(), "random"))
    for u in idle:
        for _ in range(max(1, spec.random_labels_per_user)):
            ts = BASE_TS + timedelta(seconds=rng.uniform(0, 2 * 86_400))
            rows.append((u, ts, label(), "no_history"))

    candidates: dict[str, list[tuple[str, datetime]]] = {c: [] for c in CASES}
    for u, hist in histories.items():
        for case, times in _cases_for_user(hist).items():
            candidates[case].extend((u, ts) for ts in times)
    for case in CASES:
        if case == "duplicate_label_ts":
            continue
        pool = candidates[case]
        for u, ts in rng.sample(pool, min(len(pool), spec.cases.get(case, 0))):
            rows.append((u, ts, label(), case))
    # Duplicates copy (user, label_ts) of rows already in the spine.
    originals = [r for r in rows if r[3] != "no_history"]
    for u, ts, _, _ in rng.sample(originals, min(len(originals), spec.cases.get("duplicate_label_ts", 0))):
        rows.append((u, ts, label(), "duplicate_label_ts"))

    rows.sort(key=lambda r: (r[1], r[0], r[3]))
    spine = pa.table(
        {
            "spine_id": list(range(1, len(rows) + 1)),
            "user_id": [r[0] for r in rows],
            "label_ts": [r[1] for r in rows],
            "label": [r[2] for r in rows],
            "case": [r[3] for r in rows],
        },
        schema=SPINE_SCHEMA.append(pa.field("case", pa.string())),
    )
    case_rows: dict[str, int] = {}
    for r in rows:
        case_rows[r[3]] = case_rows.get(r[3], 0) + 1

    flat = [(u, v) for u, hist in histories.items() for v in hist]
    flat.sort(key=lambda x: (x[1].created, x[0], x[1].group))
    versions = tuple(
        FeatureVersion(user_id=u, group=v.group, event_ts=v.event, created_ts=v.created, values=v.values)  # type: ignore[arg-type]
        for u, v in flat
    )
    return LabeledDataset(
        spec=spec, versions=versions, spine=spine, case_rows=dict(sorted(case_rows.items()))
    )


def load_dataset(ds: LabeledDataset, store: HistoryStore) -> int:
    """Append the dataset's versions to `store` in ingest order; returns rows written."""
    return store.append(ds.versions).rows
