"""Telegram Bot API over httpx: updates → `InboundMessage`, HTML replies, long polling or webhook
registration. The only module that talks to the Bot API (base URL `settings.TELEGRAM_API_URL`).
"""

import asyncio
import html
import itertools
import logging
import re
from dataclasses import dataclass
from typing import Any

import httpx
from django.conf import settings
from django.urls import reverse

from gateway.adapters.base import FENCE, Adapter, AdapterError, FormattingRejected
from gateway.connections import PlatformConnection, State
from gateway.messages import InboundMessage, ReplyTarget
from gateway.platforms import Listener, Platform

logger = logging.getLogger(__name__)

API_TIMEOUT = 15.0
MAX_BACKOFF = 60.0
PERMANENT_RETRY_SECONDS = 300.0  # a bad token stays bad until the operator fixes it
MAX_ATTEMPTS_PER_UPDATE = 5  # then the update is skipped, so one poison update cannot stall a bot
ALLOWED_UPDATES = ["message"]  # edited messages, channel posts, callbacks: not for us
# Non-text content we answer politely instead of silently dropping.
MEDIA_KINDS = (
    "photo", "voice", "video", "video_note", "audio", "document", "sticker", "animation",
    "location", "venue", "contact", "poll", "dice",
)  # fmt: skip
BOT_PATH = re.compile(r"/bot[^/\s]+/")


def _mask_token(record: logging.LogRecord) -> bool:
    """httpx logs every request URL at INFO, and Bot API URLs carry the token."""
    if isinstance(record.args, tuple):
        masked = (
            BOT_PATH.sub("/bot[redacted]/", str(a)) if "/bot" in str(a) else a for a in record.args
        )
        record.args = tuple(masked)
    return True


logging.getLogger("httpx").addFilter(_mask_token)


@dataclass(frozen=True, slots=True)
class BotIdentity:
    """Who the bot is (from getMe): needed to tell when a group message addresses it."""

    id: int
    username: str


class TelegramAdapter(Adapter):
    """One bot token. Calls are JSON POSTs to /bot<token>/<method>; errors map to
    `AdapterError` (429 → retry_after; 400/401/403/404 → permanent; network, 409, 5xx →
    transient) and a 400 "can't parse entities" to `FormattingRejected`."""

    channel = "telegram"
    max_chars = 4096
    can_edit = True

    _client: httpx.AsyncClient | None = None  # made on first use, inside the running loop
    _bot: BotIdentity | None = None

    async def call(self, method: str, payload: dict[str, Any], *, wait: float = API_TIMEOUT) -> Any:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=API_TIMEOUT)
        base = settings.TELEGRAM_API_URL.rstrip("/")
        url = f"{base}/bot{self.credentials.get('bot_token', '')}/{method}"
        try:
            response = await self._client.post(url, json=payload, timeout=wait)
        except httpx.HTTPError as exc:
            # The exception's text may carry the URL, and with it the token: keep only the kind.
            raise AdapterError(f"{method}: {type(exc).__name__}", permanent=False) from None
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict) and body.get("ok"):
            return body.get("result")
        raise _api_error(method, response.status_code, body if isinstance(body, dict) else {})

    async def identity(self) -> BotIdentity:
        if self._bot is None:
            me = await self.call("getMe", {})
            self._bot = BotIdentity(int(me["id"]), str(me.get("username") or ""))
        return self._bot

    async def get_updates(self, offset: int | None, hold: int) -> list[dict[str, Any]]:
        payload: dict[str, Any] = {"timeout": hold, "allowed_updates": ALLOWED_UPDATES}
        if offset is not None:
            payload["offset"] = offset
        result = await self.call("getUpdates", payload, wait=hold + API_TIMEOUT)
        updates = result if isinstance(result, list) else []
        return [u for u in updates if isinstance(u, dict) and isinstance(u.get("update_id"), int)]

    async def send(self, target: ReplyTarget, text: str, *, formatted: bool = True) -> str:
        payload = _address(target) | _text(text, formatted)
        reply_to = target.reply_to.rpartition(":")[2]
        if reply_to.isdigit() and target.chat_id.startswith("-"):  # groups: answer the message
            reply = {"message_id": int(reply_to), "allow_sending_without_reply": True}
            payload["reply_parameters"] = reply
        result = await self.call("sendMessage", payload)
        return str(result["message_id"])

    async def edit(
        self, target: ReplyTarget, message_id: str, text: str, *, formatted: bool = True
    ) -> None:
        edited = {"message_id": int(message_id.rpartition(":")[2])}
        payload = _address(ReplyTarget(target.chat_id)) | edited | _text(text, formatted)
        try:
            await self.call("editMessageText", payload)
        except AdapterError as error:
            if "message is not modified" not in str(error):
                raise

    async def typing(self, target: ReplyTarget) -> None:
        await self.call("sendChatAction", _address(target) | {"action": "typing"})

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None


