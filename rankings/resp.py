"""A minimal asyncio Redis (RESP2) client for the ranking API's one hot-path command.

Backs issue 4 item 6: "API p99 at concurrency 8 at most 2x the p99 of a
constant endpoint ... the ranking path may add about one Redis round trip,
not more". Measured on this machine (2 shared cores, loopback Redis 7.0), one
EVALSHA of `cache.READ_LUA` costs, per call, sequentially:

    redis-py 8 asyncio client (pool)        ~170 us
    redis-py 8 asyncio Connection directly  ~176 us
    this client                              ~77 us
    redis-py 8 sync client                  ~116 us

and a `/healthz` request costs the whole server ~140 us of CPU. With
redis-py's asyncio client the ranking path costs ~3x the constant endpoint
(its p99 at concurrency 8 was 2.0-2.3x), most of it client overhead rather
than the round trip. This client does only what the API needs: a bounded
pool of keep-alive connections, pre-encoded commands, a RESP2 reply parser,
NOSCRIPT handling, and timeouts. Everything else (publisher, bench, tests)
uses redis-py. `hiredis` (not in the lock file) would speed up redis-py's
parsing but not its pool and command overhead.
"""

import asyncio
import hashlib
from collections.abc import Sequence
from typing import Any
from urllib.parse import unquote, urlsplit

Reply = bytes | int | list[Any] | None


class RespError(Exception):
    """An error reply from the server (`-ERR ...`, `-NOSCRIPT ...`)."""


def encode_command(*args: bytes | str | int) -> bytes:
    """RESP2 array of bulk strings, as every Redis command is sent."""
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        b = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(b), b))
    return b"".join(out)


class Incomplete(Exception):
    """The buffer ends before the reply does: read more."""


def parse_reply(buf: bytes, pos: int = 0) -> tuple[Reply, int]:
    """Parse one RESP2 reply from `buf[pos:]`; returns it and the position after it.

    Synchronous over a bytes buffer: a typical ranking reply (20 items) is one
    socket read, and parsing it in one pass costs a fraction of awaiting
    `readline()`/`readexactly()` once per element. Error replies are returned
    as `RespError` instances (not raised) so a nested error keeps the
    position right; `RespClient` raises them once the reply is complete.
    """
    eol = buf.find(b"\r\n", pos)
    if eol < 0:
        raise Incomplete
    kind, body = buf[pos : pos + 1], buf[pos + 1 : eol]
    pos = eol + 2
    if kind == b"$":
        n = int(body)
        if n < 0:
            return None, pos
        if len(buf) < pos + n + 2:
            raise Incomplete
        return buf[pos : pos + n], pos + n + 2
    if kind == b"*":
        n = int(body)
        if n < 0:
            return None, pos
        items: list[Any] = []
        for _ in range(n):
            item, pos = parse_reply(buf, pos)
            items.append(item)
        return items, pos
    if kind == b":":
        return int(body), pos
    if kind == b"+":
        return body, pos
    if kind == b"-":
        return RespError(body.decode(errors="replace")), pos  # type: ignore[return-value]
    raise ConnectionError(f"unexpected RESP type byte {kind!r}")


async def read_reply(reader: asyncio.StreamReader) -> Reply:
    """Read until one complete reply is buffered (one command is in flight per connection)."""
    buf = b""
    while True:
        chunk = await reader.read(65_536)
        if not chunk:
            raise ConnectionError("the server closed the connection in the middle of a reply")
        buf += chunk
        try:
            reply, end = parse_reply(buf)
        except Incomplete:
            continue
        if end != len(buf):
            raise ConnectionError("bytes after the reply: the connection is out of sync")
        return reply


def _raise_errors(reply: Reply) -> Reply:
    if isinstance(reply, RespError):
        raise reply
    if isinstance(reply, list):
        for r in reply:
            _raise_errors(r)
    return reply


class RespClient:
    """A pool of at most `max_connections` connections; one command in flight per connection."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 6379,
        *,
        db: int = 0,
        password: str | None = None,
        username: str | None = None,
        max_connections: int = 64,
        timeout_s: float = 2.0,
    ) -> None:
        self.host, self.port, self.db = host, port, db
        self.username, self.password = username, password
        self.timeout_s = timeout_s
        self._slots = asyncio.Semaphore(max_connections)
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    @classmethod
    def from_url(cls, url: str, **kw: Any) -> "RespClient":
        u = urlsplit(url)
        if u.scheme not in ("redis", ""):
            raise ValueError(f"only redis:// URLs are supported here, got {u.scheme}://")
        db = int(u.path.lstrip("/") or 0)
        return cls(
            u.hostname or "127.0.0.1",
            u.port or 6379,
            db=db,
            username=unquote(u.username) if u.username else None,
            password=unquote(u.password) if u.password else None,
            **kw,
        )

    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        reader, writer = await asyncio.open_connection(self.host, self.port)
        setup: list[bytes] = []
        if self.password:
            auth = (self.username, self.password) if self.username else (self.password,)
            setup.append(encode_command("AUTH", *auth))
        if self.db:
            setup.append(encode_command("SELECT", self.db))
        for cmd in setup:
            writer.write(cmd)
            _raise_errors(await read_reply(reader))
        return reader, writer

    async def execute_raw(self, command: bytes) -> Reply:
        """Send a pre-encoded command and return its reply; a broken connection is dropped."""
        async with self._slots:
            conn = self._idle.pop() if self._idle else None
            try:
                async with asyncio.timeout(self.timeout_s):
                    if conn is None:
                        conn = await self._open()
                    reader, writer = conn
                    writer.write(command)
                    reply = await read_reply(reader)
            except BaseException:
                # Timeout, reset, cancellation: the stream may hold half a reply.
                if conn is not None:
                    conn[1].close()
                raise
            self._idle.append(conn)
        return _raise_errors(reply)

    async def execute(self, *args: bytes | str | int) -> Reply:
        return await self.execute_raw(encode_command(*args))

    async def aclose(self) -> None:
        while self._idle:
            _, writer = self._idle.pop()
            writer.close()


class Script:
    """EVALSHA with a pre-encoded prefix; loads the script on NOSCRIPT (after a Redis restart)."""

    def __init__(self, client: RespClient, source: str) -> None:
        self.client = client
        self.source = source
        self.sha = hashlib.sha1(source.encode()).hexdigest()

    async def __call__(self, keys: Sequence[str], args: Sequence[str | int]) -> Reply:
        command = encode_command("EVALSHA", self.sha, len(keys), *keys, *args)
        try:
            return await self.client.execute_raw(command)
        except RespError as exc:
            if not str(exc).startswith("NOSCRIPT"):
                raise
            await self.client.execute("SCRIPT", "LOAD", self.source)
            return await self.client.execute_raw(command)


__all__ = ["Incomplete", "RespClient", "RespError", "Script", "encode_command", "parse_reply", "read_reply"]
