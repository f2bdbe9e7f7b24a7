"""Model calls that ACK at once: 10.2 ms a turn, not 56 to 66, when the server leaves Nagle on.

Bench (a) against its fake with TCP_NODELAY off (bench/README.md, "Model providers through their
SDKs"): the gateway's turn overhead p50 against the SDK's default transport, in the same runs.

`transport()` is httpx2's transport (the SDKs' HTTP client) whose connection pool runs on
`QuickAckBackend`: after every read the socket's TCP_QUICKACK is set again (Linux leaves quick-ack
mode on its own), so a model server that leaves Nagle on, and so holds a stream's last small
write until its previous one is acknowledged, gets that ACK at once instead of after the
delayed-ACK timer. httpx2's transport takes no network backend: it is set on its pool
(`_pool._network_backend`, an internal attribute; tests/perf/test_upstream_httpx2.py checks it).
"""

import contextlib
import socket
import ssl
from collections.abc import Iterable
from typing import Any

import httpcore2
import httpx2

QUICKACK: int | None = getattr(socket, "TCP_QUICKACK", None)  # Linux only
SocketOption = (
    tuple[int, int, int] | tuple[int, int, bytes | bytearray] | tuple[int, int, None, int]
)
# httpcore2's network interface passes timeouts as arguments, so its methods take them (ASYNC109).


class QuickAckStream(httpcore2.AsyncNetworkStream):
    """A network stream that re-arms TCP_QUICKACK after each read that returned data."""

    def __init__(self, stream: httpcore2.AsyncNetworkStream) -> None:
        self._stream = stream
        self._socket: socket.socket | None = stream.get_extra_info("socket")

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:  # noqa: ASYNC109
        data = await self._stream.read(max_bytes, timeout)
        if data and self._socket is not None and QUICKACK is not None:
            with contextlib.suppress(OSError):  # a socket closed under us: nothing to ack
                self._socket.setsockopt(socket.IPPROTO_TCP, QUICKACK, 1)
        return data

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:  # noqa: ASYNC109
        await self._stream.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._stream.aclose()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> httpcore2.AsyncNetworkStream:
        return QuickAckStream(await self._stream.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class QuickAckBackend(httpcore2.AsyncNetworkBackend):
    """httpcore2's asyncio backend, its streams wrapped in `QuickAckStream`."""

    def __init__(self) -> None:
        self._backend = httpcore2.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109
        local_address: str | None = None,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        stream = await self._backend.connect_tcp(host, port, timeout, local_address, socket_options)
        return QuickAckStream(stream)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109
        socket_options: Iterable[SocketOption] | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        return await self._backend.connect_unix_socket(path, timeout, socket_options)

    async def sleep(self, seconds: float) -> None:
        await self._backend.sleep(seconds)


def transport(
    *,
    limits: httpx2.Limits,
    socket_options: list[tuple[int, int, int]],
    proxy: str | None = None,
) -> httpx2.AsyncHTTPTransport:
    """httpx2's transport with these limits and socket options, on `QuickAckBackend` where the
    platform has TCP_QUICKACK."""
    made = httpx2.AsyncHTTPTransport(limits=limits, socket_options=socket_options, proxy=proxy)
    if QUICKACK is not None:
        made._pool._network_backend = QuickAckBackend()
    return made
