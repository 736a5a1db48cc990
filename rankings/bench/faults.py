"""A bad build the DQ gate must refuse, with serving checked before and after.

Backs story 2's "change failure rate 0% due to blue/green": a row-count
collapse (a feed that was down for a week and sent a test batch) is
injected into the lake; the publish attempt must be refused by the gate and
the served build and its content must not change, over Redis and over HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import httpx

from rankings.errors import DQGateError, RankingsError
from rankings.publish.publisher import Publisher
from starlab.events.model import Event
from starlab.lake.events import delete_events_with_prefix, write_lake_events
from starlab.settings import Settings

INJECTED_PREFIX = "inject-collapse-"
"""Event ids of the injected batch: removed from the table by this prefix afterwards."""


def inject_collapse(settings: Settings, after: date, items: int = 12) -> int:
    """A lone partition a week after `after` holding only `items` items; returns rows written.

    Its ranking date becomes the newest: dbt's absolute floor (10 items)
    passes, the GX row-count bound against the previous build (+-50%) must
    refuse it.
    """
    day = after + timedelta(days=8)
    now_ms = int(datetime.now(UTC).timestamp() * 1000)
    base_ms = int(datetime(day.year, day.month, day.day, 12, tzinfo=UTC).timestamp() * 1000)
    events = [
        Event(
            event_id=f"{INJECTED_PREFIX}{n}",
            user_id="u000001",
            item_id=f"i{n % items:05d}",
            event_type="click" if n % 5 == 0 else "impression",
            event_ts=base_ms + n * 1000,
            ingest_ts=now_ms,
            platform="web",
            session_id="s-inject",
            dwell_ms=None if n % 5 == 0 else 1000,
        )
        for n in range(items * 10)
    ]
    return write_lake_events(events, settings)


@dataclass(frozen=True)
class InjectedBuild:
    kind: str
    build_id: str | None
    refused: bool
    failures: list[str]
    served_build_before: str
    served_build_after: str | None
    served_build_http: str | None
    served_unchanged: bool


def injected_bad_build(publisher: Publisher, base_url: str | None = None) -> InjectedBuild:
    """Attempt to publish a row-count collapse; the gate must refuse it and serving must not change."""
    cache = publisher.cache
    before = cache.read(20)
    live = publisher.store.read().live_record()
    if before is None or live is None or live.ranking_date is None:
        raise RankingsError("nothing is served yet: publish once before injecting a bad build")
    inject_collapse(publisher.settings, date.fromisoformat(live.ranking_date))
    refused, failures, build = False, [], None
    try:
        publisher.prepare()
    except DQGateError as exc:
        refused, failures, build = True, [f.describe() for f in exc.failures], exc.build_id
    finally:
        # the bad batch leaves the table again (a copy-on-write delete, one commit)
        delete_events_with_prefix(publisher.settings, INJECTED_PREFIX)
    after = cache.read(20)
    served_unchanged = after == before
    http_build = None
    if base_url:
        http_build = httpx.get(f"{base_url}/rankings?limit=20", timeout=5).json().get("build_id")
        served_unchanged = served_unchanged and http_build == before[0]
    return InjectedBuild(
        kind="row-count collapse (12 items on a new ranking date)",
        build_id=build,
        refused=refused,
        failures=failures,
        served_build_before=before[0],
        served_build_after=after[0] if after else None,
        served_build_http=http_build,
        served_unchanged=served_unchanged,
    )


__all__ = ["InjectedBuild", "inject_collapse", "injected_bad_build"]
