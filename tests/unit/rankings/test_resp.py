"""The API's minimal Redis client: command encoding and reply parsing (item 6's one round trip)."""

from __future__ import annotations

import asyncio

import pytest

from rankings.resp import Incomplete, RespError, encode_command, parse_reply, read_reply


def test_commands_are_arrays_of_bulk_strings() -> None:
    assert encode_command("GET", "rankings:live") == b"*2\r\n$3\r\nGET\r\n$13\r\nrankings:live\r\n"
    assert encode_command("LRANGE", "k", 0, 19) == b"*4\r\n$6\r\nLRANGE\r\n$1\r\nk\r\n$1\r\n0\r\n$2\r\n19\r\n"
    assert encode_command(b"\x00\r\n") == b"*1\r\n$3\r\n\x00\r\n\r\n"  # binary-safe


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        (b"$5\r\nhello\r\n", b"hello"),
        (b"$0\r\n\r\n", b""),
        (b"$-1\r\n", None),
        (b"*-1\r\n", None),
        (b":42\r\n", 42),
        (b"+OK\r\n", b"OK"),
        (
            b"*3\r\n$2\r\nb1\r\n$10\r\n2026-03-10\r\n*2\r\n$3\r\n{a}\r\n$4\r\n{b}\n\r\n",
            [b"b1", b"2026-03-10", [b"{a}", b"{b}\n"]],
        ),
        (b"*1\r\n$-1\r\n", [None]),
    ],
)
def test_replies_parse(raw: bytes, value: object) -> None:
    assert parse_reply(raw) == (value, len(raw))


@pytest.mark.parametrize("cut", [1, 3, 5, 12, 20])
def test_a_partial_reply_asks_for_more(cut: int) -> None:
    raw = b"*2\r\n$5\r\nhello\r\n$5\r\nworld\r\n"
    with pytest.raises(Incomplete):
        parse_reply(raw[:cut])


def test_an_error_reply_is_returned_then_raised_by_the_reader() -> None:
    value, _ = parse_reply(b"-NOSCRIPT No matching script\r\n")
    assert isinstance(value, RespError) and str(value).startswith("NOSCRIPT")


def test_read_reply_joins_chunks_and_rejects_a_closed_stream() -> None:
    async def go() -> tuple[object, BaseException | None]:
        reader = asyncio.StreamReader()
        reader.feed_data(b"*2\r\n$5\r\nhel")
        reader.feed_data(b"lo\r\n:7\r\n")
        got = await read_reply(reader)
        closed = asyncio.StreamReader()
        closed.feed_data(b"$5\r\nhe")
        closed.feed_eof()
        try:
            await read_reply(closed)
        except ConnectionError as exc:
            return got, exc
        return got, None

    got, err = asyncio.run(go())
    assert got == [b"hello", 7]
    assert isinstance(err, ConnectionError)
