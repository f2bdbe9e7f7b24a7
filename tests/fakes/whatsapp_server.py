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


def image_message(phone_number_id: str, wa_id: str, wamid: str) -> JSON:
    image = {"mime_type": "image/jpeg", "sha256": "abc=", "id": "1234567890", "caption": "look"}
    return inbound(phone_number_id, wa_id, wamid, "image", image)


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
