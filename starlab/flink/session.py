"""A Flink session cluster's jobs, through its REST API (the cluster topology, issue 12).

On the single topology a job and its mini-cluster live and die with the job's
process; on a session cluster the job outlives the process that submitted
it. So the runner asks the JobManager which jobs of a name are still active
(a leftover of a killed driver would otherwise write beside its successor),
cancels them, and takes savepoints for a rescale, all over REST: the same
endpoints the web UI and the Flink Kubernetes Operator use.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from starlab.flink.errors import FlinkJobError

TERMINAL = frozenset({"FINISHED", "CANCELED", "FAILED", "SUSPENDED"})
"""Job states after which nothing runs (Flink's globally terminal ones, plus SUSPENDED)."""


@dataclass(frozen=True)
class ClusterJob:
    """One job as `GET /jobs/overview` lists it."""

    job_id: str
    name: str
    state: str

    @property
    def active(self) -> bool:
        return self.state not in TERMINAL


@dataclass(frozen=True)
class CheckpointStats:
    """A completed checkpoint as `GET /jobs/:id/checkpoints` reports it (`latest.completed`)."""

    checkpoint_id: int
    state_bytes: int
    """Full size of the job's state in this checkpoint (`state_size`)."""
    checkpointed_bytes: int
    """What this checkpoint wrote (`checkpointed_size`; less than the state when incremental)."""
    duration_ms: int
    """Trigger to acknowledged by every task (`end_to_end_duration`)."""


def _checkpoint(raw: dict[str, object]) -> CheckpointStats:
    def num(key: str, default: object = None) -> int:
        value = raw.get(key, default)
        return int(value) if isinstance(value, int | float | str) else 0

    return CheckpointStats(
        num("id"),
        num("state_size"),
        num("checkpointed_size", raw.get("state_size")),
        num("end_to_end_duration"),
    )


class SessionCluster:
    """The JobManager's REST endpoint: list, cancel, stop-with-savepoint, checkpoint statistics.

    Also the local mini-cluster's, when its job sets `rest.port`: the API is the same.
    """

    def __init__(self, rest_url: str, timeout_s: float = 5.0) -> None:
        self.rest_url = rest_url.rstrip("/")
        self.timeout_s = timeout_s

    def _request(self, method: str, path: str, json: object | None = None) -> httpx.Response:
        try:
            r = httpx.request(method, f"{self.rest_url}{path}", json=json, timeout=self.timeout_s)
        except httpx.HTTPError as exc:
            raise FlinkJobError(f"Flink REST {method} {path} failed: {type(exc).__name__}") from None
        if r.status_code >= 400:
            raise FlinkJobError(f"Flink REST {method} {path} -> {r.status_code}: {r.text[:200]}")
        return r

    def jobs(self) -> list[ClusterJob]:
        raw = self._request("GET", "/jobs/overview").json()
        return [ClusterJob(j["jid"], j["name"], j["state"]) for j in raw.get("jobs", [])]

    def active(self, name: str) -> list[ClusterJob]:
        """The jobs named `name` that are not in a terminal state."""
        return [j for j in self.jobs() if j.name == name and j.active]

    def latest_checkpoint(self, job_id: str) -> CheckpointStats | None:
        """The newest completed checkpoint of a job, or None before the first."""
        raw = self._request("GET", f"/jobs/{job_id}/checkpoints").json()
        done = (raw.get("latest") or {}).get("completed")
        return _checkpoint(done) if done else None

    def checkpoint_history(self, job_id: str) -> list[CheckpointStats]:
        """The completed checkpoints the JobManager still lists (`web.checkpoints.history`)."""
        raw = self._request("GET", f"/jobs/{job_id}/checkpoints").json()
        return [_checkpoint(c) for c in raw.get("history", []) if c.get("status") == "COMPLETED"]

    def state(self, job_id: str) -> str:
        return str(self._request("GET", f"/jobs/{job_id}").json().get("state", "UNKNOWN"))

    def cancel(self, job_id: str, timeout_s: float = 60.0) -> None:
        """Cancel and wait until the job is terminal (its slots are free again)."""
        self._request("PATCH", f"/jobs/{job_id}?mode=cancel")
        self._until(lambda: self.state(job_id) in TERMINAL, timeout_s, f"cancel of {job_id}")

    def cancel_all(self, name: str) -> list[str]:
        """Cancel every active job named `name`; returns their ids."""
        ids = [j.job_id for j in self.active(name)]
        for job_id in ids:
            self.cancel(job_id)
        return ids

    def stop_with_savepoint(self, job_id: str, target_dir: str, timeout_s: float = 120.0) -> str:
        """Stop the job with a canonical savepoint; returns the savepoint's location.

        A stop while tasks restart fails ("not all required tasks are
        currently running"): it is tried again until the job runs and the
        savepoint completes, or `timeout_s` passes.
        """
        deadline = time.monotonic() + timeout_s
        last = "no attempt"
        while time.monotonic() < deadline:
            body = {"targetDirectory": target_dir, "drain": False, "formatType": "CANONICAL"}
            trigger = self._request("POST", f"/jobs/{job_id}/stop", json=body).json()["request-id"]
            while time.monotonic() < deadline:
                raw = self._request("GET", f"/jobs/{job_id}/savepoints/{trigger}").json()
                if raw.get("status", {}).get("id") == "COMPLETED":
                    op = raw.get("operation", {})
                    if "location" in op:
                        return str(op["location"])
                    last = str(op.get("failure-cause", {}).get("stack-trace", "failed")).splitlines()[0]
                    break
                time.sleep(0.5)
            time.sleep(2.0)
        raise FlinkJobError(f"stop-with-savepoint of {job_id} did not complete in {timeout_s:.0f}s: {last}")

    def _until(self, check: Callable[[], bool], timeout_s: float, what: str) -> None:
        deadline = time.monotonic() + timeout_s
        while not check():
            if time.monotonic() > deadline:
                raise FlinkJobError(f"{what}: not done within {timeout_s:.0f}s")
            time.sleep(0.5)


__all__ = ["TERMINAL", "ClusterJob", "SessionCluster"]
