"""The stream side of design B in the benches: a writer that keeps Redis filled like the materializer.

Backs the 004 story's "streaming materialization (Kafka + Flink) to
precompute features into Redis with a 5-minute TTL" for the load tests,
where running the Flink job and the materializer would take the two cores
the measurement needs. It writes the materializer's layout
(`feature_cache.precompute.records`: one hash per user and group with
`_event_ts`/`_emit_ts`/`_ingest_ts`, HSET + EXPIRE in pipelines), and it can
be slowed, paused or made to lag, which is what the regression scenario
needs ("streaming lag increased").

Model (stated, so the hit rate it yields can be read):
- every known user's groups are re-emitted every `refresh_s` (default 30 s,
  half the 60 s period of the fast feature), each user at its own phase, so
  the writes are spread evenly (N / refresh_s users per second);
- a version holding values as of event time t is written at t + lag
  (`lag_s`); raising the lag pauses the writer until it is that far behind
  (the "materializer paused"), after which it runs that far behind;
- `capacity_per_s` caps users written per second (a slowed consumer): when
  demand exceeds it, the lag grows by itself;
- TTLs: the static table, or (`dynamic`) the precompute's own `TtlPolicy`
  (3 x the observed gap between versions + the stream's lag, within bounds),
  whose per-group TTLs are also published in `<prefix>:_ttl` for readers;
- values: the dependencies' own feature functions (`SnapshotSource`), the
  intent as of the event time, so what the stream writes is what the
  embeddings service would have answered then.

`prime()` writes the state the cache holds after the stream has run for a
while (each user's last emission at its phase before now), so a run starts
in steady state instead of warming up.
"""

from __future__ import annotations

import bisect
import hashlib
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from feature_cache.deps.features import abuse_features, embedding_features, geo_features, social_features
from feature_cache.precompute.features import TtlBounds
from feature_cache.precompute.ttl import TtlPolicy
from feature_cache.serving.cache import TtlTable, queue_write
from feature_cache.serving.keys import VIEW, GroupName, Value, groups_from_services, ttl_key
from starlab.redis_client import REDIS_ERRORS, SyncRedis

__all__ = ["FeederStats", "SnapshotSource", "StreamFeeder", "dynamic_bounds"]


class SnapshotSource:
    """A user's five groups as the services would answer at `at_s` (pre-warm's and the stream's source).

    The slow groups are pure functions of the user id, so they are computed
    once per user; only the intent depends on time.
    """

    def __init__(self, intent_period_s: float) -> None:
        self.intent_period_s = intent_period_s
        self._slow: dict[str, dict[GroupName, dict[str, Value]]] = {}

    def groups(self, user_id: str, at_s: float) -> Mapping[GroupName, Mapping[str, Value]]:
        emb = embedding_features(user_id, now_s=at_s, intent_period_s=self.intent_period_s)
        slow = self._slow.get(user_id)
        if slow is None:
            full = groups_from_services(
                social_features(user_id), emb, geo_features(user_id), abuse_features(user_id)
            )
            self._slow[user_id] = {g: v for g, v in full.items() if g is not GroupName.INTENT}
            return full
        out = dict(slow)
        out[GroupName.INTENT] = {"session_intent": emb.session_intent, "intent_epoch": emb.intent_epoch}
        return out


def dynamic_bounds(static: TtlTable, max_factor: float = 3.0) -> dict[str, TtlBounds]:
    """Bounds for the precompute's `TtlPolicy`: the static TTL as floor and base, up to `max_factor` x.

    The floor keeps the dynamic policy from shortening what the static design
    already served as fresh; the ceiling (3 x: 3 minutes for the 60 s intent,
    15 minutes for the slow groups) bounds how stale a "fresh" value may get.
    """
    return {g.value: TtlBounds(base_s=t, min_s=t, max_s=t * max_factor) for g, t in static.ttl_s.items()}


@dataclass(frozen=True)
class FeederStats:
    versions: int
    """User versions written (each = the user's five groups)."""
    lag_s: float
    """Now minus the event time of the newest version written."""
    known_users: int
    dynamic: bool
    published_ttl_s: dict[str, float]


def _phase(user: str, refresh_s: float) -> float:
    h = hashlib.blake2b(f"phase|{user}".encode(), digest_size=8).digest()
    return int.from_bytes(h, "big") / 2**64 * refresh_s


