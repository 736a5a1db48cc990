"""The stories' rate, freshness, availability and SLO formulas as pure functions.

Every number the stories claim about a pipeline's health (freshness "<5
minutes", loss "0.03%", duplication "0.2%", availability "0.995^4 = 0.980",
"99.94%" with a cache) is computed by one function here, so the evidence report
and every story measure the same thing the same way. Each docstring quotes the
story line it implements: `000 QF` is the "Quick formulas and checks" section
of `stories/000_*.txt`, `000 tip` the metric list at its top, `004` the
"Key formulas and checks" of `stories/004_*.txt`.

Conventions:
- Rates are fractions in [0, 1] (0.003, not 0.3%); multiply by 100 to print.
- A zero or empty denominator raises `MetricError`, never returns 0: a report
  that printed "loss 0%" for a run that produced nothing would be a false pass.
- Counts are non-negative ints; probabilities are floats in [0, 1].
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime
from typing import overload

from starlab.metrics.errors import MetricError

__all__ = [
    "all_succeed_probability",
    "burn_rate",
    "cached_availability",
    "duplicate_rate",
    "error_budget",
    "event_loss_rate",
    "failure_rate",
    "fanout_availability",
    "freshness_s",
    "freshness_s_of",
    "hit_rate",
    "reduction",
    "relative_change",
    "slo_conformance",
    "unique_ratio",
    "weighted_latency",
]


# --- input checks ----------------------------------------------------------------


def _count(name: str, value: int) -> int:
    # bool is an int subclass; True as a row count is always a bug upstream.
    if isinstance(value, bool) or not isinstance(value, int):
        raise MetricError(f"{name} must be an int count, got {value!r}")
    if value < 0:
        raise MetricError(f"{name} must be >= 0, got {value}")
    return value


def _probability(name: str, value: float) -> float:
    p = float(value)
    if not 0.0 <= p <= 1.0:  # also rejects NaN: every comparison with NaN is False
        raise MetricError(f"{name} must be a probability in [0, 1], got {value!r}")
    return p


def _finite(name: str, value: float) -> float:
    x = float(value)
    if not math.isfinite(x):
        raise MetricError(f"{name} must be a finite number, got {value!r}")
    return x


# --- freshness --------------------------------------------------------------------

_Instant = datetime | int | float


def _epoch_s(name: str, value: _Instant) -> tuple[str, float]:
    """An instant as (kind, seconds since the epoch); kind is 'datetime' or 'epoch_ms'."""
    if isinstance(value, datetime):
        # A naive datetime is local time on one machine and UTC on another:
        # subtracting it from an aware one would be off by the UTC offset.
        if value.tzinfo is None or value.utcoffset() is None:
            raise MetricError(f"{name} is a naive datetime; give it a timezone (UTC)")
        return "datetime", value.timestamp()
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise MetricError(f"{name} must be a datetime or epoch milliseconds, got {value!r}")
    return "epoch_ms", _finite(name, value) / 1000.0


@overload
def freshness_s(now: datetime, newest_ingest_ts: datetime) -> float: ...
@overload
def freshness_s(now: float, newest_ingest_ts: float) -> float: ...
def freshness_s(now: _Instant, newest_ingest_ts: _Instant) -> float:
    """Data freshness in seconds: `now - max(ingest_timestamp)`.

    Story 000 QF: "Data freshness (minutes) = now() - max(ingest_timestamp)";
    000 tip: "data freshness (now - last_ingest_ts)". Story 2 claims "65-90
    minutes" (<2h target), story 3 "<5-minute freshness", "2-4 minutes p95".

    Both arguments are the same kind, either timezone-aware `datetime`s or
    epoch milliseconds (int or float, UTC), the unit of `Event.ingest_ts`
    and of Kafka record timestamps. Mixing the kinds raises: a datetime minus
    a millisecond count is a unit bug, not a freshness. Seconds (not the
    story's minutes) are returned so sub-minute streaming freshness keeps its
    precision; divide by 60 for minutes.

    Raises `MetricError` if the newest ingest is after `now`: that means
    swapped arguments or disagreeing clocks, and a negative freshness would
    pass every "< N minutes" claim.
    """
    return _freshness(now, newest_ingest_ts)


def _freshness(now: _Instant, newest_ingest_ts: _Instant) -> float:
    now_kind, now_s = _epoch_s("now", now)
    ts_kind, ts_s = _epoch_s("newest_ingest_ts", newest_ingest_ts)
    if now_kind != ts_kind:
        raise MetricError(
            f"now is {now_kind} but newest_ingest_ts is {ts_kind}; pass both as "
            "aware datetimes or both as epoch milliseconds"
        )
    age_s = now_s - ts_s
    if age_s < 0:
        raise MetricError(
            f"newest ingest timestamp is {-age_s:.3f} s after now: swapped arguments or clock skew"
        )
    return age_s


@overload
def freshness_s_of(now: datetime, ingest_timestamps: Iterable[datetime]) -> float: ...
@overload
def freshness_s_of(now: float, ingest_timestamps: Iterable[float]) -> float: ...
def freshness_s_of(now: _Instant, ingest_timestamps: Iterable[_Instant]) -> float:
    """Freshness of a whole table or topic: `freshness_s(now, max(ingest_timestamps))`.

    The max is taken here so callers can pass a column as is. Raises
    `MetricError` on an empty input: an empty table has no freshness, and
    calling it fresh would be a false pass.
    """
    values = list(ingest_timestamps)
    if not values:
        raise MetricError("no ingest timestamps: an empty table has no freshness")
    kinds = {_epoch_s("ingest_timestamps[i]", v)[0] for v in values}
    if len(kinds) > 1:
        raise MetricError("ingest_timestamps mixes datetimes and epoch milliseconds")
    newest = max(values, key=lambda v: _epoch_s("ingest_timestamps[i]", v)[1])
    return _freshness(now, newest)


# --- rates ------------------------------------------------------------------------


def event_loss_rate(produced: int, consumed: int) -> float:
    """End-to-end loss: `(produced - consumed) / produced`.

    Story 000 QF: "Event loss rate = (produced - consumed) / produced"; story 3
    claims "end-to-end loss rate < 0.1%" and "event loss reduced to 0.03%".

    `consumed` must count distinct event ids that arrived, so duplicates cannot
    hide losses (duplicates are `duplicate_rate`'s job). Raises `MetricError`
    if `produced` is 0 (nothing to lose is not "0% loss") or if
    `consumed > produced` (a negative loss would pass any loss claim; it
    means duplicates were counted, or the producer count is wrong).
    """
    produced = _count("produced", produced)
    consumed = _count("consumed", consumed)
    if produced == 0:
        raise MetricError("produced is 0: loss rate is undefined for an empty run")
    if consumed > produced:
        raise MetricError(
            f"consumed ({consumed}) > produced ({produced}): count distinct event ids "
            "on the consumer side; duplicates belong in duplicate_rate"
        )
    return (produced - consumed) / produced


def duplicate_rate(total: int, distinct: int) -> float:
    """Share of rows that are repeats of an id already seen: `1 - distinct / total`.

    Story 2 claims "<0.5% duplication" and measured "duplication rate 0.2%".
    Story 000 QF writes "Duplicate rate = count(distinct id) / count(*)", but
    that expression is the *unique* ratio (1.0 for a table with no duplicates),
    so read literally it would report a clean table as 100% duplicated. This
    function returns what the story's figures mean (0.002 for 0.2%); the
    story's literal expression is `unique_ratio`.

    `total` is `count(*)`, `distinct` is `count(distinct id)`. Note SQL's
    `count(distinct id)` skips NULL ids, so NULL ids count as duplicates here;
    check `not_null` separately. Raises `MetricError` for `total == 0` or
    `distinct > total`.
    """
    return 1.0 - unique_ratio(total, distinct)


def unique_ratio(total: int, distinct: int) -> float:
    """The story's literal "duplicate rate": `count(distinct id) / count(*)`.

    Story 000 QF: "Duplicate rate = count(distinct id) / count(*)". This is the
    fraction of rows that are unique (1.0 = no duplicates), the complement of
    `duplicate_rate`. Raises `MetricError` for `total == 0` or
    `distinct > total`.
    """
    total = _count("total", total)
    distinct = _count("distinct", distinct)
    if total == 0:
        raise MetricError("total is 0: duplicate/unique ratio of an empty table is undefined")
    if distinct > total:
        raise MetricError(f"distinct ({distinct}) cannot exceed total ({total})")
    return distinct / total


def failure_rate(bad_records: int, total_records: int) -> float:
    """`bad_records / total_records`.

    Story 000 tip: "Reliability: failure rate = bad_records / total_records";
    004's guardrail "failure rate > 0.5%". Also serves change failure rate
    (failed deploys / deploys, story 2's "change failure rate 0%"). Raises
    `MetricError` for `total_records == 0` or `bad_records > total_records`.
    """
    bad = _count("bad_records", bad_records)
    total = _count("total_records", total_records)
    if total == 0:
        raise MetricError("total_records is 0: failure rate is undefined")
    if bad > total:
        raise MetricError(f"bad_records ({bad}) cannot exceed total_records ({total})")
    return bad / total


def hit_rate(hits: int, misses: int) -> float:
    """Cache hit rate `hits / (hits + misses)`.

    Story 004: "Cache hit-rate in shadow: ~95%", "from 95% to ~97%" with
    pre-warming, "from 97% to 85%" under the 2x spike. Raises `MetricError` if
    there were no lookups.
    """
    h = _count("hits", hits)
    m = _count("misses", misses)
    if h + m == 0:
        raise MetricError("no cache lookups: hit rate is undefined")
    return h / (h + m)


# --- availability -------------------------------------------------------------------


def fanout_availability(availabilities: Iterable[float]) -> float:
    """Availability of a synchronous fan-out that needs every call: `prod(availability_i)`.

    Story 004: "Availability for independent calls: P(success) =
    prod(availability_i)" and "0.995^4 = 0.980 (98.0%)". Assumes independent
    failures and no retries (retries raise availability and the tail latency).
    Raises `MetricError` on an empty input (a fan-out to nothing is a bug).
    """
    values = [_probability("availability", a) for a in availabilities]
    if not values:
        raise MetricError("fan-out to no services: give at least one availability")
    return math.prod(values)


def all_succeed_probability(failure_probs: Iterable[float]) -> float:
    """`prod(1 - p_i)`: the same quantity as `fanout_availability`, from failure rates.

    Story 004: "the simple reliability formula P(all succeed) = prod(1 - p_i)".
    """
    return fanout_availability(1.0 - _probability("failure_prob", p) for p in failure_probs)


def cached_availability(hit_rate: float, cache_availability: float, call_availability: float) -> float:
    """Success of a read-through cache: `hit * A_cache + miss * (A_cache * A_call)`.

    Story 004: "Effective success ~ 0.95x0.9999 + 0.05x(0.9999x0.995) ~ 99.94%".
    A miss still reads the cache first, then calls the dependency, so it needs
    both. With the story's inputs the expression is 0.99965 (99.965%): the
    story's "99.94%" understates its own arithmetic, so a measured 99.95% is
    consistent with the model.
    """
    h = _probability("hit_rate", hit_rate)
    a_cache = _probability("cache_availability", cache_availability)
    a_call = _probability("call_availability", call_availability)
    return h * a_cache + (1.0 - h) * a_cache * a_call


def weighted_latency(hit_rate: float, cache_latency: float, call_latency: float) -> float:
    """Story 004's cache latency estimate: `cache * hit + (cache + call) * miss`.

    Story 004: "Weighted latency with cache: p95 ~ cache_latency x hit_rate +
    (cache_latency + call_latency) x miss_rate (approximation; validate with
    measurement)". It is an expected value, not a percentile: a p95 is not a
    weighted mean of p95s. starlab prints it next to the measured p95 (see
    `starlab.metrics.latency`) to show the gap. Units are the caller's (ms).
    """
    h = _probability("hit_rate", hit_rate)
    cache = _finite("cache_latency", cache_latency)
    call = _finite("call_latency", call_latency)
    if cache < 0 or call < 0:
        raise MetricError("latencies must be >= 0")
    return cache * h + (cache + call) * (1.0 - h)


# --- SLOs -------------------------------------------------------------------------


def error_budget(target: float, total_requests: int) -> float:
    """Failures an availability target allows: `(1 - target) * total_requests`.

    Story 4: "99.9% uptime, <1% monthly error budget"; story 004: "no error
    budget burn". E.g. 99.9% over 1,000,000 requests allows 1,000 failures.
    `target` is a fraction strictly between 0 and 1 (a 100% target has no
    budget, so every conformance ratio against it would divide by zero).
    """
    t = _probability("target", target)
    if not 0.0 < t < 1.0:
        raise MetricError(f"target must be in (0, 1) exclusive, got {target!r}")
    n = _count("total_requests", total_requests)
    return (1.0 - t) * n


def slo_conformance(error_budget_burn: float, budget: float) -> float:
    """`1 - error_budget_burn / budget`: the share of the error budget left.

    Story 000 QF: "SLO conformance = 1 - (error_budget_burn / budget)". Burn and
    budget in the same unit (failed requests, or bad minutes). 1.0 = nothing
    spent, 0.0 = exactly spent, negative = overspent by that fraction (kept
    negative, not clamped, so the report shows how far over). Raises
    `MetricError` for a budget <= 0 or a negative burn.
    """
    burn = _finite("error_budget_burn", error_budget_burn)
    b = _finite("budget", budget)
    if b <= 0:
        raise MetricError(f"budget must be > 0, got {budget!r}")
    if burn < 0:
        raise MetricError(f"error_budget_burn must be >= 0, got {error_budget_burn!r}")
    return 1.0 - burn / b


def burn_rate(failed: int, total: int, target: float) -> float:
    """How fast errors spend the budget: `(failed / total) / (1 - target)`.

    1.0 spends the budget exactly over the SLO window; the multiwindow alerts
    of Google's SRE workbook page at 14.4 over 1 h. Backs story 3's "SLO-based
    alerting". Raises `MetricError` for `total == 0`.
    """
    budget_per_request = error_budget(target, 1)
    return failure_rate(failed, total) / budget_per_request


# --- change -----------------------------------------------------------------------


def relative_change(before: float, after: float) -> float:
    """`(after - before) / before`: -0.35 for "dropped 35%", +0.031 for "+3.1%".

    Story 1: "p95 DAG runtime variance dropped 35%", story 3: "net cost -18%",
    story 4: "TCO -22%". Divides by `|before|` so the sign always gives the
    direction even for a negative baseline. Raises `MetricError` if `before`
    is 0.
    """
    b = _finite("before", before)
    a = _finite("after", after)
    if b == 0:
        raise MetricError("before is 0: relative change is undefined")
    return (a - b) / abs(b)


def reduction(before: float, after: float) -> float:
    """`(before - after) / before`: 0.6 for "on-call pages fell 60%".

    The positive form of a drop, so a claim like "fell >= 50%" compares with
    `>=`. Story 1: "pages fell 60%", story 3: "tickets dropped 50%".
    """
    return -relative_change(before, after)