def _api_error(method: str, status: int, body: dict[str, Any]) -> AdapterError:
    description = str(body.get("description") or f"HTTP {status}")
    code = body.get("error_code") if isinstance(body.get("error_code"), int) else status
    message = f"{method}: {description}"
    if code == 429:
        parameters = body.get("parameters") or {}
        retry_after = parameters.get("retry_after") if isinstance(parameters, dict) else None
        return AdapterError(message, permanent=False, retry_after=float(retry_after or 1))
    if code == 400 and "can't parse entities" in description.lower():
        return FormattingRejected(message)
    # 400 (chat not found, bad request), 401 (bad token), 403 (blocked), 404 (no such token)
    # fail the same way every time; 409 (another poller, a webhook) and 5xx may pass later.
    return AdapterError(message, permanent=code in (400, 401, 403, 404))


def _address(target: ReplyTarget) -> dict[str, Any]:
    chat = target.chat_id
    address: dict[str, Any] = {"chat_id": int(chat) if chat.lstrip("-").isdigit() else chat}
    if target.thread_id.isdigit():
        address["message_thread_id"] = int(target.thread_id)
    return address


def _text(text: str, formatted: bool) -> dict[str, Any]:
    return {"text": render(text), "parse_mode": "HTML"} if formatted else {"text": text}


# --- inbound --------------------------------------------------------------------------------


def parse_update(
    update: dict[str, Any], account_id: str, bot: BotIdentity
) -> InboundMessage | None:
    """The message in one update, or None for what we ignore (edits, channel posts, service
    messages such as members joining). Non-text content comes back with `unsupported` set."""
    message = update.get("message")
    if not isinstance(message, dict):
        return None
    chat, sender = _dict(message.get("chat")), _dict(message.get("from"))
    if chat.get("type") not in ("private", "group", "supergroup") or "id" not in chat:
        return None
    if "message_id" not in message:
        return None
    text, entities, unsupported = message.get("text"), message.get("entities"), ""
    if not isinstance(text, str):
        kind = next((k for k in MEDIA_KINDS if k in message), None)
        if kind is None:
            return None
        caption = message.get("caption")
        text, entities = (
            caption if isinstance(caption, str) else "",
            message.get("caption_entities"),
        )
        unsupported = kind
    mentioned, text = _addressing(text, entities if isinstance(entities, list) else [], bot)
    is_group = chat["type"] != "private"
    replied = _dict(message.get("reply_to_message"))
    # In a forum every topic message "replies" to the topic's creation notice: not a reply.
    reply_to_bot = (
        is_group
        and "forum_topic_created" not in replied
        and _dict(replied.get("from")).get("id") == bot.id
    )
    topic = message.get("message_thread_id") if message.get("is_topic_message") else None
    name = " ".join(str(n) for n in (sender.get("first_name"), sender.get("last_name")) if n)
    return InboundMessage(
        channel="telegram",
        account=account_id,
        chat_id=str(chat["id"]),
        sender_id=str(sender.get("id", "")),
        message_id=f"{chat['id']}:{message['message_id']}",  # message ids are per chat
        text=text,
        sender_name=name or str(sender.get("username") or ""),
        thread_id=str(topic) if topic is not None else "",
        is_group=is_group,
        mentioned=is_group and mentioned,
        reply_to_bot=reply_to_bot,
        unsupported=unsupported,
    )


def _dict(value: object) -> dict[str, Any]:
    """`value` if it is an object, else an empty one: payload fields are untrusted shapes."""
    return value if isinstance(value, dict) else {}


