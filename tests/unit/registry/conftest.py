"""Shared fixtures of the registry tests: the app on a real socket for HTTP clients.

Backs story 1: confluent-kafka's own `SchemaRegistryClient` must work against
starlab's registry, so some tests talk to it over HTTP, in-process (uvicorn in
a thread, a memory store, a free random port; no Kafka, no other process).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn

from starlab.registry import MemoryStore, create_app


@pytest.fixture
def live_url() -> Iterator[str]:
    """The app on a real socket (uvicorn in a thread), for clients that speak HTTP."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))  # a free port, held until uvicorn takes the socket
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(MemoryStore()), log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
