"""Fake WhatsApp Cloud API (Graph) server for tests, plus builders of signed webhook payloads.

Point the adapter at it with ``WHATSAPP_API_URL=fake.api_url``. It serves
``POST /<version>/<phone_number_id>/messages``: text sends answer
``{"messaging_product": "whatsapp", "contacts": [...], "messages": [{"id": "wamid.…"}]}``,
read receipts / typing indicators answer ``{"success": true}``. A request whose bearer token is
not ``access_token`` gets Graph's 401 (code 190).

Scripting: ``fake.fail(Failure.rate_limit(retry_after=0.2), ...)`` queues failures consumed by
the next text sends (read receipts never consume them). ``Failure.invalid_token()``,
``Failure.recipient_not_allowed()``, ``Failure.server_error()`` give Graph's real error bodies.

``fake.requests`` lists every ``RecordedRequest``; ``fake.sends`` the text-send bodies that
succeeded, in order; ``fake.wait_for_sends(n)`` blocks until n arrived (threaded mode).

Media: ``fake.add_media(data, mime_type=...)`` keeps a file the way a user's upload is kept and
returns its media id; ``GET /<version>/<media-id>`` answers its ``url`` (on this server),
``mime_type``, ``sha256`` and ``file_size`` (which ``file_size=`` may overstate), and the URL
serves the bytes, both only with the bearer token. ``POST /<version>/<phone_number_id>/media``
(multipart: ``file``, ``messaging_product``, ``type``) keeps an upload and answers its ``id``;
media messages (``image``, ``document``, ``audio``, ``video``) must name an uploaded id.
``fake.files_to(wa_id)`` lists the media messages sent, each with its upload
(``SentFile``); ``fake.downloads`` the media ids fetched; ``fake.hold_uploads()`` makes uploads
never answer (a gateway killed mid-upload), ``fake.holding_uploads`` counts those waiting.

Run it threaded (``with FakeWhatsApp() as fake:``) or on the running loop
(``async with FakeWhatsApp() as fake:``).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Self

from aiohttp import web

from tests.fakes.background import BackgroundLoop

JSON = dict[str, Any]
VERSION = "v21.0"
TOKEN = "wa-token"


@dataclass(frozen=True)
class Failure:
    status: int
    code: int
    message: str
    type: str = "OAuthException"
    retry_after: float | None = None

    @classmethod
    def rate_limit(cls, retry_after: float | None = 0.2, code: int = 130429) -> Failure:
        msg = "(#130429) Rate limit hit" if code == 130429 else "(#80007) Rate limit issues"
        return cls(429, code, msg, retry_after=retry_after)

    @classmethod
    def invalid_token(cls) -> Failure:
        return cls(401, 190, "Invalid OAuth access token - Cannot parse access token")

    @classmethod
    def recipient_not_allowed(cls) -> Failure:
        return cls(400, 131030, "(#131030) Recipient phone number not in allowed list")

    @classmethod
    def server_error(cls) -> Failure:
        return cls(503, 131016, "(#131016) Service unavailable")

    def body(self) -> JSON:
        error = {"message": self.message, "type": self.type, "code": self.code}
        return {"error": error | {"fbtrace_id": "AbCdEfFake"}}


@dataclass(frozen=True)
class RecordedRequest:
    path: str
    phone_number_id: str
    authorization: str
    body: JSON
    status: int


@dataclass(frozen=True)
class Upload:
    name: str
    mime: str
    data: bytes


@dataclass(frozen=True)
class SentFile:
    """A media message that was accepted, with the upload it named."""

    type: str
    caption: str
    filename: str
    upload: Upload


MEDIA_TYPES = ("image", "document", "audio", "video", "sticker")


class FakeWhatsApp:
    """One fake Graph endpoint; every instance has its own port, script and request log."""

    def __init__(self, *, access_token: str = TOKEN, host: str = "127.0.0.1") -> None:
        self.access_token = access_token
        self.host = host
        self.port = 0
        self._failures: deque[Failure] = deque()
        self._requests: list[RecordedRequest] = []
        self._cond = threading.Condition()
        self._ids = itertools.count(1)
        self._media: dict[str, tuple[bytes, str, int]] = {}  # id → (bytes, mime, claimed size)
        self._uploads: dict[str, Upload] = {}
        self._downloads: list[str] = []
        self._hold = False
        self._held = 0
        self._runner: web.AppRunner | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._background: BackgroundLoop | None = None

    @property
    def url(self) -> str:
        if not self.port:
            raise RuntimeError("FakeWhatsApp is not running")
        return f"http://{self.host}:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.url}/{VERSION}"

    def fail(self, *failures: Failure) -> Self:
        with self._cond:
            self._failures.extend(failures)
        return self

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._cond:
            return list(self._requests)

    @property
    def text_attempts(self) -> list[RecordedRequest]:
        """Every text send, failed or not."""
        return [r for r in self.requests if r.body.get("type") == "text"]

    @property
    def sends(self) -> list[JSON]:
        """Bodies of the text sends that were accepted, in order."""
        return [r.body for r in self.text_attempts if r.status == 200]

    def texts_to(self, wa_id: str) -> list[str]:
        return [s["text"]["body"] for s in self.sends if s.get("to") == wa_id]

    def add_media(
        self, data: bytes, *, mime_type: str = "image/jpeg", file_size: int | None = None
    ) -> str:
        media_id = f"{9_000_000_000 + next(self._ids)}"
        with self._cond:
            self._media[media_id] = (data, mime_type, len(data) if file_size is None else file_size)
        return media_id

    @property
    def downloads(self) -> list[str]:
        with self._cond:
            return list(self._downloads)

    def files_to(self, wa_id: str) -> list[SentFile]:
        sent = []
        for r in self.requests:
            kind = str(r.body.get("type", ""))
            if r.status != 200 or kind not in MEDIA_TYPES or r.body.get("to") != wa_id:
                continue
            content = r.body[kind]
            with self._cond:
                upload = self._uploads[str(content["id"])]
            caption, filename = str(content.get("caption", "")), str(content.get("filename", ""))
            sent.append(SentFile(kind, caption, filename, upload))
        return sent

    def hold_uploads(self, hold: bool = True) -> None:
        with self._cond:
            self._hold = hold

    @property
    def holding_uploads(self) -> int:
        with self._cond:
            return self._held

    def wait_until(self, ready: Callable[[], bool], timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not ready():
            if time.monotonic() > deadline:
                raise TimeoutError(f"fake WhatsApp: condition not met in {timeout}s")
            time.sleep(0.02)

    def wait_for_sends(self, n: int, timeout: float = 10.0) -> list[JSON]:
        self._wait(lambda: len(self.sends) >= n, timeout, f"{n} sends")
        return self.sends

    def wait_for_attempts(self, n: int, timeout: float = 10.0) -> list[RecordedRequest]:
        self._wait(lambda: len(self.text_attempts) >= n, timeout, f"{n} send attempts")
        return self.text_attempts

    def _wait(self, ready: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        with self._cond:
            while not ready():
                left = deadline - time.monotonic()
                if left <= 0:
                    got = [
                        (r.status, r.body.get("type") or r.body.get("status"))
                        for r in self._requests
                    ]
                    raise TimeoutError(f"expected {what}; got {got}")
                self._cond.wait(left)

    def start(self) -> Self:
        self._background = BackgroundLoop("FakeWhatsApp")
        self._loop = self._background.loop
        self._background.run(self.astart())
        return self

    def stop(self) -> None:
        background, self._background, self._loop = self._background, None, None
        if background is not None:
            background.close(self.astop())

    async def astart(self) -> Self:
        app = web.Application()
        app.router.add_post("/{version}/{phone_number_id}/messages", self._messages)
        app.router.add_post("/{version}/{phone_number_id}/media", self._upload)
        app.router.add_get("/media-download/{media_id}", self._download)  # before the next
        app.router.add_get("/{version}/{media_id}", self._media_url)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await runner.setup()
        await web.TCPSite(runner, self.host, 0).start()
        self._runner = runner
        self.port = int(runner.addresses[0][1])
        return self

    async def astop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        self.port = 0

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def __aenter__(self) -> Self:
        return await self.astart()

    async def __aexit__(self, *exc: object) -> None:
        await self.astop()

    async def _messages(self, request: web.Request) -> web.Response:
        try:
            loaded = await request.json()
        except ValueError:
            loaded = None
        body: JSON = loaded if isinstance(loaded, dict) else {}
        auth = request.headers.get("Authorization", "")
        failure = self._failure_for(body, auth)
        status = failure.status if failure else 200
        with self._cond:
            number = request.match_info["phone_number_id"]
            self._requests.append(RecordedRequest(request.path, number, auth, body, status))
            self._cond.notify_all()
        if failure is not None:
            headers = (
                {} if failure.retry_after is None else {"Retry-After": f"{failure.retry_after:g}"}
            )
            return web.json_response(failure.body(), status=failure.status, headers=headers)
        if body.get("status") == "read":
            return web.json_response({"success": True})
        to = str(body.get("to", ""))
        return web.json_response(
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": to, "wa_id": to}],
                "messages": [{"id": f"wamid.FAKE{next(self._ids):06d}"}],
            }
        )

    def _authorised(self, request: web.Request) -> bool:
        return request.headers.get("Authorization", "") == f"Bearer {self.access_token}"

    async def _media_url(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return web.json_response(Failure.invalid_token().body(), status=401)
        media_id = request.match_info["media_id"]
        with self._cond:
            found = self._media.get(media_id)
        if found is None:
            missing = Failure(400, 100, "(#100) Unsupported get request.")
            return web.json_response(missing.body(), status=400)
        data, mime, size = found
        return web.json_response(
            {
                "messaging_product": "whatsapp",
                "url": f"{self.url}/media-download/{media_id}?ext=1",
                "mime_type": mime,
                "sha256": hashlib.sha256(data).hexdigest(),
                "file_size": size,
                "id": media_id,
            }
        )

    async def _download(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return web.Response(status=401, text="unauthorized")
        media_id = request.match_info["media_id"]
        with self._cond:
            found = self._media.get(media_id)
            if found is not None:
                self._downloads.append(media_id)
        if found is None:
            return web.Response(status=404, text="not found")
        return web.Response(body=found[0], content_type="application/octet-stream")

    async def _upload(self, request: web.Request) -> web.Response:
        with self._cond:
            hold = self._hold
            self._held += hold
        if hold:  # no answer while held: the client dies waiting
            transport = request.transport
            while True:  # polled: no event says the hold was released or the client left
                if not self._hold or transport is None or transport.is_closing():
                    break
                await asyncio.sleep(0.05)
            with self._cond:
                self._held -= 1
            if transport is None or transport.is_closing():
                return web.Response(status=499, text="client gone")
        if not self._authorised(request):
            return web.json_response(Failure.invalid_token().body(), status=401)
        form = await request.post()
        part = form.get("file")
        if form.get("messaging_product") != "whatsapp" or not isinstance(part, web.FileField):
            bad = Failure(400, 100, "(#100) The parameter messaging_product is required.")
            return web.json_response(bad.body(), status=400)
        media_id = f"{8_000_000_000 + next(self._ids)}"
        upload = Upload(part.filename, str(form.get("type", "")), part.file.read())
        with self._cond:
            self._uploads[media_id] = upload
        return web.json_response({"id": media_id})

    def _failure_for(self, body: JSON, auth: str) -> Failure | None:
        if auth != f"Bearer {self.access_token}":
            return Failure.invalid_token()
        if body.get("messaging_product") != "whatsapp":
            return Failure(400, 100, "(#100) The parameter messaging_product is required.")
        if body.get("type") == "text":
            text = body.get("text")
            if not isinstance(text, dict) or len(str(text.get("body", ""))) > 4096:
                return Failure(
                    400, 100, "(#100) Param text['body'] must be at most 4096 characters"
                )
            with self._cond:
                return self._failures.popleft() if self._failures else None
        kind = body.get("type")
        if kind in MEDIA_TYPES:
            content = body.get(str(kind))
            with self._cond:
                known = isinstance(content, dict) and str(content.get("id")) in self._uploads
            if not known:
                return Failure(400, 131053, "(#131053) Media upload error")
            if kind == "audio" and isinstance(content, dict) and "caption" in content:
                return Failure(400, 100, "(#100) Param audio['caption'] is not allowed")
        return None


# --- webhook payloads, as Meta posts them to /webhooks/whatsapp/ ---------------------------


def envelope(phone_number_id: str, value: Mapping[str, Any]) -> JSON:
    metadata = {"display_phone_number": "15550001111", "phone_number_id": phone_number_id}
    change = {
        "field": "messages",
        "value": {"messaging_product": "whatsapp", "metadata": metadata, **value},
    }
    return {"object": "whatsapp_business_account", "entry": [{"id": "WABA1", "changes": [change]}]}


def inbound(
    phone_number_id: str, wa_id: str, wamid: str, kind: str, content: JSON, *, name: str = "Kerry"
) -> JSON:
    message = {
        "from": wa_id,
        "id": wamid,
        "timestamp": str(int(time.time())),
        "type": kind,
        kind: content,
    }
    contacts = [{"profile": {"name": name}, "wa_id": wa_id}]
    return envelope(phone_number_id, {"contacts": contacts, "messages": [message]})


def text_message(phone_number_id: str, wa_id: str, wamid: str, text: str, **kw: str) -> JSON:
    return inbound(phone_number_id, wa_id, wamid, "text", {"body": text}, **kw)


def image_message(
    phone_number_id: str,
    wa_id: str,
    wamid: str,
    *,
    media_id: str = "1234567890",
    caption: str = "look",
    mime_type: str = "image/jpeg",
) -> JSON:
    image = {"mime_type": mime_type, "sha256": "abc=", "id": media_id, "caption": caption}
    return inbound(phone_number_id, wa_id, wamid, "image", image)


def document_message(
    phone_number_id: str,
    wa_id: str,
    wamid: str,
    *,
    media_id: str,
    filename: str,
    mime_type: str,
    caption: str = "",
) -> JSON:
    document = {"mime_type": mime_type, "sha256": "abc=", "id": media_id, "filename": filename}
    if caption:
        document["caption"] = caption
    return inbound(phone_number_id, wa_id, wamid, "document", document)


def status_callback(
    phone_number_id: str, wa_id: str, wamid: str, status: str = "delivered"
) -> JSON:
    update = {
        "id": wamid,
        "status": status,
        "timestamp": str(int(time.time())),
        "recipient_id": wa_id,
        "conversation": {"id": "CONV1", "origin": {"type": "service"}},
        "pricing": {"billable": True, "pricing_model": "CBP", "category": "service"},
    }
    return envelope(phone_number_id, {"statuses": [update]})


def signed(app_secret: str, payload: JSON | bytes) -> tuple[bytes, dict[str, str]]:
    """The raw body and headers Meta sends: X-Hub-Signature-256 over the exact bytes."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    digest = hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    return body, {"Content-Type": "application/json", "X-Hub-Signature-256": f"sha256={digest}"}
