"""Design A of the 004 story: a synchronous, parallel fan-out to the four dependencies per request.

The senior engineer's design: for every request, call social graph,
embeddings, geo and abuse in parallel, each with a per-call timeout and
retries, and fail the request if any call still fails. It backs the story's
claims that "tail latency behaves like the max of the calls", that
availability is prod(a_i) (0.995^4 = 98.0%), and that "with retries,
availability improves but increases tail latency" (measured p95 ~290 ms end
to end in the story).

Built on well-kept pieces: one shared aiohttp `ClientSession` (a pooled,
keep-alive connector: the design's per-request cost must not include TCP
handshakes), `stamina` for retries (exponential backoff with jitter, a
bounded number of attempts, only on `FeatureCacheTransientError`), and
`asyncio.timeout` per attempt. An overall deadline bounds everything: an
attempt's timeout is min(per-call timeout, time left), and a retry is not
started unless its worst-case backoff plus `min_attempt_ms` fits in what is
left. `fetch_embeddings` is the same machinery for a single call: design
B's on-demand call, to wrap in `breaker.OnDemandBreaker`.

Why aiohttp rather than httpx: both pool connections, but measured here
against one simulator (10 calls in flight, keep-alive) aiohttp's client cost
0.26-0.30 ms CPU per call and httpx's 2.8-3.0 ms; with the load generator,
the serving process and four simulators on 2 cores, that decides it. One
aiohttp behaviour to know: it re-sends an idempotent request once, silently,
when a reused connection drops before the response headers; the simulators
therefore inject resets mid-body, where every failure reaches this code.
Measured cost of this client: ~2.8-3.7 ms CPU per fan-out of four calls
(raw aiohttp: ~1.4 ms); the rest is stamina/tenacity per call, task and
timeout set-up and schema validation.

The story gives no timeout or retry values; ours: 150 ms per call (in each
`ServiceConfig`), 3 attempts, backoff 20 ms doubling to at most 100 ms plus
up to 20 ms of jitter, 400 ms overall. Settings the lead may expose:
`attempts`, `deadline_ms`, `backoff_*_ms`, `min_attempt_ms`, `fail_fast`,
`pool_size`.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import TracebackType
from urllib.parse import quote

import aiohttp
import stamina
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from feature_cache.deps.config import DependencyEndpoint, DependencyName
from feature_cache.deps.features import AbuseFeatures, EmbeddingFeatures, GeoFeatures, SocialFeatures
from feature_cache.errors import DependencyError, FeatureCacheError, FeatureCacheTransientError

REQUEST_ID_HEADER = "X-Request-Id"
"""Sent on every attempt as `<request_id>/<attempt>`: the simulators draw a call's latency and
failure from it, so a replayed request id replays the same faults."""
SERVICE_TIME_HEADER = "X-Service-Time-Ms"
"""Read when present: the service's own time for the call (the simulators send it)."""


class FanoutConfig(BaseModel):
    """Retry, deadline and pool settings of design A (the per-call timeout is per dependency)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    attempts: int = Field(default=3, ge=1, le=10)
    """Attempts per dependency, the first included: 1 = no retry."""
    deadline_ms: float = Field(default=400.0, gt=0, le=60_000)
    """Budget of the whole fan-out, retries and backoff included."""
    backoff_initial_ms: float = Field(default=20.0, ge=0)
    backoff_max_ms: float = Field(default=100.0, ge=0)
    backoff_jitter_ms: float = Field(default=20.0, ge=0)
    """Uniform jitter added to each backoff, so retries of a burst do not land together."""
    min_attempt_ms: float = Field(default=20.0, ge=0)
    """An attempt is not started with less budget left than this: it could not succeed."""
    fail_fast: bool = True
    """Cancel the other calls once one dependency has failed for good: the request
    fails anyway (design A has no partial answer), so their time and calls are waste."""
    pool_size: int = Field(default=256, ge=1, le=10_000)
    """Connections in the shared pool (all dependencies together)."""


class FailureKind(StrEnum):
    """Why one attempt failed, as the caller saw it."""

    TIMEOUT = "timeout"
    """The per-call timeout expired (transient, retried)."""
    HTTP_5XX = "http_5xx"
    """The service answered 5xx (transient, retried)."""
    CONNECTION = "connection"
    """Refused, reset or cut mid-body (transient, retried)."""
    DEADLINE = "deadline"
    """The overall deadline left no time for this or another attempt (not retried)."""
    HTTP_4XX = "http_4xx"
    """The service refused the request itself (terminal)."""
    INVALID_PAYLOAD = "invalid_payload"
    """The answer did not match the dependency's schema (terminal)."""


