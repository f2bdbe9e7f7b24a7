"""Fake Slack (Web API + Socket Mode) for tests, so the real slack_sdk clients run against it.

Web API under ``/api/`` (point ``AsyncWebClient(base_url=fake.api_url)`` or ``SLACK_API_URL``
at it): ``auth.test``, ``apps.connections.open`` (returns a ``ws://`` URL to this server's own
Socket Mode endpoint), ``chat.postMessage``, ``chat.update``. Tokens are checked: the bot token
for everything but ``apps.connections.open``, which needs the app token (``invalid_auth``
otherwise). Every call is recorded (``fake.calls(method)``); ``fake.fail(method, *errors)``
makes the next calls fail, each ``Fail(error="ratelimited", status=429, retry_after=1)`` or
``Fail("channel_not_found")`` (HTTP 200, ``ok: false``) or ``Fail(status=503)``.
``fake.messages`` holds what the bot posted, as edited since.

Socket Mode: each connection gets ``hello``; ``fake.push(event)`` sends an ``events_api``
envelope (``event_callback`` around ``event``) to the newest connection and returns its
``envelope_id``; ``fake.acks`` lists acknowledged envelope ids; ``fake.disconnect()`` sends
Slack's ``disconnect`` message, ``fake.drop()`` cuts the socket without a close frame, and
``fake.redeliver(envelope_id)`` sends an envelope again (Slack's retry of an unseen ack).
Each recorded call carries ``at``, the monotonic time it arrived.

Files: ``fake.add_file(data, name=..., mimetype=...)`` keeps a file and returns its Slack file
object (``url_private`` and ``url_private_download`` on this server, served only with the bot
token in the Authorization header; without it, Slack's HTML sign-in page, as the real one
does); ``fake.downloads`` lists the file ids fetched. Uploads: ``files.getUploadURLExternal``
returns an ``upload_url`` here, which takes the bytes (multipart ``file`` or a raw body);
``files.completeUploadExternal`` shares them into ``channel_id`` (and ``thread_ts``) with
``initial_comment``; ``fake.uploads`` lists each shared ``Uploaded`` file.
``fake.hold_uploads()`` makes the upload URL never answer (a gateway killed mid-upload).

The server runs on a thread of its own; wait with ``fake.wait(predicate)`` from plain code
or ``await fake.until(predicate)`` from a test's event loop.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Self
from urllib.parse import parse_qsl

from aiohttp import WSMsgType, web

from tests.fakes.background import BackgroundLoop

JSON = dict[str, Any]
BOT_TOKEN = "xoxb-fake-bot-token"
APP_TOKEN = "xapp-fake-app-token"
BOT_USER_ID = "UBOT"
BOT_ID = "BBOT"
TEAM_ID = "T0001"
APP_ID = "A0001"


@dataclass(frozen=True)
class Fail:
    """One scripted failure: ``ok: false`` with ``error`` (HTTP ``status``), and a
    ``Retry-After`` header when ``retry_after`` is set."""

    error: str = ""
    status: int = 200
    retry_after: float | None = None

    @classmethod
    def rate_limited(cls, retry_after: float = 1) -> Fail:
        return cls("ratelimited", 429, retry_after)


@dataclass(frozen=True)
class Call:
    method: str
    args: JSON
    token: str
    at: float = field(default_factory=time.monotonic, compare=False)  # when it arrived


@dataclass
class Posted:
    channel: str
    ts: str
    text: str
    thread_ts: str = ""
    edits: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Uploaded:
    """A file shared by files.completeUploadExternal."""

    file_id: str
    channel: str
    thread_ts: str
    name: str
    title: str
    comment: str
    data: bytes


@dataclass
class _Socket:
    number: int
    ws: web.WebSocketResponse
    request: web.Request


class FakeSlack:
    def __init__(
        self, *, bot_token: str = BOT_TOKEN, app_token: str = APP_TOKEN, host: str = "127.0.0.1"
    ) -> None:
        self.bot_token, self.app_token, self.host = bot_token, app_token, host
        self.port = 0
        self._lock = threading.Lock()
        self._calls: list[Call] = []
        self._failures: dict[str, deque[Fail]] = {}
        self._messages: list[Posted] = []
        self._acks: list[str] = []
        self._pushed: dict[str, JSON] = {}  # envelope id → the envelope last sent
        self._sockets: list[_Socket] = []
        self._opened = 0
        self._ids = itertools.count(1)
        self._files: dict[str, tuple[bytes, str]] = {}  # file id → (bytes, mimetype)
        self._pending: dict[str, JSON] = {}  # upload file id → {"name", "length", "data"}
        self._uploads: list[Uploaded] = []
        self._downloads: list[str] = []
        self._held_uploads = 0  # upload POSTs waiting on hold_uploads()
        self._hold = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._background: BackgroundLoop | None = None
        self._runner: web.AppRunner | None = None

    # -- lifecycle ------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/"

    def start(self) -> Self:
        self._background = BackgroundLoop("FakeSlack")
        self._loop = self._background.loop
        self._background.run(self._astart())
        return self

    def stop(self) -> None:
        background, self._background, self._loop = self._background, None, None
        if background is not None:
            background.close(self._astop())

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def _astart(self) -> None:
        app = web.Application()
        app.router.add_post("/api/{method}", self._api)
        app.router.add_get("/socket-mode", self._socket_mode)
        app.router.add_get("/files-pri/{file_id}/{name}", self._download)
        app.router.add_post("/upload/{file_id}", self._upload)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await runner.setup()
        await web.TCPSite(runner, self.host, 0).start()
        self._runner = runner
        self.port = int(runner.addresses[0][1])

    async def _astop(self) -> None:
        for socket in self.open_sockets():
            await socket.ws.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # -- what the test looks at -----------------------------------------------------------

    def calls(self, method: str | None = None) -> list[Call]:
        with self._lock:
            return [c for c in self._calls if method is None or c.method == method]

    @property
    def messages(self) -> list[Posted]:
        """What chat.postMessage created, each with its chat.update texts (``edits``)."""
        with self._lock:
            return list(self._messages)

    def final_texts(self, channel: str | None = None) -> list[str]:
        """Each posted message's text as it stands now (after its edits)."""
        return [m.text for m in self.messages if channel is None or m.channel == channel]

    @property
    def acks(self) -> list[str]:
        with self._lock:
            return list(self._acks)

    @property
    def connections_opened(self) -> int:
        """Socket Mode WebSockets accepted so far (open or closed)."""
        with self._lock:
            return self._opened

    def open_sockets(self) -> list[_Socket]:
        with self._lock:
            return [s for s in self._sockets if not s.ws.closed]

    @property
    def uploads(self) -> list[Uploaded]:
        with self._lock:
            return list(self._uploads)

    @property
    def downloads(self) -> list[str]:
        with self._lock:
            return list(self._downloads)

    @property
    def holding_uploads(self) -> int:
        """Upload POSTs that arrived while held and are still waiting."""
        with self._lock:
            return self._held_uploads

    def hold_uploads(self, hold: bool = True) -> None:
        with self._lock:
            self._hold = hold

    def add_file(
        self,
        data: bytes,
        *,
        name: str = "file.bin",
        mimetype: str = "application/octet-stream",
        size: int | None = None,
        mode: str = "hosted",
    ) -> JSON:
        """Keep a file and return its Slack file object (``size`` may claim another size)."""
        file_id = f"F{next(self._ids):08d}"
        with self._lock:
            self._files[file_id] = (data, mimetype)
        url = f"{self.url}/files-pri/{TEAM_ID}-{file_id}/{name}"
        return {
            "id": file_id,
            "name": name,
            "title": name,
            "mimetype": mimetype,
            "filetype": name.rpartition(".")[2] if "." in name else "binary",
            "size": len(data) if size is None else size,
            "mode": mode,
            "url_private": url,
            "url_private_download": url + "?download=1",
        }

    def fail(self, method: str, *failures: Fail) -> None:
        with self._lock:
            self._failures.setdefault(method, deque()).extend(failures)

    def wait(self, predicate: Callable[[], object], timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise TimeoutError(f"fake Slack: condition not met in {timeout}s: {self.summary()}")
            time.sleep(0.02)

    async def until(self, predicate: Callable[[], object], seconds: float = 10.0) -> None:
        deadline = time.monotonic() + seconds
        while not predicate():
            if time.monotonic() > deadline:
                raise TimeoutError(f"fake Slack: condition not met in {seconds}s: {self.summary()}")
            await asyncio.sleep(0.02)

    def summary(self) -> str:
        methods = [c.method for c in self.calls()]
        return f"calls={methods} acks={self.acks} open_sockets={len(self.open_sockets())}"

    # -- what the test makes Slack do -------------------------------------------------------

    def push(
        self,
        event: JSON,
        *,
        envelope_id: str | None = None,
        retry_attempt: int = 0,
        event_id: str | None = None,
    ) -> str:
        """Send an ``events_api`` envelope over the newest Socket Mode connection."""
        envelope_id = envelope_id or f"env-{next(self._ids)}"
        envelope = {
            "envelope_id": envelope_id,
            "type": "events_api",
            "accepts_response_payload": False,
            "retry_attempt": retry_attempt,
            "retry_reason": "timeout" if retry_attempt else "",
            "payload": event_callback(event, event_id=event_id),
        }
        self._send_json(envelope)
        with self._lock:
            self._pushed[envelope_id] = envelope
        return envelope_id

    def redeliver(self, envelope_id: str) -> None:
        """Send a pushed envelope again on the newest connection, as Slack does when it never
        saw the acknowledgement (say the socket dropped first): same ids, next retry_attempt."""
        with self._lock:
            previous = self._pushed[envelope_id]
        attempt = int(previous["retry_attempt"]) + 1
        envelope = {**previous, "retry_attempt": attempt, "retry_reason": "timeout"}
        self._send_json(envelope)
        with self._lock:
            self._pushed[envelope_id] = envelope

    def disconnect(self, reason: str = "refresh_requested") -> None:
        """Slack's warning that this connection ends: the client is expected to reconnect."""
        self._send_json({"type": "disconnect", "reason": reason, "debug_info": {"host": "fake"}})

    def drop(self) -> None:
        """Cut the newest connection at the TCP level: no close frame."""
        socket = self._newest()

        def abort() -> None:
            transport = socket.request.transport
            if transport is not None:
                transport.abort()

        assert self._loop is not None
        self._loop.call_soon_threadsafe(abort)
        self.wait(lambda: socket.ws.closed or socket not in self.open_sockets(), 5)

    def _newest(self) -> _Socket:
        sockets = self.open_sockets()
        if not sockets:
            raise AssertionError(f"no Socket Mode connection is open: {self.summary()}")
        return sockets[-1]

    def _send_json(self, message: JSON) -> None:
        socket = self._newest()
        assert self._loop is not None
        asyncio.run_coroutine_threadsafe(socket.ws.send_json(message), self._loop).result(5)

    # -- the server -------------------------------------------------------------------------

    async def _api(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        args = await _arguments(request)
        auth = request.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else ""
        token = token or str(args.get("token", ""))
        with self._lock:
            self._calls.append(Call(method, args, token))
            queued = self._failures.get(method)
            failure = queued.popleft() if queued else None
        if failure is not None:
            headers = {"Retry-After": f"{failure.retry_after:g}"} if failure.retry_after else {}
            body = {"ok": False, "error": failure.error} if failure.error else {"ok": False}
            if failure.status >= 500 and not failure.error:
                return web.Response(status=failure.status, text="upstream trouble")
            return web.json_response(body, status=failure.status, headers=headers)
        expected = self.app_token if method == "apps.connections.open" else self.bot_token
        if token != expected:
            return web.json_response({"ok": False, "error": "invalid_auth"})
        handler = {
            "auth.test": self._auth_test,
            "apps.connections.open": self._connections_open,
            "chat.postMessage": self._post_message,
            "chat.update": self._update,
            "files.getUploadURLExternal": self._upload_url,
            "files.completeUploadExternal": self._complete_upload,
        }.get(method)
        if handler is None:
            return web.json_response({"ok": False, "error": "unknown_method"}, status=404)
        return web.json_response(handler(args))

    def _auth_test(self, args: JSON) -> JSON:
        return {
            "ok": True,
            "url": "https://fake.slack.test/",
            "team": "Fake",
            "user": "openclaw",
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
        }

    def _connections_open(self, args: JSON) -> JSON:
        return {
            "ok": True,
            "url": f"ws://{self.host}:{self.port}/socket-mode?ticket={next(self._ids)}",
        }

    def _post_message(self, args: JSON) -> JSON:
        channel, text = str(args.get("channel", "")), str(args.get("text", ""))
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        if not text:
            return {"ok": False, "error": "no_text"}
        ts = f"{1_700_000_000 + next(self._ids)}.000100"
        posted = Posted(channel, ts, text, str(args.get("thread_ts") or ""))
        with self._lock:
            self._messages.append(posted)
        message = {"type": "message", "user": BOT_USER_ID, "bot_id": BOT_ID, "text": text, "ts": ts}
        return {"ok": True, "channel": channel, "ts": ts, "message": message}

    def _update(self, args: JSON) -> JSON:
        channel, ts, text = (str(args.get(k, "")) for k in ("channel", "ts", "text"))
        with self._lock:
            found = next((m for m in self._messages if (m.channel, m.ts) == (channel, ts)), None)
            if found is None:
                return {"ok": False, "error": "message_not_found"}
            found.text = text
            found.edits.append(text)
        return {"ok": True, "channel": channel, "ts": ts, "text": text}

    def _upload_url(self, args: JSON) -> JSON:
        name, length = str(args.get("filename") or ""), str(args.get("length") or "")
        if not name or not length.isdigit():
            return {"ok": False, "error": "invalid_arguments"}
        file_id = f"F{next(self._ids):08d}"
        with self._lock:
            self._pending[file_id] = {"name": name, "length": int(length), "data": None}
        return {"ok": True, "upload_url": f"{self.url}/upload/{file_id}", "file_id": file_id}

    def _complete_upload(self, args: JSON) -> JSON:
        try:
            files = json.loads(str(args.get("files") or "[]"))
        except ValueError:
            return {"ok": False, "error": "invalid_arguments"}
        channel = str(args.get("channel_id") or "")
        shared = []
        for item in files if isinstance(files, list) else []:
            with self._lock:
                pending = self._pending.pop(str(item.get("id")), None)
            if pending is None or pending["data"] is None:
                return {"ok": False, "error": "file_not_found"}
            uploaded = Uploaded(
                str(item["id"]),
                channel,
                str(args.get("thread_ts") or ""),
                pending["name"],
                str(item.get("title") or ""),
                str(args.get("initial_comment") or ""),
                pending["data"],
            )
            with self._lock:
                self._uploads.append(uploaded)
            shared.append({"id": uploaded.file_id, "title": uploaded.title})
        return {"ok": True, "files": shared}

    async def _upload(self, request: web.Request) -> web.StreamResponse:
        file_id = request.match_info["file_id"]
        with self._lock:
            hold = self._hold
            self._held_uploads += hold
        if hold:  # no answer while held; the client dies waiting (or gives up)
            transport = request.transport
            while True:  # polled: no event says the hold was released or the client left
                if not self._hold or transport is None or transport.is_closing():
                    break
                await asyncio.sleep(0.05)
            with self._lock:
                self._held_uploads -= 1
            if transport is None or transport.is_closing():
                return web.Response(status=499, text="client gone")
        if request.content_type.startswith("multipart/"):
            form = await request.post()
            part = form.get("file")
            data = part.file.read() if isinstance(part, web.FileField) else b""
        else:
            data = await request.read()
        with self._lock:
            pending = self._pending.get(file_id)
            if pending is None:
                return web.Response(status=404, text="no such upload")
            if len(data) != pending["length"]:
                return web.Response(status=400, text="length does not match")
            pending["data"] = data
        return web.Response(text=f"OK - {len(data)}")

    async def _download(self, request: web.Request) -> web.StreamResponse:
        file_id = request.match_info["file_id"].rpartition("-")[2]
        if request.headers.get("Authorization", "") != f"Bearer {self.bot_token}":
            page = "<!DOCTYPE html><html><body>Sign in to Slack</body></html>"
            return web.Response(text=page, content_type="text/html")
        with self._lock:
            found = self._files.get(file_id)
            if found is not None:
                self._downloads.append(file_id)
        if found is None:
            return web.Response(status=404, text="file not found")
        return web.Response(body=found[0], content_type=found[1])

    async def _socket_mode(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        with self._lock:
            self._opened += 1
            socket = _Socket(self._opened, ws, request)
            self._sockets.append(socket)
        await ws.send_json(
            {
                "type": "hello",
                "num_connections": len(self.open_sockets()),
                "debug_info": {"host": "fake", "approximate_connection_time": 3600},
                "connection_info": {"app_id": APP_ID},
            }
        )
        async for message in ws:
            if message.type != WSMsgType.TEXT:
                continue
            try:
                data = json.loads(message.data)
            except ValueError:
                continue
            if isinstance(data, dict) and data.get("envelope_id"):
                with self._lock:
                    self._acks.append(str(data["envelope_id"]))
        return ws


async def _arguments(request: web.Request) -> JSON:
    args: JSON = dict(request.query)
    if not request.can_read_body:
        return args
    raw = await request.read()
    if request.content_type == "application/json":
        loaded = json.loads(raw or b"{}")
        if isinstance(loaded, dict):
            args.update(loaded)
    else:
        args.update(parse_qsl(raw.decode("utf-8")))
    return args


def event_callback(event: Mapping[str, Any], *, event_id: str | None = None) -> JSON:
    """The Events API wrapper around one event, as Slack sends it."""
    return {
        "token": "verification-token-unused",
        "team_id": TEAM_ID,
        "api_app_id": APP_ID,
        "event": dict(event),
        "type": "event_callback",
        "event_id": event_id or f"Ev{abs(hash(json.dumps(event, sort_keys=True))) % 10**10:010d}",
        "event_time": int(time.time()),
        "authorizations": [
            {
                "team_id": TEAM_ID,
                "user_id": BOT_USER_ID,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
    }


_ts = itertools.count(1)


def new_ts() -> str:
    return f"{1_600_000_000 + next(_ts)}.{next(_ts):06d}"


def dm_event(
    text: str, *, user: str = "U0USER", channel: str = "D0DM", ts: str | None = None
) -> JSON:
    """A direct message to the bot (``message.im``)."""
    ts = ts or new_ts()
    return {
        "type": "message",
        "channel_type": "im",
        "channel": channel,
        "user": user,
        "text": text,
        "ts": ts,
        "event_ts": ts,
        "client_msg_id": f"cm-{ts}",
    }


def file_share_event(
    text: str, files: list[JSON], *, user: str = "U0USER", channel: str = "D0DM"
) -> JSON:
    """A direct message with files (``subtype: file_share``), ``text`` as its message."""
    return {**dm_event(text, user=user, channel=channel), "subtype": "file_share", "files": files}


def mention_event(
    text: str,
    *,
    user: str = "U0USER",
    channel: str = "C0CHAN",
    ts: str | None = None,
    thread_ts: str | None = None,
) -> JSON:
    """An ``app_mention`` in a channel; ``text`` should carry ``<@UBOT>``."""
    ts = ts or new_ts()
    event = {"type": "app_mention", "channel": channel, "user": user, "text": text, "ts": ts}
    event["event_ts"] = ts
    if thread_ts:
        event["thread_ts"] = thread_ts
    return event
