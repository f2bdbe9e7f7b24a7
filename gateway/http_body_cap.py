"""Request bodies capped while Twisted reads them, before Daphne has buffered them whole.

Twisted's HTTP channel reads a request's entire body (into memory, or a temporary file past
100 kB) before Daphne hands anything to the ASGI application, so a cap in the application
(`gateway.webhooks.cap_webhook_bodies`) only comes after every byte was read. Here a request
is answered 413 as soon as its declared Content-Length is over its path's limit, or, chunked
or not, as soon as what arrived is: `gateway.webhooks.body_limit` for webhooks, and
`MAX_REQUEST_BYTES` for every other path. What still arrives
is then discarded unread, up to `LINGER_BYTES` or `LINGER_SECONDS`, so that a client still
sending its body reads the answer rather than a reset; then the connection is closed.

Relies on Twisted's `Request.gotLength`, `handleContentChunk` and `requestReceived`, the
channel's `_path` (the request target, parsed before the headers), and Daphne's `HTTPFactory`
setting `requestFactory` per connection: tests/security/test_body_cap.py fails, naming the
piece, when one changes (Daphne is bounded in pyproject.toml). Import after `daphne.server`.
"""

import daphne.server  # noqa: F401, I001  # installs the asyncio reactor before Twisted's web code loads

import asyncio
import logging
from typing import Any
from urllib.parse import unquote, urlsplit

from daphne.http_protocol import HTTPFactory, WebRequest

from gateway.webhooks import body_limit

logger = logging.getLogger(__name__)

# Every other request: above Django's own 2.5 MB limit on what a view reads (its views answer
# what is under this with their own errors), and no endpoint takes files.
MAX_REQUEST_BYTES = 4 * 1024 * 1024
# After a refusal: how much more of the body is discarded, and for how long, before hanging up.
LINGER_BYTES = 4 * 1024 * 1024
LINGER_SECONDS = 5.0

TOO_LARGE = (
    b"HTTP/1.1 413 Request Entity Too Large\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Content-Length: 9\r\n"
    b"Connection: close\r\n\r\n"
    b"too large"
)


def target_path(raw: bytes) -> str:
    """The path of a request target as Daphne routes it (`/a%2Fb?q` → `/a/b`)."""
    try:
        return unquote(urlsplit(raw.decode("ascii")).path)
    except UnicodeDecodeError:
        return "/"  # Daphne answers such a path 400 itself


class CappedRequest(WebRequest):  # type: ignore[misc]  # daphne is untyped
    """Daphne's request, refusing a body over its path's limit while it arrives."""

    capped_path = ""
    limit = MAX_REQUEST_BYTES
    received = 0
    refused = False
    discarded = 0
    linger: asyncio.TimerHandle | None = None  # the hang-up's timer, once refused

    def gotLength(self, length: int | None) -> None:  # Twisted's name
        self.capped_path = target_path(getattr(self.channel, "_path", b""))
        self.limit = body_limit(self.capped_path) or MAX_REQUEST_BYTES
        if length is not None and length > self.limit:
            self._refuse(f"declared {length:,} bytes")
            # Twisted answers `Expect: 100-continue` once this returns: not after a refusal.
            self.requestHeaders.removeHeader(b"Expect")
        super().gotLength(0 if self.refused else length)  # no temporary file for a refusal

    def handleContentChunk(self, data: bytes) -> None:  # Twisted's name
        if self.refused:
            self.discarded += len(data)
            if self.discarded > LINGER_BYTES:
                self._hang_up()
            return
        self.received += len(data)
        if self.received > self.limit:
            self._refuse(f"over {self.limit:,} bytes received")
            return
        super().handleContentChunk(data)

    def requestReceived(self, command: bytes, path: bytes, version: bytes) -> None:
        if self.refused:  # never reaches the application; the client has the 413 to read
            self._hang_up()
            return
        super().requestReceived(command, path, version)

    def _refuse(self, why: str) -> None:
        self.refused = True
        logger.info("Refused a request body to %s: %s", self.capped_path, why)
        self.channel.transport.write(TOO_LARGE)
        # Twisted runs on the asyncio loop (daphne.server installs that reactor).
        self.linger = asyncio.get_running_loop().call_later(LINGER_SECONDS, self._hang_up)

    def _hang_up(self) -> None:
        linger, self.linger = self.linger, None
        if linger is None:
            return  # already hung up
        linger.cancel()  # harmless once it ran
        if self.channel is not None:
            self.channel.loseConnection()  # stops reading; closes once the answer is written


class CappedHTTPFactory(HTTPFactory):  # type: ignore[misc]  # daphne is untyped
    """Daphne's HTTP factory whose connections make `CappedRequest`s."""

    def buildProtocol(self, addr: Any) -> Any:  # Twisted's name
        protocol = super().buildProtocol(addr)
        if protocol is not None:
            protocol.requestFactory = CappedRequest
        return protocol


def capped(factory: Any, server: Any) -> Any:
    """Daphne's own HTTP factory replaced by one making `CappedRequest`s (any other kept)."""
    return CappedHTTPFactory(server) if type(factory) is HTTPFactory else factory
