"""Fake Telegram Bot API server for tests: the real wire format at /bot<token>/<method>.

Methods: getMe, getUpdates (offset confirms, ``timeout`` holds the request until an update is
queued), sendMessage, editMessageText, sendChatAction, setWebhook, deleteWebhook; files: getFile
and the download at /file/bot<token>/<file_path> (files registered with ``fake.add_file(data)``;
over 20 MB getFile answers "file is too big", as Telegram does), and multipart sendPhoto,
sendDocument, sendVoice (what arrived: ``fake.files(chat_id)``; ``fake.hold(method)`` keeps the
next such call, or file download with ``hold("download")``, waiting, unrecorded, until the
server stops). HTML is
checked the way Telegram does (known tags, balanced, ``<>&`` escaped) and 4096 visible
characters is the limit. Bot messages are kept per chat (``fake.messages(chat_id)``), every
call is recorded (``fake.calls``). Scripted failures: ``fake.fail(method, status, description,
retry_after=...)``, ``fake.rate_limit(method, retry_after)``,
``fake.block_bot(chat)``, ``fake.reject_html()``. Build incoming traffic with ``fake.text(...)``,
``fake.photo(...)``, ``fake.document(...)``, ``fake.voice(...)``, ``fake.sticker(...)`` and queue it with ``fake.push_update(message)``; ``fake.redeliver(update)``
hands an update out again as if its offset had never been confirmed.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any, Self

from aiohttp import web

from tests.fakes.background import BackgroundLoop

JSON = dict[str, Any]
TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre", "span"}
TAGS |= {"tg-spoiler", "tg-emoji", "blockquote"}
TAG = re.compile(r"</?[a-zA-Z][a-zA-Z-]*(?:\s[^<>]*)?>")
ENTITY = re.compile(r"&(?!(?:lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);)")
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)


@dataclass
class Call:
    method: str
    params: JSON
    status: int
    at: float = field(default_factory=time.monotonic)


@dataclass
class BotMessage:
    chat_id: str
    message_id: int
    text: str  # what the user sees (tags gone, entities decoded)
    raw: str  # what the bot sent
    parse_mode: str | None
    thread_id: int | None
    reply_to: int | None
    edits: int = 0


@dataclass
class SentFile:
    method: str  # sendPhoto, sendDocument, sendVoice
    chat_id: str
    message_id: int
    name: str
    mime: str
    data: bytes
    caption: str


@dataclass
class Failure:
    method: str | None  # None: any method
    status: int
    description: str
    retry_after: float | None = None
    times: int = 1
    when: Callable[[JSON], bool] = field(default=lambda params: True)


class _Html(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.text: list[str] = []
        self.error = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in TAGS:
            self.error = self.error or f'Unsupported start tag "{tag}"'
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.error = self.error or f'Can\'t find end tag corresponding to start tag "{tag}"'
        else:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def visible_text(raw: str) -> tuple[str, str]:
    """(text the user sees, parse error or "") for a parse_mode=HTML message."""
    stray = TAG.sub("", raw)
    if "<" in stray or ">" in stray:
        return "", "Unexpected character in entity text"
    if ENTITY.search(raw):
        return "", "Unsupported entity: use &amp; for &"
    parser = _Html()
    parser.feed(raw)
    parser.close()
    if parser.stack and not parser.error:
        parser.error = f'Can\'t find end tag for "{parser.stack[-1]}"'
    return "".join(parser.text), parser.error


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


class FakeTelegram:
    def __init__(
        self,
        *,
        token: str = "123:fake",  # noqa: S107  # the fake's own test token
        bot_id: int = 123,
        username: str = "openclaw_bot",
    ) -> None:
        self.token, self.bot_id, self.username = token, bot_id, username
        self.port = 0
        self.webhook: JSON = {}
        self._cond = threading.Condition(threading.RLock())
        self._calls: list[Call] = []
        self._queue: list[JSON] = []  # unconfirmed updates
        self._again: list[JSON] = []  # handed out once more, whatever the offset
        self._handed: dict[int, int] = {}  # update id → times handed out
        self._confirmed: set[int] = set()
        self._failures: list[Failure] = []
        self._chats: dict[str, list[BotMessage]] = {}
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1000)
        self._files: dict[str, tuple[str, bytes]] = {}  # file_id → (file_path, bytes)
        self._file_ids = itertools.count(1)
        self._sent_files: dict[str, list[SentFile]] = {}
        self._holds: dict[str, int] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._background: BackgroundLoop | None = None
        self._runner: web.AppRunner | None = None
        self._wake: asyncio.Event | None = None
        self._closed: asyncio.Event | None = None  # set when the server stops (held calls end)
        self._closing = False

    # --- lifecycle ------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Self:
        self._background = BackgroundLoop("FakeTelegram")
        self._loop = self._background.loop
        self._background.run(self._start())
        return self

    def __exit__(self, *exc: object) -> None:
        background, self._background = self._background, None
        if background is not None:
            background.close(self._stop())

    async def _start(self) -> None:
        self._wake, self._closed = asyncio.Event(), asyncio.Event()
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.port = int(self._runner.addresses[0][1])

    async def _stop(self) -> None:
        self._closing = True
        if self._closed is not None:
            self._closed.set()
        if self._wake is not None:
            self._wake.set()  # held getUpdates requests answer now
        if self._runner is not None:
            await self._runner.cleanup()
        current = asyncio.current_task()
        leftovers = [t for t in asyncio.all_tasks() if t is not current]
        for task in leftovers:
            task.cancel()
        await asyncio.gather(*leftovers, return_exceptions=True)

    # --- incoming traffic -----------------------------------------------------------------
    def text(self, chat: int, text: str, *, sender: int | None = None, **extra: Any) -> JSON:
        """A text message from `sender` (default: the chat itself, a private chat); a negative
        chat is a supergroup. "@<bot username>" in the text becomes a mention entity."""
        message = self._message(chat, sender, text=text, **extra)
        handle = f"@{self.username}"
        if handle in text:
            prefix = text[: text.index(handle)]
            entity = {"type": "mention", "offset": utf16_len(prefix), "length": len(handle)}
            message["entities"] = [entity]
        return message

    def photo(
        self, chat: int, *, sender: int | None = None, caption: str = "", data: bytes = b""
    ) -> JSON:
        """A photo in three sizes; the largest one's file holds `data` (none given: the
        file_id is unknown to getFile)."""
        large = self.add_file(data, "photos/file.jpg") if data else "AgAD"
        sizes = [
            {"file_id": "AgAD-s", "file_unique_id": "u0", "width": 90, "height": 60},
            {"file_id": large, "file_unique_id": "u1", "width": 1280, "height": 853}
            | ({"file_size": len(data)} if data else {}),
            {"file_id": "AgAD-m", "file_unique_id": "u2", "width": 320, "height": 213},
        ]
        return self._message(chat, sender, photo=sizes, **({"caption": caption} if caption else {}))

    def document(
        self,
        chat: int,
        data: bytes,
        *,
        name: str,
        mime: str,
        caption: str = "",
        declared_size: int | None = None,
        sender: int | None = None,
    ) -> JSON:
        size = len(data) if declared_size is None else declared_size
        document = {
            "file_id": self.add_file(data, f"documents/{name}"),
            "file_unique_id": "d",
            "file_name": name,
            "mime_type": mime,
            "file_size": size,
        }
        extra = {"caption": caption} if caption else {}
        return self._message(chat, sender, document=document, **extra)

    def voice(self, chat: int, data: bytes, *, sender: int | None = None) -> JSON:
        voice = {
            "file_id": self.add_file(data, "voice/file.oga"),
            "file_unique_id": "v",
            "duration": 2,
            "mime_type": "audio/ogg",
            "file_size": len(data),
        }
        return self._message(chat, sender, voice=voice)

    def sticker(self, chat: int, *, sender: int | None = None) -> JSON:
        sticker = {"file_id": "sticker", "file_unique_id": "s", "width": 512, "height": 512}
        return self._message(chat, sender, sticker=sticker)

    def add_file(self, data: bytes, file_path: str = "documents/file") -> str:
        """Register a file for getFile and the download; returns its file_id."""
        with self._cond:
            file_id = f"BQAC-{next(self._file_ids)}"
            self._files[file_id] = (f"{file_path.rsplit('.', 1)[0]}_{file_id}", data)
        return file_id

    def reply_to(self, message: BotMessage) -> JSON:
        """`reply_to_message` for an answer to one of the bot's messages."""
        bot = {"id": self.bot_id, "is_bot": True, "first_name": "Claw", "username": self.username}
        chat = {"id": int(message.chat_id), "type": _chat_type(int(message.chat_id))}
        return {"message_id": message.message_id, "from": bot, "chat": chat, "text": message.text}

    def _message(self, chat: int, sender: int | None, **fields: Any) -> JSON:
        user = sender if sender is not None else chat
        chat_data: JSON = {"id": chat, "type": _chat_type(chat)}
        if chat < 0:
            chat_data["title"] = f"group {chat}"
        return {
            "message_id": next(self._message_ids),
            "from": {"id": user, "is_bot": False, "first_name": f"User{user}"},
            "chat": chat_data,
            "date": int(time.time()),
        } | fields

    def push_update(self, message: JSON, kind: str = "message") -> JSON:
        with self._cond:
            update = {"update_id": next(self._update_ids), kind: message}
            self._queue.append(update)
        self._notify()
        return update

    def redeliver(self, update: JSON) -> None:
        with self._cond:
            self._again.append(update)
            self._confirmed.discard(update["update_id"])
        self._notify()

    def _notify(self) -> None:
        if self._loop is not None and self._wake is not None:
            self._loop.call_soon_threadsafe(self._wake.set)

    # --- scripting and inspection ---------------------------------------------------------
    def fail(self, method: str | None, status: int, description: str, **kwargs: Any) -> Failure:
        failure = Failure(method, status, description, **kwargs)
        with self._cond:
            self._failures.append(failure)
        return failure

    def rate_limit(self, method: str, retry_after: int = 1, chat_id: int | None = None) -> Failure:
        detail = f"Too Many Requests: retry after {retry_after}"
        return self.fail(method, 429, detail, retry_after=retry_after, when=_to(chat_id))

    def block_bot(self, chat_id: int, times: int = 1) -> Failure:
        """The user blocked the bot: calls for this chat answer 403."""
        detail = "Forbidden: bot was blocked by the user"
        return self.fail(None, 403, detail, times=times, when=_to(chat_id))

    def reject_html(
        self, method: str | None = None, times: int = 1, chat_id: int | None = None
    ) -> Failure:
        """Refuse the next parse_mode=HTML call(s) the way Telegram refuses bad markup."""
        detail = "Bad Request: can't parse entities: Can't find end tag corresponding to start tag"
        to_chat = _to(chat_id)

        def html(params: JSON) -> bool:
            return params.get("parse_mode") == "HTML" and to_chat(params)

        return self.fail(method, 400, detail, times=times, when=html)

    @property
    def calls(self) -> list[Call]:
        with self._cond:
            return list(self._calls)

    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def files(self, chat_id: int | str) -> list[SentFile]:
        """Files the bot sent to a chat (sendPhoto, sendDocument, sendVoice), in order."""
        with self._cond:
            return list(self._sent_files.get(str(chat_id), []))

    def hold(self, method: str, times: int = 1) -> None:
        """The next `times` calls to `method` never answer (until the server stops) and send
        nothing: a client killed meanwhile has not delivered it."""
        with self._cond:
            self._holds[method] = self._holds.get(method, 0) + times

    def holding(self, method: str) -> int:
        """How many of `hold(method)`'s calls have not arrived yet."""
        with self._cond:
            return self._holds.get(method, 0)

    def messages(self, chat_id: int | str) -> list[BotMessage]:
        with self._cond:
            return [BotMessage(**vars(m)) for m in self._chats.get(str(chat_id), [])]

    def confirmed(self, update: JSON) -> bool:
        """Whether a getUpdates offset has moved past this update since it was handed out."""
        with self._cond:
            return update["update_id"] in self._confirmed

    def handed_out(self, update: JSON) -> int:
        with self._cond:
            return self._handed.get(update["update_id"], 0)

    def wait_for(self, predicate: Callable[[], Any], timeout: float = 10.0) -> None:
        with self._cond:
            if not self._cond.wait_for(predicate, timeout):
                raise AssertionError(f"condition not met in {timeout}s; calls: {self._calls}")

    # --- the API --------------------------------------------------------------------------
    async def _handle(self, request: web.Request) -> web.Response:
        params: JSON = dict(request.query)
        if request.content_type == "application/json":
            params |= await request.json()
        elif request.can_read_body:
            for key, value in (await request.post()).items():
                if isinstance(value, web.FileField):  # an upload: (field, name, mime, bytes)
                    params["_upload"] = (key, value.filename, value.content_type, value.file.read())
                else:
                    params[key] = value
        method = request.match_info["method"]
        with self._cond:
            held = self._holds.get(method, 0)
            if held:
                self._holds[method] = held - 1
        if held:
            assert self._closed is not None
            await self._closed.wait()
            return web.Response(status=503)
        if request.match_info["token"] != self.token:
            return self._answer(method, params, 401, error="Unauthorized")
        handler = getattr(self, f"_api_{method}", None)
        if handler is None and method != "getUpdates":
            return self._answer(method, params, 404, error="Not Found")
        with self._cond:
            failure = next(
                (f for f in self._failures if f.method in (None, method) and f.when(params)), None
            )
            if failure is not None:
                failure.times -= 1
                if failure.times <= 0:
                    self._failures.remove(failure)
        if failure is not None:
            extra = {"retry_after": failure.retry_after} if failure.retry_after else None
            return self._answer(method, params, failure.status, failure.description, extra)
        if handler is None:
            return await self._get_updates(params)
        status, result = handler(params)
        if status != 200:
            return self._answer(method, params, status, error=result)
        return self._answer(method, params, 200, result=result)

    def _answer(
        self,
        method: str,
        params: JSON,
        status: int,
        error: str = "",
        parameters: JSON | None = None,
        result: Any = None,
    ) -> web.Response:
        with self._cond:
            self._calls.append(Call(method, params, status))
            self._cond.notify_all()
        if status == 200:
            return web.json_response({"ok": True, "result": result})
        body: JSON = {"ok": False, "error_code": status, "description": error}
        if parameters:
            body["parameters"] = parameters
        return web.json_response(body, status=status)

    async def _get_updates(self, params: JSON) -> web.Response:
        if self.webhook:
            error = "Conflict: can't use getUpdates method while webhook is active"
            return self._answer("getUpdates", params, 409, error=error)
        assert self._wake is not None
        offset = int(params["offset"]) if "offset" in params else None
        deadline = time.monotonic() + float(params.get("timeout", 0))
        while True:
            self._wake.clear()
            with self._cond:
                if offset is not None:
                    self._confirmed |= {
                        u["update_id"] for u in self._queue if u["update_id"] < offset
                    }
                    self._confirmed |= {i for i in self._handed if i < offset}
                    self._queue = [u for u in self._queue if u["update_id"] >= offset]
                ready = self._again + self._queue[: int(params.get("limit", 100))]
                self._again = []
                self._confirmed -= {u["update_id"] for u in ready}  # out again: not confirmed
                for update in ready:
                    self._handed[update["update_id"]] = self._handed.get(update["update_id"], 0) + 1
            remaining = deadline - time.monotonic()
            if ready or remaining <= 0 or self._closing:
                return self._answer("getUpdates", params, 200, result=ready)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), remaining)

    async def _download(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.Response(status=401)
        with self._cond:
            held = self._holds.get("download", 0)
            if held:
                self._holds["download"] = held - 1
        if held:
            assert self._closed is not None
            await self._closed.wait()
            return web.Response(status=503)
        path = request.match_info["path"]
        with self._cond:
            found = [data for file_path, data in self._files.values() if file_path == path]
            self._calls.append(Call("download", {"file_path": path}, 200 if found else 404))
            self._cond.notify_all()
        if not found:
            return web.Response(status=404, text="Not Found")
        return web.Response(body=found[0], content_type="application/octet-stream")

    def _api_getFile(self, params: JSON) -> tuple[int, Any]:
        with self._cond:
            known = self._files.get(str(params.get("file_id")))
        if known is None:
            return 400, "Bad Request: invalid file_id"
        file_path, data = known
        if len(data) > 20 * 1024 * 1024:
            return 400, "Bad Request: file is too big"
        file_id = str(params["file_id"])
        return 200, {"file_id": file_id, "file_unique_id": "u", "file_size": len(data)} | {
            "file_path": file_path
        }

    def _upload(self, method: str, field: str, params: JSON) -> tuple[int, Any]:
        upload = params.get("_upload")
        if not isinstance(upload, tuple) or upload[0] != field:
            return 400, f"Bad Request: there is no {field} in the request"
        _, name, mime, data = upload
        if not data:
            return 400, "Bad Request: file must be non-empty"
        chat_id = str(params.get("chat_id"))
        sent = SentFile(
            method, chat_id, next(self._message_ids), name, mime, data, params.get("caption", "")
        )
        with self._cond:
            self._sent_files.setdefault(chat_id, []).append(sent)
        chat = {"id": int(chat_id), "type": _chat_type(int(chat_id))}
        return 200, {"message_id": sent.message_id, "chat": chat, field: {"file_id": "sent"}}

    def _api_sendPhoto(self, params: JSON) -> tuple[int, Any]:
        return self._upload("sendPhoto", "photo", params)

    def _api_sendDocument(self, params: JSON) -> tuple[int, Any]:
        return self._upload("sendDocument", "document", params)

    def _api_sendVoice(self, params: JSON) -> tuple[int, Any]:
        return self._upload("sendVoice", "voice", params)

    def _api_getMe(self, params: JSON) -> tuple[int, Any]:  # named after the Bot API method
        return 200, {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": "Claw",
            "username": self.username,
        }

    def _api_setWebhook(self, params: JSON) -> tuple[int, Any]:
        with self._cond:
            self.webhook = {"url": params.get("url"), "secret_token": params.get("secret_token")}
        return 200, True

    def _api_deleteWebhook(self, params: JSON) -> tuple[int, Any]:
        with self._cond:
            self.webhook = {}
        return 200, True

    def _api_sendChatAction(self, params: JSON) -> tuple[int, Any]:
        return 200, True

    def _checked(self, params: JSON) -> tuple[str, str]:
        raw = str(params.get("text", ""))
        if params.get("parse_mode") == "HTML":
            text, error = visible_text(raw)
            if error:
                return "", f"Bad Request: can't parse entities: {error}"
        else:
            text = raw
        if not text.strip():
            return "", "Bad Request: message text is empty"
        if utf16_len(text) > 4096:
            return "", "Bad Request: message is too long"
        return text, ""

    def _api_sendMessage(self, params: JSON) -> tuple[int, Any]:
        text, error = self._checked(params)
        if error:
            return 400, error
        chat_id = str(params.get("chat_id"))
        reply = params.get("reply_parameters") or {}
        message = BotMessage(
            chat_id=chat_id,
            message_id=next(self._message_ids),
            text=text,
            raw=str(params["text"]),
            parse_mode=params.get("parse_mode"),
            thread_id=params.get("message_thread_id"),
            reply_to=reply.get("message_id"),
        )
        with self._cond:
            self._chats.setdefault(chat_id, []).append(message)
        chat = {"id": int(chat_id), "type": _chat_type(int(chat_id))}
        return 200, {"message_id": message.message_id, "chat": chat, "text": text}

    def _api_editMessageText(self, params: JSON) -> tuple[int, Any]:
        text, error = self._checked(params)
        if error:
            return 400, error
        chat_id = str(params.get("chat_id"))
        with self._cond:
            found = [
                m for m in self._chats.get(chat_id, []) if m.message_id == params.get("message_id")
            ]
            if not found:
                return 400, "Bad Request: message to edit not found"
            message = found[0]
            if (message.raw, message.parse_mode) == (params["text"], params.get("parse_mode")):
                return 400, NOT_MODIFIED
            message.text, message.raw = text, str(params["text"])
            message.parse_mode = params.get("parse_mode")
            message.edits += 1
        return 200, {"message_id": message.message_id, "text": text}


def _to(chat_id: int | None) -> Callable[[JSON], bool]:
    """A failure condition: calls for this chat (None: any chat)."""
    return lambda params: chat_id is None or str(params.get("chat_id")) == str(chat_id)


def _chat_type(chat: int) -> str:
    return "supergroup" if chat < 0 else "private"
