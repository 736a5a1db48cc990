"""`up` is idempotent, `status` reports health, and stopping leaves no process.

Runs against a second, private Redis on another port (the shared stack keeps
serving the other tests), so stop and restart can be checked for real.
"""

from __future__ import annotations

import socket

import pytest

from starlab.settings import Settings
from starlab.stack import manager
from starlab.stack.process import pid_alive

pytestmark = pytest.mark.integration


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_redis_up_status_down(tmp_path, stack: Settings) -> None:
    s = Settings(home=tmp_path / "home", redis_url=f"redis://127.0.0.1:{_free_port()}/0")
    [h] = manager.up(s, ["redis"], progress=lambda m: None)
    assert h.healthy and h.pid
    # idempotent: a second up keeps the same process
    [h2] = manager.up(s, ["redis"], progress=lambda m: None)
    assert h2.pid == h.pid
    status = {x.name: x for x in manager.status(s)}
    assert status["redis"].healthy
    assert manager.down(s, ["redis"], progress=lambda m: None) == ["redis"]
    assert not pid_alive(h.pid)
    assert not {x.name: x for x in manager.status(s)}["redis"].healthy


def test_busy_port_is_a_one_line_error(tmp_path, stack: Settings) -> None:
    from starlab.errors import StackError

    # The shared stack's Redis holds this port: a second stack must refuse it.
    s = Settings(home=tmp_path / "home", redis_url=stack.redis_url)
    with pytest.raises(StackError, match="already in use"):
        manager.up(s, ["redis"], progress=lambda m: None)


def test_shared_stack_is_healthy(stack: Settings) -> None:
    status = {h.name: h for h in manager.status(stack)}
    for name in ("kafka", "schema-registry", "redis"):
        assert status[name].healthy, status[name]
