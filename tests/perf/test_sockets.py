"""openclaw.perf.sockets sends a request in one write: head and body are held until the answer
is read (or until they pass FLUSH_BYTES), with their write's timeout; through httpx2 a request
with a body reaches a real server whole and its answer comes back."""

import socket

import httpcore2
import httpx2

from openclaw.perf import sockets
from tests.fakes.openai_server import FakeOpenAI


class _Recording(httpcore2.AsyncNetworkStream):
    """Records writes (with their timeouts) and answers each read."""

    def __init__(self) -> None:
        self.writes: list[tuple[bytes, float | None]] = []
        self.closed = False

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:  # noqa: ASYNC109
        return b"HTTP/1.1 200 OK\r\n"

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:  # noqa: ASYNC109
        self.writes.append((buffer, timeout))

    async def aclose(self) -> None:
        self.closed = True

    def get_extra_info(self, info: str) -> object:
        return None


async def test_writes_are_held_until_the_answer_is_read() -> None:
    inner = _Recording()
    stream = sockets.QuickAckStream(inner)
    await stream.write(b"POST / HTTP/1.1\r\n\r\n", 5.0)
    await stream.write(b"", 5.0)
    await stream.write(b'{"a": 1}', 7.0)
    assert inner.writes == []
    assert await stream.read(100) == b"HTTP/1.1 200 OK\r\n"
    assert inner.writes == [(b'POST / HTTP/1.1\r\n\r\n{"a": 1}', 7.0)]
    await stream.read(100)
    assert len(inner.writes) == 1  # nothing held: nothing written again


async def test_a_large_body_streams_out_as_it_grows() -> None:
    inner = _Recording()
    stream = sockets.QuickAckStream(inner)
    piece = b"x" * (sockets.FLUSH_BYTES // 2)
    for _ in range(5):
        await stream.write(piece, 1.0)
    assert [len(data) for data, _ in inner.writes] == [sockets.FLUSH_BYTES] * 2
    await stream.read(10)
    assert [len(data) for data, _ in inner.writes] == [sockets.FLUSH_BYTES] * 2 + [len(piece)]


async def test_a_request_given_up_before_its_answer_writes_nothing_more() -> None:
    inner = _Recording()
    stream = sockets.QuickAckStream(inner)
    await stream.write(b"GET / HTTP/1.1\r\n\r\n", 1.0)
    await stream.aclose()
    assert inner.writes == [] and inner.closed


async def test_requests_with_bodies_go_through_whole_on_a_reused_connection() -> None:
    made = sockets.transport(
        limits=httpx2.Limits(), socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]
    )
    body = {"model": "gpt-fake", "messages": [{"role": "user", "content": "é" * 100_000}]}
    async with FakeOpenAI() as fake, httpx2.AsyncClient(transport=made) as client:
        for _ in range(3):
            answer = await client.post(f"{fake.base_url}/chat/completions", json=body)
            assert answer.status_code == 200
        assert [r.body["messages"] for r in fake.requests] == [body["messages"]] * 3
        assert len({r.peer for r in fake.requests}) == 1  # one kept-alive connection