def _addressing(text: str, entities: list[Any], bot: BotIdentity) -> tuple[bool, str]:
    """Whether the text mentions the bot (@name, or /command@name), and the text without the
    mention. Entity offsets count UTF-16 code units, so slicing happens on UTF-16 bytes."""
    units = text.encode("utf-16-le")
    handle = f"@{bot.username}".lower()
    mentioned, cuts = False, []
    for entity in entities:
        if not isinstance(entity, dict):
            continue
        start, length = int(entity.get("offset", 0)), int(entity.get("length", 0))
        piece = units[2 * start : 2 * (start + length)].decode("utf-16-le", "replace")
        kind = entity.get("type")
        if kind == "mention" and bot.username and piece.lower() == handle:
            mentioned = True
            cuts.append((start, start + length))
        elif kind == "text_mention" and (entity.get("user") or {}).get("id") == bot.id:
            mentioned = True
        elif kind == "bot_command" and bot.username and piece.lower().endswith(handle):
            mentioned = True
            cuts.append((start + length - len(handle.encode("utf-16-le")) // 2, start + length))
    if not cuts:
        return mentioned, text
    for start, end in sorted(cuts, reverse=True):
        units = units[: 2 * start] + units[2 * end :]
    stripped = units.decode("utf-16-le", "replace")
    return mentioned, re.sub(r"[ \t]{2,}", " ", stripped).strip()


# --- our Markdown → Telegram HTML -----------------------------------------------------------

INLINE_CODE = re.compile(r"`([^`\n]+)`")
LINK = re.compile(r"\[([^\]\n]+)\]\(((?:https?|tg|mailto):[^\s()]+)\)")
BOLD = re.compile(r"\*\*(?=\S)([^\n]+?)(?<=\S)\*\*|(?<!\w)__(?=\S)([^\n]+?)(?<=\S)__(?!\w)")
ITALIC = re.compile(
    r"(?<![\w*])\*(?=[^\s*])([^*\n]+?)(?<=\S)\*(?![\w*])|(?<!\w)_(?=\S)([^_\n]+?)(?<=\S)_(?!\w)"
)
STRIKE = re.compile(r"~~(?=\S)([^\n]+?)(?<=\S)~~")
HEADING = re.compile(r"^#{1,6}[ \t]+(.+?)[ \t#]*$", re.M)
SLOT = re.compile("\x00(\\d+)\x00")
LANGUAGE = re.compile(r"[\w+#.-]+")


def render(markdown: str) -> str:
    """Our Markdown as Telegram HTML: text escaped, **bold**, *italic*/_italic_, ~~strike~~,
    `code`, fenced blocks as <pre><code class="language-x">, [text](url) links, headings bold.
    Anything it gets wrong the platform rejects, and the caller resends plain text."""
    blocks: list[str] = []
    prose: list[str] = []
    code: list[str] = []
    fence, language = "", ""
    for line in markdown.split("\n"):
        match = FENCE.match(line)
        if not fence and match:
            if prose:
                blocks.append(_inline("\n".join(prose)))
            prose, code, fence = [], [], match.group(2)
            found = LANGUAGE.match(match.group(3).strip())
            language = found.group(0) if found else ""
        elif fence and match and match.group(2).startswith(fence) and not match.group(3).strip():
            blocks.append(_pre(code, language))
            fence = ""
        else:
            (code if fence else prose).append(line)
    if fence:  # an unclosed block still shows as code
        blocks.append(_pre(code, language))
    if prose:
        blocks.append(_inline("\n".join(prose)))
    return "\n".join(blocks)


def _pre(lines: list[str], language: str) -> str:
    attribute = f' class="language-{language}"' if language else ""
    body = html.escape("\n".join(lines), quote=False)
    return f"<pre><code{attribute}>{body}</code></pre>"


def _inline(text: str) -> str:
    slots: list[str] = []

    def keep(markup: str) -> str:
        slots.append(markup)
        return f"\x00{len(slots) - 1}\x00"

    text = text.replace("\x00", "")
    text = INLINE_CODE.sub(lambda m: keep(f"<code>{html.escape(m[1], quote=False)}</code>"), text)
    text = LINK.sub(
        lambda m: keep(f'<a href="{html.escape(m[2])}">{_emphasis(html.escape(m[1], False))}</a>'),
        text,
    )
    text = HEADING.sub(r"<b>\1</b>", _emphasis(html.escape(text, quote=False)))
    while SLOT.search(text):  # a link's text may hold a code slot
        text = SLOT.sub(lambda m: slots[int(m[1])], text)
    return text


def _emphasis(text: str) -> str:
    text = BOLD.sub(lambda m: f"<b>{m[1] or m[2]}</b>", text)
    text = ITALIC.sub(lambda m: f"<i>{m[1] or m[2]}</i>", text)
    return STRIKE.sub(r"<s>\1</s>", text)


# --- listeners ------------------------------------------------------------------------------


def _adapter(conn: PlatformConnection) -> TelegramAdapter:
    if not isinstance(conn.adapter, TelegramAdapter):
        raise TypeError(f"{conn.adapter!r} is not a Telegram adapter")
    return conn.adapter


async def _failed(conn: PlatformConnection, error: AdapterError, failures: int) -> None:
    """Show the error, then wait: as told by a 429, exponentially, or long for a permanent one."""
    state: State = "failing" if error.permanent or failures >= 3 else "reconnecting"
    await conn.set_state(state, str(error))
    delay = error.retry_after or min(2.0 ** (failures - 1), MAX_BACKOFF)
    await asyncio.sleep(PERMANENT_RETRY_SECONDS if error.permanent else delay)


async def poll(conn: PlatformConnection) -> None:
    """Long polling until cancelled. The offset moves past an update only after
    `receive_inbound` returned (it is journaled), so a crash before that redelivers it and the
    journal drops the copy."""
    adapter = _adapter(conn)
    await conn.set_state("connecting")
    offset: int | None = None
    failures, webhook_cleared, healthy = 0, False, False
    stuck: tuple[int, int] = (-1, 0)  # (update id, failed attempts)
    while True:
        try:
            bot = await adapter.identity()
            if not webhook_cleared:  # getUpdates answers 409 while a webhook is set
                await adapter.call("deleteWebhook", {})
                webhook_cleared = True
            updates = await adapter.get_updates(offset, settings.TELEGRAM_POLL_TIMEOUT)
        except AdapterError as error:
            failures, healthy = failures + 1, False
            # Someone set a webhook since: getUpdates refuses until it is deleted again.
            webhook_cleared = webhook_cleared and "webhook is active" not in str(error)
            await _failed(conn, error, failures)
            continue
        if not healthy:
            await conn.set_state("connected")
            failures, healthy = 0, True
        for update in updates:
            update_id = update["update_id"]
            try:
                await _deliver(conn, update, bot)
            except Exception as exc:
                attempts = stuck[1] + 1 if stuck[0] == update_id else 1
                stuck = (update_id, attempts)
                logger.exception("Telegram update %s failed (attempt %d)", update_id, attempts)
                if attempts < MAX_ATTEMPTS_PER_UPDATE:
                    await conn.set_state("reconnecting", f"update {update_id}: {exc!r}"[:300])
                    healthy = False
                    await asyncio.sleep(min(2.0**attempts, MAX_BACKOFF))
                    break  # the next getUpdates starts again from this update
                logger.error("Skipping Telegram update %s after %d attempts", update_id, attempts)
            offset = update_id + 1


async def _deliver(conn: PlatformConnection, update: dict[str, Any], bot: BotIdentity) -> None:
    message = parse_update(update, conn.account_id, bot)
    if message is None:
        return
    try:
        await conn.receive_inbound(message)
    except AdapterError as error:  # journaled already; only an immediate reply failed
        logger.warning("Telegram reply to %s failed: %s", message.message_id, error)


def webhook_url(account_id: str) -> str:
    """Where Telegram posts this account's updates: TELEGRAM_WEBHOOK_URL (the gateway's public
    base URL) + /webhooks/telegram/[<account_id>/]."""
    base = str(settings.TELEGRAM_WEBHOOK_URL).rstrip("/")
    default = reverse("telegram-webhook")
    base = base.removesuffix(default.rstrip("/"))  # tolerate a URL given with the path
    if account_id == "default":
        return base + default
    return base + reverse("telegram-webhook-account", args=[account_id])


async def register_webhook(conn: PlatformConnection) -> None:
    """Webhook mode: tell Telegram where to post (with our secret token) once, then return."""
    adapter = _adapter(conn)
    secret = conn.secret("webhook_secret")
    if not secret:
        await conn.set_state("failing", "webhook mode needs TELEGRAM_WEBHOOK_SECRET")
        return
    await conn.set_state("connecting")
    url = webhook_url(conn.account_id)
    payload = {"url": url, "secret_token": secret, "allowed_updates": ALLOWED_UPDATES}
    for failures in itertools.count(1):
        try:
            await adapter.identity()
            await adapter.call("setWebhook", payload)
        except AdapterError as error:
            await _failed(conn, error, failures)
            continue
        await conn.set_state("connected")
        return


def listener(conn: PlatformConnection) -> Listener | None:
    """Webhook registration when TELEGRAM_WEBHOOK_URL is set, else long polling."""
    return (
        (lambda: register_webhook(conn)) if settings.TELEGRAM_WEBHOOK_URL else (lambda: poll(conn))
    )


PLATFORM = Platform(
    channel="telegram", adapter=TelegramAdapter, required=("bot_token",), listener=listener
)
