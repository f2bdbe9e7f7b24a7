"""httpx2 and httpcore2 internals that `openclaw/perf/sockets.py` relies on: the transport's pool
and its network backend, as they were; and that the SDK clients' sockets acknowledge at once."""

import socket

import httpcore2
import httpx2
import pytest

from openclaw.perf import sockets
from tests.fakes.openai_server import FakeOpenAI
from tests.perf.upstream import revisit

MODULE = "openclaw/perf/sockets.py"


def test_the_transport_pool_keeps_its_network_backend() -> None:
    made = httpx2.AsyncHTTPTransport()
    pool = getattr(made, "_pool", None)
    why = revisit(MODULE, "httpx2", "AsyncHTTPTransport._pool")
    assert isinstance(pool, httpcore2.AsyncConnectionPool), why
    backend = getattr(pool, "_network_backend", None)
    why = revisit(MODULE, "httpcore2", "AsyncConnectionPool._network_backend")
    assert isinstance(backend, httpcore2.AsyncNetworkBackend), why


class _Inner(httpcore2.AsyncNetworkStream):
    """A stream that answers one read and shows a real socket."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:  # noqa: ASYNC109
        return b"data: {}\n\n"

    def get_extra_info(self, info: str) -> object:
        return self.sock if info == "socket" else None


@pytest.mark.skipif(sockets.QUICKACK is None, reason="TCP_QUICKACK is Linux's")
async def test_a_read_rearms_quickack_and_the_transport_uses_the_backend() -> None:
    assert sockets.QUICKACK is not None
    with socket.socket() as sock:
        sock.setsockopt(socket.IPPROTO_TCP, sockets.QUICKACK, 0)
        stream = sockets.QuickAckStream(_Inner(sock))
        assert await stream.read(100) == b"data: {}\n\n"
        assert sock.getsockopt(socket.IPPROTO_TCP, sockets.QUICKACK) == 1
    made = sockets.transport(
        limits=httpx2.Limits(), socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]
    )
    assert isinstance(made._pool._network_backend, sockets.QuickAckBackend)
    async with FakeOpenAI() as fake, httpx2.AsyncClient(transport=made) as client:
        assert (await client.get(f"{fake.base_url}/models")).status_code == 200