class CallOutcome(StrEnum):
    OK = "ok"
    """Succeeded on the first attempt."""
    RETRIED = "retried"
    """Succeeded after at least one failed attempt."""
    FAILED = "failed"
    """Failed after its retries (or on a terminal error)."""
    CANCELLED = "cancelled"
    """Stopped because another dependency failed first (`fail_fast`)."""


class DependencyCallError(DependencyError):
    """A dependency call failed transiently (timeout, 5xx, reset, deadline): retried, then fatal to A."""

    def __init__(self, dependency: DependencyName, kind: FailureKind, detail: str = "") -> None:
        super().__init__(f"{dependency.value}: {kind.value}{': ' + detail if detail else ''}")
        self.dependency = dependency
        self.kind = kind


class DependencyContractError(FeatureCacheError):
    """A dependency refused the request (4xx) or answered off-schema: terminal, never retried."""

    def __init__(self, dependency: DependencyName, kind: FailureKind, detail: str = "") -> None:
        super().__init__(f"{dependency.value}: {kind.value}{': ' + detail if detail else ''}")
        self.dependency = dependency
        self.kind = kind


@dataclass(frozen=True)
class DependencyResult:
    """What happened to one dependency within one fan-out."""

    name: DependencyName
    outcome: CallOutcome
    attempts: int
    """HTTP requests sent to this dependency for this fan-out."""
    latency_ms: float
    """From the first attempt's start to the final outcome, backoff included."""
    failures: tuple[FailureKind, ...] = ()
    """One entry per failed attempt, in order."""
    service_ms: float | None = None
    """What the service reported spending on the last attempt it answered
    (`X-Service-Time-Ms`); latency_ms minus this is the caller's own overhead."""
    answered: int = 0
    """Attempts whose response headers arrived, so the service's handler surely ran. The rest
    (timed out or cancelled in flight) may never have reached it: on a starved machine the
    caller gives up and closes the connection before the service reads the request."""


@dataclass(frozen=True)
class UserFeatures:
    """The four services' answers for one user: what design A returns on success."""

    social: SocialFeatures
    embeddings: EmbeddingFeatures
    geo: GeoFeatures
    abuse: AbuseFeatures


@dataclass(frozen=True)
class FanoutResult:
    """One request of design A: features if every dependency answered, and how each call went."""

    user_id: str
    request_id: str
    features: UserFeatures | None
    dependencies: tuple[DependencyResult, ...]
    latency_ms: float
    """Wall time of the whole fan-out (the max of the calls, or the first final failure)."""

    @property
    def ok(self) -> bool:
        return self.features is not None

    @property
    def calls_made(self) -> int:
        """HTTP requests sent, retries included: what the story's cost per call is charged on."""
        return sum(d.attempts for d in self.dependencies)

    @property
    def calls_answered(self) -> int:
        """Of `calls_made`, the requests a service surely handled (its headers came back)."""
        return sum(d.answered for d in self.dependencies)

    @property
    def retried(self) -> bool:
        return any(d.attempts > 1 for d in self.dependencies)

    def raise_for_failure(self) -> UserFeatures:
        """The features, or the error: `DependencyContractError` (terminal) if a dependency
        refused the request or answered off-schema, else `DependencyError` (transient)."""
        if self.features is not None:
            return self.features
        failed = [d for d in self.dependencies if d.outcome is CallOutcome.FAILED]
        for d in failed:
            if d.failures and d.failures[-1] in _TERMINAL_KINDS:
                raise DependencyContractError(d.name, d.failures[-1], f"fan-out for {self.user_id}")
        detail = ", ".join(
            f"{d.name.value} ({'/'.join(k.value for k in d.failures)}, {d.attempts} attempts)" for d in failed
        )
        raise DependencyError(f"fan-out for {self.user_id} failed: {detail or 'no dependency answered'}")


_TERMINAL_KINDS = frozenset({FailureKind.HTTP_4XX, FailureKind.INVALID_PAYLOAD})

_MODELS: dict[DependencyName, type[BaseModel]] = {
    DependencyName.SOCIAL: SocialFeatures,
    DependencyName.EMBEDDINGS: EmbeddingFeatures,
    DependencyName.GEO: GeoFeatures,
    DependencyName.ABUSE: AbuseFeatures,
}


@dataclass
class _Tracker:
    """Mutable per-call record, readable even if the call's task is cancelled."""

    attempts: int = 0
    failures: list[FailureKind] = field(default_factory=list)
    started: float = 0.0
    ended: float | None = None
    service_ms: float | None = None
    answered: int = 0


