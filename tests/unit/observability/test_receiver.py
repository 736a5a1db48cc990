"""The alert receiver: one line per transition, de-duplicated re-sends, an alert's action run once."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

from fastapi.testclient import TestClient

from starlab.observability.receiver import build_app, read_log, rfc3339_seconds


def _alert(status: str, name: str = "FreshnessSLOBreach", **annotations: str) -> dict[str, object]:
    return {
        "status": status,
        "labels": {"alertname": name, "run": "r1"},
        "annotations": {"runbook_url": "docs/runbooks/x.md", **annotations},
        "startsAt": "2026-12-01T21:10:00.123456789Z",
        "endsAt": "2026-12-01T21:11:00Z" if status == "resolved" else "0001-01-01T00:00:00Z",
        "fingerprint": "abc",
    }


def test_each_transition_is_logged_once_even_when_alertmanager_resends(tmp_path: Path) -> None:
    log = tmp_path / "alerts.jsonl"
    client = TestClient(build_app(log))
    for status in ("firing", "firing", "resolved", "resolved"):
        assert client.post("/alerts", json={"alerts": [_alert(status)]}).status_code == 200
    recs = read_log(log)
    assert [r.status for r in recs] == ["firing", "resolved"]
    assert recs[0].alertname == "FreshnessSLOBreach" and recs[0].labels["run"] == "r1"
    assert recs[0].ended is None
    assert recs[1].ended == rfc3339_seconds("2026-12-01T21:11:00Z")
    # a restarted receiver reads its log back and does not log the same transition again
    again = TestClient(build_app(log))
    again.post("/alerts", json={"alerts": [_alert("resolved")]})
    assert len(read_log(log)) == 2
    assert len(client.get("/alerts").json()) == 2


def test_a_firing_alert_with_an_action_url_posts_its_body_once(tmp_path: Path) -> None:
    got: list[bytes] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            got.append(self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/admin/killswitch"
    body = '{"on": true, "reason": "alert FeatureP95High"}'
    try:
        client = TestClient(build_app(tmp_path / "alerts.jsonl"))
        alert = _alert("firing", "FeatureP95High", action_url=url, action_body=body)
        client.post("/alerts", json={"alerts": [alert]})
        client.post("/alerts", json={"alerts": [alert]})  # a re-send: no second POST
        client.post("/alerts", json={"alerts": [{**alert, "status": "resolved"}]})  # resolving acts not
    finally:
        server.shutdown()
    assert got == [body.encode()]
    recs = read_log(tmp_path / "alerts.jsonl")
    assert recs[0].action == f"POST {url} -> 200"
    assert recs[1].action == ""


def test_rfc3339_with_nanoseconds_and_offsets() -> None:
    assert rfc3339_seconds("1970-01-01T00:00:01.5Z") == 1.5
    assert rfc3339_seconds("1970-01-01T01:00:01+01:00") == 1.0
    assert abs(rfc3339_seconds("1970-01-01T00:00:00.123456789Z") - 0.123456) < 1e-9
