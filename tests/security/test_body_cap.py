"""Webhook bodies are capped while Twisted reads them, before Daphne buffers them whole (Twisted
reads a whole body, into a temporary file past 100 kB, before the application sees a byte): an
oversize body, chunked or declared, is answered 413 having read little more than the cap; and
the shape of the Daphne and Twisted code the hook relies on (gateway/http_body_cap.py)."""

import ast
import select
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from gateway.http_body_cap import LINGER_BYTES, MAX_REQUEST_BYTES
from gateway.webhooks import MAX_BODY_BYTES
from tests.conftest import GatewayFactory
from tests.fakes.openai_server import FakeOpenAI
from tests.gateway_process import Gateway
from tests.perf.upstream import method_source, revisit

HOOK = "gateway/http_body_cap.py"
PATH = "/webhooks/telegram/"
SENT_AT_MOST = 64 * 1024 * 1024  # what the client offers: all of it is read without the cap
CHUNK = 64 * 1024


@pytest.fixture(scope="module")
def gateway(
    migrated_home: Path, tmp_path_factory: pytest.TempPathFactory, model: FakeOpenAI
) -> Iterator[Gateway]:
    factory = GatewayFactory(migrated_home, tmp_path_factory.mktemp("body-cap"), model)
    try:
        yield factory(start=True)
    finally:
        factory.close()


def answer_of(sock: socket.socket, seconds: float = 5.0) -> bytes:
    """The first bytes the gateway answered, b"" after a hang-up without a word."""
    sock.settimeout(seconds)
    try:
        return sock.recv(4096)
    except (ConnectionResetError, TimeoutError):
        return b""


@pytest.mark.e2e
@pytest.mark.parametrize(("path", "cap"), [(PATH, MAX_BODY_BYTES), ("/healthz", MAX_REQUEST_BYTES)])
def test_an_oversize_chunked_body_is_refused_before_it_is_read(
    gateway: Gateway, path: str, cap: int
) -> None:
    """The client offers 64 MiB without a Content-Length; what the gateway took is at most
    what the client could send before it stopped reading or hung up (the cap, what it
    discards so that the client can read the answer, and the two sockets' buffers). A webhook
    has its own cap; every other path the gateway's ceiling."""
    chunk = f"{CHUNK:x}\r\n".encode() + b" " * CHUNK + b"\r\n"
    sent = 0
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=5) as sock:
        head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n"
        sock.sendall(head.encode() + b"Content-Type: application/json\r\n\r\n")
        sock.setblocking(False)
        buffers = sock.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF)
        deadline = time.monotonic() + 30
        while sent < SENT_AT_MOST and time.monotonic() < deadline:
            _, writable, _ = select.select([], [sock], [], 2.0)
            if not writable:
                break  # the gateway stopped reading
            try:
                sent += sock.send(chunk)
            except (BrokenPipeError, ConnectionResetError):
                break  # it hung up
        answer = answer_of(sock)
    # Without the cap Twisted reads all 64 MiB before the application says a word.
    taken = cap + LINGER_BYTES + 2 * buffers + 8 * 1024 * 1024
    assert sent < min(taken, SENT_AT_MOST), (sent, taken)
    assert answer == b"" or answer.startswith(b"HTTP/1.1 413 "), answer
    print(f"sent {sent:,} bytes, answered {answer[:12]!r}")  # the figure, with -s


@pytest.mark.e2e
def test_a_declared_oversize_body_is_refused_before_a_byte_of_it_is_sent(
    gateway: Gateway,
) -> None:
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=5) as sock:
        head = f"POST {PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {50 * 2**20}\r\n"
        sock.sendall(head.encode() + b"Expect: 100-continue\r\n\r\n")
        answer = answer_of(sock)
    assert answer.startswith(b"HTTP/1.1 413 "), answer  # at once, and no 100 Continue
    assert b"too large" in answer


@pytest.mark.e2e
def test_a_body_under_the_cap_still_reaches_the_webhook_view(gateway: Gateway) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"update_id": 1, '
        yield b" " * (MAX_BODY_BYTES - 100)
        yield b'"message": {}}'

    response = httpx.post(gateway.url + PATH, content=chunks(), timeout=30)
    assert response.status_code not in (413, 500), response.status_code
    declared = httpx.post(gateway.url + PATH, content=b"{}", timeout=30)
    assert declared.status_code not in (413, 500), declared.status_code


def _source(module: str, cls: str, name: str) -> str:
    return ast.unparse(method_source(module, cls, name))


def test_daphne_still_builds_its_http_factory_where_the_gateway_swaps_it() -> None:
    why = revisit(HOOK, "daphne", "Server.run / HTTPFactory.buildProtocol")
    run = _source("daphne.server", "Server", "run")
    assert "self.http_factory = HTTPFactory(self)" in run, why
    assert "listen(self.http_factory)" in run, why
    build = _source("daphne.http_protocol", "HTTPFactory", "buildProtocol")
    assert "protocol.requestFactory = WebRequest" in build, why


def test_twisted_still_hands_a_request_its_length_and_body_piece_by_piece() -> None:
    why = revisit(HOOK, "twisted", "HTTPChannel's request parsing")
    module = "twisted.web.http"
    assert "self._path = request" in _source(module, "HTTPChannel", "lineReceived"), why
    headers = _source(module, "HTTPChannel", "allHeadersReceived")
    assert "req.gotLength(self.length)" in headers, why
    assert headers.index("req.gotLength") < headers.index("b'Expect'"), why
    decoders = _source(module, "HTTPChannel", "_maybeChooseTransferDecoder")
    assert decoders.count("self.requests[-1].handleContentChunk") == 2, why  # length, chunked
    done = _source(module, "HTTPChannel", "allContentReceived")
    assert "req.requestReceived(command, path, version)" in done, why
    content = _source(module, "Request", "gotLength")
    assert "self.content = _getContentFile(length)" in content, why