class StreamFeeder:
    """Writes known users' groups on a schedule in a background thread; see the module docstring."""

    def __init__(
        self,
        client: SyncRedis,
        prefix: str,
        known: Sequence[str],
        static_ttl: TtlTable,
        *,
        intent_period_s: float,
        refresh_s: float = 30.0,
        lag_s: float = 1.0,
        capacity_per_s: float | None = None,
        tick_s: float = 0.1,
    ) -> None:
        self.client = client
        self.prefix = prefix
        self.static_ttl = static_ttl
        self.source = SnapshotSource(intent_period_s)
        self.refresh_s = refresh_s
        self.lag_s = lag_s
        self.capacity_per_s = capacity_per_s
        self.tick_s = tick_s
        self.policy: TtlPolicy | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.versions = 0
        self.errors = 0
        self._budget = 0.0
        self._cursor = time.time() - lag_s  # event time processed up to
        self._set_known(known)

    # --- schedule ---------------------------------------------------------------------

    def _set_known(self, known: Sequence[str]) -> None:
        order = sorted((_phase(u, self.refresh_s), u) for u in known)
        self._phases = [p for p, _ in order]
        self._users = [u for _, u in order]

    def set_known(self, known: Sequence[str]) -> None:
        """The stream starts covering these users (a wider key space) from its next cycle."""
        with self._lock:
            self._set_known(known)

    def set_lag(self, lag_s: float) -> None:
        """Make the stream run `lag_s` behind: a larger value pauses it until it is that far behind."""
        with self._lock:
            self.lag_s = lag_s

    def set_dynamic(self, on: bool) -> None:
        """Switch between the static TTLs and the precompute's dynamic `TtlPolicy` (published)."""
        with self._lock:
            self.policy = TtlPolicy(dynamic_bounds(self.static_ttl)) if on else None
            if not on:
                self.client.delete(ttl_key(self.prefix))

    def _due(self, start: float, end: float) -> list[tuple[float, str]]:
        """(event time, user) of every emission in (start, end], in time order."""
        out: list[tuple[float, str]] = []
        if end <= start or not self._users:
            return out
        r = self.refresh_s
        cycle = int(start // r)
        while cycle * r < end:
            base = cycle * r
            lo = bisect.bisect_right(self._phases, start - base)
            hi = bisect.bisect_right(self._phases, end - base)
            out.extend((base + self._phases[i], self._users[i]) for i in range(lo, hi))
            cycle += 1
        return out

    # --- writing ----------------------------------------------------------------------

    def _ttls(self) -> dict[GroupName, float]:
        if self.policy is None:
            return dict(self.static_ttl.ttl_s)
        return {g: float(self.policy.ttl_s(g.value)) for g in GroupName}

    def _write(self, batch: Sequence[tuple[float, str]], ingest_s: float) -> None:
        if not batch:
            return
        pipe = self.client.pipeline(transaction=False)
        if self.policy is not None:
            for t, u in batch:
                ev = datetime.fromtimestamp(t, tz=UTC)
                for g in GroupName:
                    self.policy.observe(u, g.value, ev)
        ttls = self._ttls()
        ingest_ms = int(ingest_s * 1000)
        for t, u in batch:
            values = self.source.groups(u, t)
            for gs in VIEW:
                queue_write(
                    pipe,
                    self.prefix,
                    u,
                    gs,
                    values[gs.name],
                    event_ts_ms=int(t * 1000),
                    ingest_ts_ms=ingest_ms,
                    ttl_s=ttls[gs.name],
                )
        if self.policy is not None:
            pipe.hset(ttl_key(self.prefix), mapping={g.value: str(ttls[g]) for g in GroupName})
        pipe.execute()
        self.versions += len(batch)

    def prime(self) -> int:
        """Write every known user's last emission before now (steady state); returns users written."""
        now = time.time()
        with self._lock:
            target = now - self.lag_s
            r = self.refresh_s
            batch = []
            for p, u in zip(self._phases, self._users, strict=True):
                t = (target // r) * r + p
                if t > target:
                    t -= r
                batch.append((t, u))
            for i in range(0, len(batch), 500):
                self._write(batch[i : i + 500], now)
            self._cursor = target
        return len(batch)

    def step(self, now: float, dt: float) -> int:
        """One tick: write what is due up to now - lag, within capacity; returns users written."""
        with self._lock:
            target = now - self.lag_s
            due = self._due(self._cursor, target)
            if self.capacity_per_s is not None:
                # Fractional budget carried over, so a low capacity still writes on some ticks.
                self._budget = min(self._budget + self.capacity_per_s * dt, self.capacity_per_s)
                take = int(self._budget)
                due = due[:take]
                self._budget -= len(due)
            if not due:
                if target > self._cursor and self.capacity_per_s is None:
                    self._cursor = target
                return 0
            self._write(due, now)
            self._cursor = due[-1][0] if self.capacity_per_s is not None else target
            return len(due)

    def _run(self) -> None:
        last = time.time()
        while not self._stop.wait(self.tick_s):
            now = time.time()
            try:
                self.step(now, now - last)
            except REDIS_ERRORS:
                self.errors += 1  # Redis down (a test stops it): the stream retries next tick
            last = now

    def start(self) -> StreamFeeder:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="stream-feeder", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def stats(self) -> FeederStats:
        with self._lock:
            ttls = self._ttls()
            return FeederStats(
                versions=self.versions,
                lag_s=round(max(0.0, time.time() - self._cursor), 3),
                known_users=len(self._users),
                dynamic=self.policy is not None,
                published_ttl_s={g.value: t for g, t in ttls.items()},
            )