class FanoutClient:
    """Design A's client: `async with FanoutClient(fleet.endpoints) as a: await a.fetch("u1")`."""

    def __init__(
        self,
        endpoints: Mapping[DependencyName, DependencyEndpoint],
        config: FanoutConfig | None = None,
        *,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        self._endpoints = dict(endpoints)
        self.config = config or FanoutConfig()
        self._session = session
        self._owns_session = session is None

    async def __aenter__(self) -> FanoutClient:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def start(self) -> None:
        # stamina builds its retry hooks (importing structlog / prometheus_client
        # when installed) on the first retry of the process, inside the event
        # loop: measured here, that first retry froze the loop for ~1 s and every
        # call in flight with it. Build them now, off the loop.
        await asyncio.to_thread(stamina.instrumentation.get_on_retry_hooks)
        if self._session is None:
            connector = aiohttp.TCPConnector(limit=self.config.pool_size, limit_per_host=0)
            # No session-wide timeout: each attempt has its own (asyncio.timeout below).
            self._session = aiohttp.ClientSession(
                connector=connector, timeout=aiohttp.ClientTimeout(total=None)
            )

    async def close(self) -> None:
        if self._session is not None and self._owns_session:
            await self._session.close()
            self._session = None

    async def fetch(self, user_id: str, *, request_id: str | None = None) -> FanoutResult:
        """Call the four dependencies in parallel; never raises for a dependency failure.

        The result says whether the request succeeded (`ok`), each
        dependency's outcome, attempts and latency, and the calls made.
        `raise_for_failure()` turns a failed result into a `DependencyError`.
        """
        self._check_ready(*DependencyName)
        rid = request_id or uuid.uuid4().hex
        loop = asyncio.get_running_loop()
        start = loop.time()
        deadline = start + self.config.deadline_ms / 1000.0
        trackers = {name: _Tracker(started=start) for name in DependencyName}
        tasks = {
            name: asyncio.create_task(
                self._call(self._endpoints[name], user_id, rid, deadline, trackers[name])
            )
            for name in DependencyName
        }
        try:
            for next_done in asyncio.as_completed(list(tasks.values())):
                try:
                    await next_done
                except (DependencyCallError, DependencyContractError):
                    if self.config.fail_fast:
                        break
        finally:
            for task in tasks.values():
                if not task.done():
                    task.cancel()
            await asyncio.gather(*tasks.values(), return_exceptions=True)
        end = loop.time()

        results: list[DependencyResult] = []
        payloads: dict[DependencyName, BaseModel] = {}
        for name, task in tasks.items():
            tr = trackers[name]
            latency_ms = ((tr.ended if tr.ended is not None else end) - tr.started) * 1000.0
            if task.cancelled():
                outcome = CallOutcome.CANCELLED
            elif (exc := task.exception()) is not None:
                if not isinstance(exc, DependencyCallError | DependencyContractError):
                    raise exc  # a bug, not a dependency failure: surface it
                outcome = CallOutcome.FAILED
            else:
                payloads[name] = task.result()
                outcome = CallOutcome.RETRIED if tr.attempts > 1 else CallOutcome.OK
            results.append(
                DependencyResult(
                    name, outcome, tr.attempts, latency_ms, tuple(tr.failures), tr.service_ms, tr.answered
                )
            )

        features: UserFeatures | None = None
        if len(payloads) == len(DependencyName):
            social, emb, geo, abuse = (payloads[n] for n in DependencyName)
            assert isinstance(social, SocialFeatures) and isinstance(emb, EmbeddingFeatures)
            assert isinstance(geo, GeoFeatures) and isinstance(abuse, AbuseFeatures)
            features = UserFeatures(social=social, embeddings=emb, geo=geo, abuse=abuse)
        return FanoutResult(user_id, rid, features, tuple(results), (end - start) * 1000.0)

    async def fetch_embeddings(self, user_id: str, *, request_id: str | None = None) -> EmbeddingFeatures:
        """Design B's on-demand call: the embeddings service alone, with the same per-call
        timeout, retries and overall deadline as a fan-out.

        Raises `DependencyCallError` (transient: what `OnDemandBreaker` counts and
        falls back on) or `DependencyContractError` (terminal). Only the embeddings
        endpoint is needed for this call.
        """
        self._check_ready(DependencyName.EMBEDDINGS)
        loop = asyncio.get_running_loop()
        tracker = _Tracker(started=loop.time())
        payload = await self._call(
            self._endpoints[DependencyName.EMBEDDINGS],
            user_id,
            request_id or uuid.uuid4().hex,
            tracker.started + self.config.deadline_ms / 1000.0,
            tracker,
        )
        assert isinstance(payload, EmbeddingFeatures)
        return payload

    def _check_ready(self, *needed: DependencyName) -> None:
        if self._session is None:
            raise FeatureCacheError("FanoutClient is not started (use `async with`)")
        missing = [n.value for n in needed if n not in self._endpoints]
        if missing:
            raise FeatureCacheError(f"no endpoint for: {', '.join(missing)}")

    def _retry_allowed(self, deadline: float, tracker: _Tracker) -> Callable[[Exception], bool]:
        cfg = self.config

        def allowed(exc: Exception) -> bool:
            # Retry the transient class only (a class check, never a message match).
            if not isinstance(exc, FeatureCacheTransientError):
                return False
            if isinstance(exc, DependencyCallError) and exc.kind is FailureKind.DEADLINE:
                return False
            # Worst-case next backoff (no jitter below it, all of it above).
            n = tracker.attempts
            worst_backoff_ms = min(
                cfg.backoff_max_ms, cfg.backoff_initial_ms * 2 ** (n - 1) + cfg.backoff_jitter_ms
            )
            left_ms = (deadline - asyncio.get_running_loop().time()) * 1000.0
            return left_ms >= worst_backoff_ms + cfg.min_attempt_ms

        return allowed

    async def _call(
        self,
        endpoint: DependencyEndpoint,
        user_id: str,
        request_id: str,
        deadline: float,
        tracker: _Tracker,
    ) -> BaseModel:
        cfg = self.config
        loop = asyncio.get_running_loop()
        budget_s = max(deadline - loop.time(), 1e-3)
        try:
            async for attempt in stamina.retry_context(
                on=self._retry_allowed(deadline, tracker),
                attempts=cfg.attempts,
                timeout=budget_s,
                wait_initial=cfg.backoff_initial_ms / 1000.0,
                wait_max=cfg.backoff_max_ms / 1000.0,
                wait_jitter=cfg.backoff_jitter_ms / 1000.0,
            ):
                with attempt:
                    return await self._attempt(endpoint, user_id, request_id, deadline, tracker)
        finally:
            tracker.ended = loop.time()
        raise AssertionError("unreachable: stamina re-raises the last error")  # pragma: no cover

    async def _attempt(
        self,
        endpoint: DependencyEndpoint,
        user_id: str,
        request_id: str,
        deadline: float,
        tracker: _Tracker,
    ) -> BaseModel:
        assert self._session is not None
        name = endpoint.name
        left_s = deadline - asyncio.get_running_loop().time()
        if left_s * 1000.0 < self.config.min_attempt_ms:
            tracker.failures.append(FailureKind.DEADLINE)
            raise DependencyCallError(name, FailureKind.DEADLINE, "no budget left for an attempt")
        tracker.attempts += 1
        call_timeout_s = endpoint.timeout_ms / 1000.0
        timeout_s = min(call_timeout_s, left_s)
        url = f"{endpoint.base_url}/features/{quote(user_id, safe='')}"
        headers = {REQUEST_ID_HEADER: f"{request_id}/{tracker.attempts}"}
        kind: FailureKind | None = None
        detail = ""
        reported: str | None = None
        try:
            async with (
                asyncio.timeout(timeout_s),
                self._session.get(url, headers=headers) as resp,
            ):
                tracker.answered += 1  # a status line came back: the service's handler ran
                body = await resp.read()
                status = resp.status
                reported = resp.headers.get(SERVICE_TIME_HEADER)
        except TimeoutError:
            kind = FailureKind.TIMEOUT if timeout_s >= call_timeout_s else FailureKind.DEADLINE
            detail = f"after {timeout_s * 1000:.0f} ms"
        except aiohttp.ClientError as exc:
            kind, detail = FailureKind.CONNECTION, type(exc).__name__
        if kind is not None:
            tracker.failures.append(kind)
            raise DependencyCallError(name, kind, detail)
        if reported is not None:
            try:
                tracker.service_ms = float(reported)
            except ValueError:
                tracker.service_ms = None  # informative only: never fail a call over it
        if status >= 500:
            tracker.failures.append(FailureKind.HTTP_5XX)
            raise DependencyCallError(name, FailureKind.HTTP_5XX, f"HTTP {status}")
        if status != 200:
            tracker.failures.append(FailureKind.HTTP_4XX)
            raise DependencyContractError(name, FailureKind.HTTP_4XX, f"HTTP {status}")
        try:
            return _MODELS[name].model_validate_json(body)
        except ValidationError as exc:
            tracker.failures.append(FailureKind.INVALID_PAYLOAD)
            raise DependencyContractError(name, FailureKind.INVALID_PAYLOAD, str(exc.error_count())) from None


__all__ = [
    "REQUEST_ID_HEADER",
    "CallOutcome",
    "DependencyCallError",
    "DependencyContractError",
    "DependencyResult",
    "FailureKind",
    "FanoutClient",
    "FanoutConfig",
    "FanoutResult",
    "UserFeatures",
]
