"""Webhook views, one module per platform: verify → parse → route (journal) → 200; and the cap
on their bodies, applied while the body is read, before any view or authentication."""

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from django.conf import settings
from django.http import HttpRequest

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
PREFIX = "/webhooks/"

# Platform updates are a few kilobytes (media arrive as ids); well under Django's own cap.
MAX_BODY_BYTES = 1024 * 1024
UPLOAD_PATH = "/chat/media"  # the web chat's uploads (gateway.media_views)
MULTIPART_OVERHEAD = 64 * 1024  # the form's boundaries and headers around one file


def body_limit(path: str) -> int | None:
    """The largest request body `path` takes, enforced while Twisted reads it
    (`gateway.http_body_cap`): `MAX_BODY_BYTES` for webhooks; None elsewhere (the gateway's
    ceiling for every request applies there); the web chat's upload takes a file up to
    OPENCLAW_MAX_ATTACHMENT_BYTES in a multipart form."""
    if path == UPLOAD_PATH:
        return int(settings.OPENCLAW_MAX_ATTACHMENT_BYTES) + MULTIPART_OVERHEAD
    return MAX_BODY_BYTES if path.startswith(PREFIX) else None


def body_too_large(request: HttpRequest) -> bool:
    """True when the body is over `MAX_BODY_BYTES`: judged by its declared length before it is
    read (an unreadable length counts as too large; Django would read up to 2.5 MB and log an
    error), then by what arrived."""
    declared = request.headers.get("Content-Length", "0")
    if not declared.isdigit() or int(declared) > MAX_BODY_BYTES:
        return True
    return len(request.body) > MAX_BODY_BYTES


def cap_webhook_bodies(app: Any) -> ASGIApp:
    """Wrap the HTTP application: a webhook request whose body is over `MAX_BODY_BYTES` (by its
    declared length, or counted while it arrives, chunked or not) is answered 413 before
    anything reads or parses it; the others reach `app` with their body replayed."""

    async def capped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope.get("path", "")).startswith(PREFIX):
            await app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length", b"0")
        if not declared.isdigit() or int(declared) > MAX_BODY_BYTES:
            await _too_large(send)
            return
        received: list[Message] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            size += len(message.get("body", b""))
            if size > MAX_BODY_BYTES:
                await _too_large(send)
                return
            received.append(message)
            if not message.get("more_body"):
                break

        async def replay() -> Message:
            return received.pop(0) if received else await receive()

        await app(scope, replay, send)

    return capped


async def _too_large(send: Send) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"connection", b"close")],
        }
    )
    await send({"type": "http.response.body", "body": b"too large"})
