"""One blue/green publish cycle, the rollback, and the status of both colors.

Backs story 2's "blue/green tables with a feature flag to switch consumers",
"rollback", "incident-free, change failure rate 0% due to blue/green" and
"materialized a warm cache". The cycle, each step a method so the Airflow DAG
runs them as separate tasks:

    check_inputs  lake has the interval's data and is fresh enough (< 2 h)
    build         take the build lease, `dbt build --select +rankings` into
                  the idle color (dbt tests are the first half of the gate)
    gate          Great Expectations suite on the built table; the top-N
                  payload for the cache is read here, once
    flip          compare-and-set the flag to the new color (state.json),
                  then point `marts.rankings_live` at it (dashboards)
    warm          write the version's keys to Redis, then move the serving
                  pointer atomically (what the API serves)
    record        freshness at publish, duplicate rate, rows -> metrics.jsonl

Nothing before `flip` changes what anyone reads: a refused or crashed build
only ever touches the idle table. `rollback` moves flag, pointer and view
back to the previous build while its table is still intact.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from rankings.errors import (
    BuildInProgress,
    DQGateError,
    FlipRefused,
    InputsNotReady,
    RankingsError,
    RankingsTransientError,
    RollbackUnavailable,
    StaleCandidate,
)
from rankings.publish.gate import GateResult, dbt_checks, run_gx_suite
from rankings.publish.results import (
    Candidate,
    ColorStatus,
    CycleResult,
    FlipResult,
    InputsReport,
    PublisherStatus,
    PublishMetrics,
    RollbackResult,
    WarmReport,
)
from rankings.publish.state import (
    BuildRecord,
    BuildStatus,
    Color,
    ControlState,
    ControlStore,
    Lease,
    utcnow_iso,
)
from rankings.publish.warehouse import (
    cache_payload,
    lake_stats,
    live_view_color,
    load_built_table,
    sync_live_view,
)
from rankings.serving.cache import CachePayload, RankingsCache
from rankings.settings import RankingsSettings
from starlab.dbt import DbtError, DbtRun, run_dbt
from starlab.metrics import freshness_s
from starlab.settings import Settings

T = TypeVar("T")


def new_build_id(color: Color, now: datetime | None = None) -> str:
    """`20260310T020001Z-green-3fa2`: sortable by time, names its color, unique per call."""
    now = now or datetime.now(UTC)
    return f"{now:%Y%m%dT%H%M%S}Z-{color.value}-{secrets.token_hex(2)}"


class Publisher:
    """The blue/green publisher for one warehouse, lake and Redis."""

    def __init__(
        self,
        settings: Settings,
        cfg: RankingsSettings | None = None,
        *,
        owner: str | None = None,
        cache: RankingsCache | None = None,
    ) -> None:
        self.settings = settings
        self.cfg = cfg or RankingsSettings()
        self.owner = owner or f"pid:{os.getpid()}"
        self.folder = self.cfg.control_dir(settings)
        self.store = ControlStore(self.folder)
        self._cache = cache

    # --- paths and clients ---------------------------------------------------------
    @property
    def warehouse(self) -> Path:
        return self.settings.warehouse_path.resolve()

    @property
    def cache(self) -> RankingsCache:
        if self._cache is None:
            self._cache = RankingsCache.connect(self.settings, self.cfg.key_prefix)
        return self._cache

    def build_dir(self, build_id: str) -> Path:
        return self.folder / "builds" / build_id

    # --- 1. inputs -----------------------------------------------------------------
    def check_inputs(self, as_of_date: date | None = None, *, now: datetime | None = None) -> InputsReport:
        """The lake has events (for `as_of_date` if given), the item dimension, and is fresh.

        Freshness (now - newest ingest < max_input_age_s, story: < 2 h) is
        enforced only for the current interval: re-running an old interval
        is a backfill, not a sign of a stalled feed.
        """
        now = now or datetime.now(UTC)
        stats = lake_stats(self.settings, as_of_date)
        if not stats.parts or stats.max_ingested_at is None:
            raise InputsNotReady(f"the lake's events table is empty (catalog under {self.settings.lake_dir})")
        if not stats.items:
            raise InputsNotReady(
                f"the item dimension {self.settings.lake_dir / 'dims/items.parquet'} is empty"
            )
        if as_of_date is not None and not stats.rows_on_date:
            raise InputsNotReady(f"the lake has no events for {as_of_date} yet")
        age_s = freshness_s(now, stats.max_ingested_at)
        current = as_of_date is None or as_of_date >= (now - timedelta(days=2)).date()
        if current and age_s > self.cfg.max_input_age_s:
            raise InputsNotReady(
                f"the lake is stale: newest ingest {stats.max_ingested_at:%Y-%m-%d %H:%M} UTC is "
                f"{age_s / 60:.0f} min old (> {self.cfg.max_input_age_s / 60:.0f} min)"
            )
        return InputsReport(stats=stats, input_age_s=age_s)

    # --- 2. build ------------------------------------------------------------------
    def build(self, as_of_date: date | None = None, *, full_refresh: bool = False) -> Candidate:
        """Take the lease and `dbt build` the idle color. Raises `DQGateError` if a dbt test fails.

        `full_refresh` forces a bounded rebuild; it is implied for a dirty color.
        """
        now = datetime.now(UTC)
        with self.store.change("build_started", owner=self.owner) as st:
            lease = st.lease
            if lease and lease.is_alive(now) and lease.owner != self.owner:
                raise BuildInProgress(
                    f"build {lease.build_id} into {lease.color} holds the lease since {lease.started_at} "
                    f"({lease.owner}); the live version keeps serving"
                )
            if lease:  # stale, or ours from a failed attempt: its table cannot be trusted
                self._mark_dirty(st, lease.color)
            color = st.idle_color
            previous = st.colors.get(color)
            full_refresh = (
                full_refresh
                or color in st.dirty
                or (previous is not None and previous.status in (BuildStatus.BUILDING, BuildStatus.REFUSED))
            )
            build_id = new_build_id(color, now)
            st.lease = Lease(
                build_id=build_id,
                color=color,
                owner=self.owner,
                host=socket.gethostname(),
                started_at=now.isoformat(timespec="milliseconds"),
                expires_at=(now + timedelta(seconds=self.cfg.dbt_timeout_s + 3_600)).isoformat(),
            )
            st.colors[color] = BuildRecord(
                build_id=build_id,
                color=color,
                status=BuildStatus.BUILDING,
                started_at=st.lease.started_at,
                as_of_date=as_of_date.isoformat() if as_of_date else None,
                full_refresh=full_refresh,
            )
            live = st.live_record()
            cand = Candidate(
                build_id=build_id,
                color=color.value,
                as_of_date=as_of_date.isoformat() if as_of_date else None,
                generation_seen=st.generation,
                previous_build_id=st.live_build_id,
                previous_served_rows=live.served_rows if live else None,
                full_refresh=full_refresh,
            )
        variables: dict[str, Any] = {
            "target_color": color.value,
            # the gate's thresholds have one home, RankingsSettings; dbt's tests read them as vars
            "max_duplicate_rate": self.cfg.max_duplicate_rate,
            "min_items_per_ranking_date": self.cfg.min_served_rows,
        }
        if as_of_date:
            variables["as_of_date"] = as_of_date.isoformat()
        if self.cfg.backfill_days:
            variables["backfill_days"] = self.cfg.backfill_days
        try:
            run = run_dbt(
                # cautious: a test is run only if all its parents are built here, so
                # a test of another story's model that also refs stg_items is not
                ["build", "--select", "+rankings", "--indirect-selection", "cautious"],
                self.settings,
                warehouse=self.warehouse,
                work_dir=self.folder / "dbt" / color.value,
                variables=variables,
                full_refresh=full_refresh,
                timeout_s=self.cfg.dbt_timeout_s,
            )
        except DbtError as exc:
            self._abandon(cand, f"dbt did not run: {exc}")
            raise
        cand.dbt_invocation_id = run.invocation_id
        cand.dbt_wall_s = round(run.wall_s, 3)
        cand.dbt_model_s = run.model_times()
        if not run.ok:
            self._refuse(cand, GateResult(dbt_checks(run)), run)
        cand.checks = dbt_checks(run)
        self._write_manifest(cand)
        return cand

    # --- 3. gate -------------------------------------------------------------------
    def gate(self, cand: Candidate) -> Candidate:
        """Run the GX suite on the built table; raise `DQGateError` (and keep the live version) on failure."""
        self._require_lease(cand)
        color = Color(cand.color)
        as_of = date.fromisoformat(cand.as_of_date) if cand.as_of_date else None
        table = load_built_table(self.warehouse, color, as_of)
        checks = run_gx_suite(table, cand.previous_served_rows, self.cfg)
        result = GateResult([c for c in cand.checks if c.source == "dbt"] + checks)
        cand.rows, cand.served_rows = table.rows, table.served_rows
        cand.ranking_date = table.served_date.isoformat() if table.served_date else None
        cand.max_ingested_at = table.max_ingested_at.isoformat() if table.max_ingested_at else None
        dup = next((c for c in checks if c.name == "duplicate_rate"), None)
        cand.duplicate_rate = dup.observed if dup and isinstance(dup.observed, float) else None
        cand.checks = result.checks
        if not result.passed:
            self._refuse(cand, result, None)
        payload = cache_payload(table, self.cfg.top_n)
        folder = self.build_dir(cand.build_id)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "payload.json").write_text(json.dumps(payload))
        with self.store.change("validated", build_id=cand.build_id) as st:
            rec = st.colors[color]
            rec.status = BuildStatus.VALIDATED
            rec.rows, rec.served_rows = cand.rows, cand.served_rows
            rec.ranking_date, rec.max_ingested_at = cand.ranking_date, cand.max_ingested_at
            rec.finished_at = utcnow_iso()
        self._write_manifest(cand)
        return cand

    def prepare(self, as_of_date: date | None = None, *, full_refresh: bool = False) -> Candidate:
        """build + gate: a validated candidate, not yet visible to anyone."""
        return self.gate(self.build(as_of_date, full_refresh=full_refresh))

    def invalidate(self, reason: str) -> None:
        """The lake's past changed (a backfill wrote rows with old ingest times): rebuild both colors in full.

        The incremental models re-process only what was ingested after their
        watermark; rows written "in the past" are invisible to them, and the
        counts check of the gate would (rightly) refuse every incremental build.
        """
        with self.store.change("invalidated", reason=reason) as st:
            for color in Color:
                self._mark_dirty(st, color)

    # --- 4. flip -------------------------------------------------------------------
    def flip(self, cand: Candidate, *, allow_older: bool = False) -> FlipResult:
        """Compare-and-set the flag to the candidate's color; idempotent for a retried task."""
        color = Color(cand.color)
        refusal: str | None = None
        stale = False
        with self.store.change("flip", build_id=cand.build_id) as st:
            if st.live_build_id == cand.build_id:
                return FlipResult(live_color=color.value, build_id=cand.build_id, already_live=True)
            rec = st.colors.get(color)
            live = st.live_record()
            if not st.lease or st.lease.build_id != cand.build_id:
                refusal = f"build {cand.build_id} no longer holds the build lease"
            elif rec is None or rec.build_id != cand.build_id or rec.status is not BuildStatus.VALIDATED:
                refusal = f"{color.table} does not hold validated build {cand.build_id}"
            elif st.generation != cand.generation_seen:
                refusal = (
                    f"the flag changed since build {cand.build_id} started (generation "
                    f"{cand.generation_seen} -> {st.generation}: a rollback or another publish)"
                )
            elif (
                not allow_older
                and live is not None
                and live.ranking_date
                and cand.ranking_date
                and cand.ranking_date < live.ranking_date
            ):
                refusal = f"candidate ranks {cand.ranking_date}, older than the live {live.ranking_date}"
                stale = True
            if refusal:
                st.lease = None  # give the idle color back; nothing was published
                if rec is not None and rec.build_id == cand.build_id:
                    rec.reason = refusal
            else:
                old_color, old_build = st.live_color, st.live_build_id
                st.live_color, st.live_build_id, st.previous_build_id = color, cand.build_id, old_build
                if rec is None:  # excluded by the refusal checks above; kept for the type checker
                    raise FlipRefused(f"no record of build {cand.build_id}")
                rec.status, rec.published_at = BuildStatus.LIVE, utcnow_iso()
                if old_color is not None and old_color in st.colors:
                    st.colors[old_color].status = BuildStatus.STANDBY
                st.generation += 1
                st.lease = None
                if color in st.dirty:
                    st.dirty.remove(color)
        if refusal:
            kind = StaleCandidate if stale else FlipRefused
            raise kind(f"not flipping to {cand.build_id}: {refusal}; the live version keeps serving")
        view = self._sync_view(color)
        return FlipResult(
            live_color=color.value,
            build_id=cand.build_id,
            previous_build_id=cand.previous_build_id,
            view_synced=view,
        )

    # --- 5. warm -------------------------------------------------------------------
    def warm(self, cand: Candidate) -> WarmReport:
        """Write the version's keys, then move the serving pointer if the flag still names it."""
        payload = self._payload(cand.build_id)
        warmed = self.cache.warm(cand.build_id, payload, self.cfg.version_ttl_s)
        with self.store.change("served", build_id=cand.build_id) as st:
            if st.live_build_id != cand.build_id:
                raise FlipRefused(
                    f"the flag names {st.live_build_id}, not {cand.build_id} (rolled back meanwhile?): "
                    "the serving pointer is not moved"
                )
            replaced = self._move_pointer(st.served_build_id, cand.build_id)
            st.served_build_id, st.served_at = cand.build_id, utcnow_iso()
            served_at = st.served_at
        return WarmReport(
            build_id=cand.build_id,
            replaced=replaced,
            lists=warmed.lists,
            items=warmed.items,
            warm_s=round(warmed.seconds, 4),
            served_at=served_at,
        )

    # --- 6. record -----------------------------------------------------------------
    def record(self, cand: Candidate, *, now: datetime | None = None) -> PublishMetrics:
        """Freshness at publish and the published table's quality, appended to metrics.jsonl."""
        st = self.store.read()
        served_at = datetime.fromisoformat(st.served_at) if st.served_at else (now or datetime.now(UTC))
        fresh = (
            freshness_s(served_at, datetime.fromisoformat(cand.max_ingested_at))
            if cand.max_ingested_at
            else None
        )
        metrics = PublishMetrics(
            build_id=cand.build_id,
            color=cand.color,
            ranking_date=cand.ranking_date,
            as_of_date=cand.as_of_date,
            served_at=served_at.isoformat(),
            max_ingested_at=cand.max_ingested_at,
            freshness_at_publish_s=None if fresh is None else round(fresh, 3),
            duplicate_rate=cand.duplicate_rate,
            rows=cand.rows,
            served_rows=cand.served_rows,
            full_refresh=cand.full_refresh,
            dbt_wall_s=cand.dbt_wall_s,
            dbt_model_s=cand.dbt_model_s,
            top20_overlap_with_previous=self._top_overlap(cand.build_id, cand.previous_build_id),
        )
        self.folder.mkdir(parents=True, exist_ok=True)
        with (self.folder / "metrics.jsonl").open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(metrics.to_dict()) + "\n")
        self._prune_builds()
        return metrics

    # --- the whole cycle -------------------------------------------------------------
    def run_cycle(
        self, as_of_date: date | None = None, *, allow_older: bool = False, full_refresh: bool = False
    ) -> CycleResult:
        """check_inputs -> build -> gate -> flip -> warm -> record; returns every step's output."""
        timings: dict[str, float] = {}

        def timed(name: str, step: Callable[[], T]) -> T:
            t0 = time.monotonic()
            out = step()
            timings[name] = round(time.monotonic() - t0, 3)
            return out

        inputs = timed("check_inputs", lambda: self.check_inputs(as_of_date))
        built = timed("build", lambda: self.build(as_of_date, full_refresh=full_refresh))
        cand = timed("gate", lambda: self.gate(built))
        flip = timed("flip", lambda: self.flip(cand, allow_older=allow_older))
        warm = timed("warm", lambda: self.warm(cand))
        metrics = timed("record", lambda: self.record(cand))
        return CycleResult(
            inputs=inputs, candidate=cand, flip=flip, warm=warm, metrics=metrics, timings_s=timings
        )

    # --- rollback ------------------------------------------------------------------
    def rollback(self) -> RollbackResult:
        """Serve the previous build again: pointer, flag and view, in that order of urgency."""
        t0 = time.monotonic()
        with self.store.change("rollback") as st:
            target = st.rollback_target()
            if target is None:
                raise RollbackUnavailable(self._why_no_rollback())
            old_color, old_build = st.live_color, st.live_build_id
            if old_color is None:  # rollback_target() is None without a live color
                raise RollbackUnavailable("nothing is published yet")
            if not self.cache.has_version(target.build_id):
                self.cache.warm(target.build_id, self._payload(target.build_id), self.cfg.version_ttl_s)
            self._move_pointer(st.served_build_id, target.build_id)
            pointer_s = time.monotonic() - t0
            st.served_build_id, st.served_at = target.build_id, utcnow_iso()
            st.live_color, st.live_build_id, st.previous_build_id = target.color, target.build_id, None
            target.status = BuildStatus.LIVE
            st.colors[old_color].status = BuildStatus.ROLLED_BACK
            st.colors[old_color].reason = "rolled back by an operator"
            self._mark_dirty(st, old_color)
            st.generation += 1
        view = self._sync_view(target.color)
        return RollbackResult(
            live_color=target.color.value,
            build_id=target.build_id,
            rolled_back_from=old_build,
            pointer_moved_ms=round(pointer_s * 1000, 2),
            view_synced=view,
        )

    # --- status --------------------------------------------------------------------
    def status(self) -> PublisherStatus:
        st = self.store.read()
        pointer: str | None = None
        redis_error: str | None = None
        ttl: int | None = None
        try:
            pointer = self.cache.live_build()
            if pointer:
                ttl = self.cache.version_ttl_s(pointer)
        except Exception as exc:  # status must print even when Redis is down
            redis_error = f"unavailable: {type(exc).__name__}"
        live = st.live_record()
        fresh = (
            round(freshness_s(datetime.now(UTC), datetime.fromisoformat(live.max_ingested_at)), 1)
            if live and live.max_ingested_at
            else None
        )
        return PublisherStatus(
            live_color=st.live_color.value if st.live_color else None,
            live_build_id=st.live_build_id,
            served_build_id=st.served_build_id,
            previous_build_id=st.previous_build_id,
            rollback_available=st.rollback_target() is not None,
            generation=st.generation,
            dirty=[c.value for c in st.dirty],
            lease_build_id=st.lease.build_id if st.lease else None,
            colors={
                c.value: ColorStatus(
                    r.build_id, r.status.value, r.rows, r.served_rows, r.ranking_date, r.reason
                )
                for c, r in sorted(st.colors.items())
            },
            view_color=st.view_color.value if st.view_color else None,
            redis_pointer=pointer,
            redis_error=redis_error,
            redis_live_ttl_s=ttl,
            freshness_now_s=fresh,
        )

    # --- internals -----------------------------------------------------------------
    def _move_pointer(self, expected: str | None, new: str) -> str | None:
        try:
            return self.cache.move_pointer(expected, new, self.cfg.previous_ttl_s)
        except FlipRefused:
            # Redis lost the pointer (restart, flush): the flag is the source of truth.
            if self.cache.live_build() is None:
                return self.cache.move_pointer(None, new, self.cfg.previous_ttl_s)
            raise

    def _sync_view(self, color: Color) -> bool:
        try:
            sync_live_view(self.warehouse, color)
        except (RankingsTransientError, RankingsError):
            return False  # the API is unaffected; the next flip or rollback re-syncs
        with self.store.change("view_synced", color=color.value) as st:
            st.view_color = color
        return True

    def view_color(self) -> Color | None:
        return live_view_color(self.warehouse)

    def _mark_dirty(self, st: ControlState, color: Color) -> None:
        if color not in st.dirty:
            st.dirty.append(color)

    def _require_lease(self, cand: Candidate) -> None:
        st = self.store.read()
        if not st.lease or st.lease.build_id != cand.build_id:
            raise FlipRefused(f"build {cand.build_id} no longer holds the build lease")

    def _refuse(self, cand: Candidate, result: GateResult, run: DbtRun | None) -> None:
        failures = result.failures()
        cand.checks = result.checks
        self._write_manifest(cand)
        with self.store.change(
            "refused", build_id=cand.build_id, failures=[f.describe() for f in failures]
        ) as st:
            rec = st.colors.get(Color(cand.color))
            if rec is not None and rec.build_id == cand.build_id:
                rec.status, rec.finished_at = BuildStatus.REFUSED, utcnow_iso()
                rec.reason = "; ".join(f.describe() for f in failures)[:1000]
                rec.rows, rec.served_rows, rec.ranking_date = cand.rows, cand.served_rows, cand.ranking_date
            self._mark_dirty(st, Color(cand.color))
            if st.lease and st.lease.build_id == cand.build_id:
                st.lease = None
        raise DQGateError(cand.build_id, failures)

    def _abandon(self, cand: Candidate, reason: str) -> None:
        with self.store.change("abandoned", build_id=cand.build_id, reason=reason) as st:
            rec = st.colors.get(Color(cand.color))
            if rec is not None and rec.build_id == cand.build_id:
                rec.reason = reason[:1000]
            self._mark_dirty(st, Color(cand.color))
            if st.lease and st.lease.build_id == cand.build_id:
                st.lease = None

    def _write_manifest(self, cand: Candidate) -> None:
        folder = self.build_dir(cand.build_id)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "manifest.json").write_text(json.dumps(cand.to_dict(), indent=2, default=str))

    def _payload(self, build_id: str) -> CachePayload:
        path = self.build_dir(build_id) / "payload.json"
        if not path.exists():
            raise RollbackUnavailable(f"no cache payload for build {build_id} ({path} was pruned)")
        payload: CachePayload = json.loads(path.read_text())  # written by `gate` (cache_payload)
        return payload

    def _top_overlap(self, build_id: str, previous: str | None, k: int = 20) -> float | None:
        """Share of the overall top-k shared with the previous build: rank churn.

        The gate checks shape (counts, nulls, keys), not whether the order makes
        sense; a sudden drop of this overlap is the signal that watches that risk
        (docs/rankings.md, "The risk not mitigated").
        """
        if previous is None:
            return None
        try:
            tops = [
                {json.loads(x)["item_id"] for x in self._payload(b)["lists"]["overall"][:k]}
                for b in (build_id, previous)
            ]
        except RollbackUnavailable:
            return None
        return round(len(tops[0] & tops[1]) / max(len(tops[0]), 1), 4)

    def _why_no_rollback(self) -> str:
        st = self.store.read()
        if st.live_color is None:
            return "nothing is published yet"
        if st.previous_build_id is None:
            return (
                f"{st.live_build_id} has no previous version to return to "
                "(first publish, or already rolled back)"
            )
        rec = st.colors.get(st.live_color.other)
        held = f"{rec.build_id} ({rec.status})" if rec else "nothing"
        return (
            f"the previous version {st.previous_build_id} is gone from {st.live_color.other.table}, "
            f"which now holds {held}; publish a fixed build instead"
        )

    def _prune_builds(self) -> None:
        st = self.store.read()
        keep = {st.live_build_id, st.previous_build_id} | {r.build_id for r in st.colors.values()}
        builds = sorted((self.folder / "builds").glob("*"), key=lambda p: p.name, reverse=True)
        for path in builds[self.cfg.keep_builds :]:
            if path.name not in keep:
                shutil.rmtree(path, ignore_errors=True)


__all__ = ["Candidate", "Publisher", "new_build_id"]
