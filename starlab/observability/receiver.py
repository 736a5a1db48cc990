"""The webhook receiver Alertmanager notifies: records every alert, and runs an alert's action.

Backs issue 11's "the alert told us": each notification becomes one JSON line
per alert in `<home>/alerts/alerts.jsonl` (status, name, labels, startsAt,
endsAt, when received), which the stall test, the demos and the evidence
read back. Alertmanager re-sends a group whenever its membership changes, so
lines are de-duplicated on (status, fingerprint, startsAt): the log reads as
a timeline of transitions, not of deliveries.

An alert may carry an `action_url` annotation: when it fires, the receiver
POSTs its `action_body` annotation (or the alert) there once (the feature cache's auto-rollback: the p95 alert
trips the serving app's kill switch, so the rollback is an alert with a
runbook, not a loop hidden in the API). The outcome is logged beside it.

Run: `python -m starlab.observability.receiver --port 9195 --log .starlab/alerts/alerts.jsonl`.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

import httpx
from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict

__all__ = ["AlertRecord", "build_app", "read_log"]


class _Alert(BaseModel):
    """One alert of Alertmanager's webhook payload (version 4); unknown fields are kept out."""

    model_config = ConfigDict(extra="ignore")

    status: str
    labels: dict[str, str]
    annotations: dict[str, str] = {}
    startsAt: str
    endsAt: str = ""
    fingerprint: str = ""


class _Notification(BaseModel):
    model_config = ConfigDict(extra="ignore")

    receiver: str = ""
    status: str = ""
    alerts: list[_Alert]


@dataclass(frozen=True)
class AlertRecord:
    """One transition of one alert, as the receiver logged it."""

    received_at: float
    status: str
    """"firing" or "resolved"."""
    alertname: str
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: str
    ends_at: str
    fingerprint: str
    action: str = ""
    """What the receiver did for the alert's `action_url` ("" when it has none)."""

    @property
    def started(self) -> float:
        """`starts_at` as unix seconds."""
        return rfc3339_seconds(self.starts_at)

    @property
    def ended(self) -> float | None:
        """`ends_at` as unix seconds; None while firing (Alertmanager sends a zero time)."""
        t = rfc3339_seconds(self.ends_at) if self.ends_at else 0.0
        return t if t > 0 else None


def rfc3339_seconds(text: str) -> float:
    """Alertmanager's times (`2026-12-01T21:10:00.123456789Z`) as unix seconds (Python 3.11
    parses the Z and drops the nanoseconds past the sixth digit)."""
    return datetime.fromisoformat(text).timestamp()


def read_log(path: Path, since: float = 0.0) -> list[AlertRecord]:
    """The receiver's log, oldest first; lines received before `since` are skipped."""
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        if line.strip():
            rec = AlertRecord(**json.loads(line))
            if rec.received_at >= since:
                out.append(rec)
    return out


def _run_action(alert: _Alert) -> str:
    """POST `action_body` (JSON text, default the alert itself) to `action_url` when firing."""
    url = alert.annotations.get("action_url", "")
    if not url or alert.status != "firing":
        return ""
    body = alert.annotations.get("action_body") or json.dumps(alert.model_dump())
    try:
        r = httpx.post(url, content=body, headers={"content-type": "application/json"}, timeout=5)
    except httpx.HTTPError as exc:
        return f"POST {url} failed: {type(exc).__name__}"
    if r.is_success:
        return f"POST {url} -> {r.status_code}"
    return f"POST {url} -> {r.status_code}: {r.text.strip()[:200]}"


def build_app(log_path: Path) -> FastAPI:
    app = FastAPI(
        title="starlab alert receiver", description="Alertmanager webhook: records alerts, runs actions."
    )
    seen: set[tuple[str, str, str]] = set()
    lock = threading.Lock()
    log_path.parent.mkdir(parents=True, exist_ok=True)
    for rec in read_log(log_path):  # a restart must not log the same transition twice
        seen.add((rec.status, rec.fingerprint, rec.starts_at))

    @app.post("/alerts")
    def receive(note: _Notification) -> dict[str, int]:
        new = 0
        for a in note.alerts:
            key = (a.status, a.fingerprint, a.startsAt)
            with lock:
                if key in seen:
                    continue
                seen.add(key)
            rec = AlertRecord(
                received_at=time.time(),
                status=a.status,
                alertname=a.labels.get("alertname", ""),
                labels=a.labels,
                annotations=a.annotations,
                starts_at=a.startsAt,
                ends_at=a.endsAt,
                fingerprint=a.fingerprint,
                action=_run_action(a),
            )
            with lock, log_path.open("a") as fh:
                fh.write(json.dumps(asdict(rec)) + "\n")
            print(
                f"ALERT {rec.status.upper()} {rec.alertname} {rec.labels} {rec.action}".rstrip(), flush=True
            )
            new += 1
        return {"recorded": new}

    @app.get("/alerts")
    def listing(since: float = 0.0) -> list[dict[str, object]]:
        return [asdict(r) for r in read_log(log_path, since)]

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


def main(argv: list[str] | None = None) -> None:
    import uvicorn

    p = argparse.ArgumentParser(
        prog="python -m starlab.observability.receiver",
        description="Alertmanager webhook receiver: logs each alert transition as a JSON line.",
        epilog="example: python -m starlab.observability.receiver --port 9195 --log alerts.jsonl",
    )
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=9195)
    p.add_argument("--log", type=Path, required=True)
    a = p.parse_args(argv)
    uvicorn.run(build_app(a.log), host=a.host, port=a.port, log_level="warning")


if __name__ == "__main__":
    main()
