"""Model calls that ACK at once: 10.2 ms a turn, not 56 to 66, when the server leaves Nagle on.

Bench (a) against its fake with TCP_NODELAY off (bench/README.md, "Model providers through their
SDKs"): the gateway's turn overhead p50 against the SDK's default transport, in the same runs.
A request also leaves in one write rather than two (head, then body): one system call and one
wake-up of the server fewer a call (`QuickAckStream`).

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
FLUSH_BYTES = 64 * 1024  # held writes go out once they reach this much
SocketOption = (
    tuple[int, int, int] | tuple[int, int, bytes | bytearray] | tuple[int, int, None, int]
)
# httpcore2's network interface passes timeouts as arguments, so its methods take them (ASYNC109).


class QuickAckStream(httpcore2.AsyncNetworkStream):
    """A network stream that sends a request in one write and re-arms TCP_QUICKACK after each
    read that returned data.

    httpcore2 writes a request's head and its body separately: two system calls, two packets
    and two wake-ups of the server for one small request. Writes are held here until the
    stream is next read (the answer is awaited: nothing more is coming), or until they pass
    `FLUSH_BYTES` (a large upload streams as before); the flush keeps its write's timeout."""

    def __init__(self, stream: httpcore2.AsyncNetworkStream) -> None:
        self._stream = stream
        self._socket: socket.socket | None = stream.get_extra_info("socket")
        self._unsent: list[bytes] = []
        self._unsent_bytes = 0
        self._write_timeout: float | None = None

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:  # noqa: ASYNC109
        if self._unsent:
            await self._flush()
        data = await self._stream.read(max_bytes, timeout)
        if data and self._socket is not None and QUICKACK is not None:
            with contextlib.suppress(OSError):  # a socket closed under us: nothing to ack
                self._socket.setsockopt(socket.IPPROTO_TCP, QUICKACK, 1)
        return data

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:  # noqa: ASYNC109
        if not buffer:
            return
        self._unsent.append(buffer)
        self._unsent_bytes += len(buffer)
        self._write_timeout = timeout
        if self._unsent_bytes >= FLUSH_BYTES:
            await self._flush()

    async def _flush(self) -> None:
        data = b"".join(self._unsent)
        self._unsent.clear()
        self._unsent_bytes = 0
        await self._stream.write(data, self._write_timeout)

    async def aclose(self) -> None:
        self._unsent.clear()  # a request given up before its answer was awaited
        await self._stream.aclose()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> httpcore2.AsyncNetworkStream:
        if self._unsent:  # a proxy's CONNECT is answered before TLS starts: nothing is held
            await self._flush()
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
    """httpx2's transport with these limits and socket options, on `QuickAckBackend` (its
    quick ACKs where the platform has TCP_QUICKACK, its one write a request everywhere)."""
    made = httpx2.AsyncHTTPTransport(limits=limits, socket_options=socket_options, proxy=proxy)
    made._pool._network_backend = QuickAckBackend()
    return made
