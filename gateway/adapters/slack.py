"""Slack: replies through the Web API (post, then edit in place), inbound over Socket Mode or
the Events API, files both ways (slack_files), and the mapping of Slack's failures to
`AdapterError`. The only importer of slack_sdk.
"""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Mapping
from typing import Any

import aiohttp
from django.conf import settings
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.signature import SignatureVerifier
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.async_client import AsyncBaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient

from agents.media.outbound import OutgoingFile
from gateway.adapters.base import Adapter, AdapterError, read_outgoing
from gateway.adapters.slack_files import CAPTION_CHARS, UPLOAD_BYTES, SlackFiles, attachments_of
from gateway.adapters.slack_text import escape, from_slack, to_mrkdwn
from gateway.connections import PlatformConnection
from gateway.messages import Attachment, InboundMessage, ReplyTarget
from gateway.platforms import Listener, Platform
from gateway.router import Routed
from openclaw.perf import offload

logger = logging.getLogger(__name__)

# Slack accepts 40,000 characters of text, but a message past ~4,000 is collapsed behind
# "Show more" and hard to read on a phone, and Slack advises staying under 4,000. We split our
# Markdown at 3,000 so each message still fits that after rendering (escaping `&`, `<`, `>`
# usually adds a few characters; even text made only of `&` stays far below 40,000), and a
# streamed answer moves on to a second message while it is still comfortable to read.
MAX_CHARS = 3000
# ok:false errors that may pass by themselves; every other error is the request's fault.
TRANSIENT_ERRORS = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)
# Message subtypes that a person sent; edits, joins, bots and the like are never answered.
PERSON_SUBTYPES = frozenset({"", "file_share", "thread_broadcast"})
WATCH_SECONDS = 0.5  # how often the Socket Mode watchdog looks at the connection
CONNECT_TIMEOUT = 20.0
MAX_BACKOFF = 60.0


def adapter_error(exc: Exception, action: str) -> AdapterError:
    """What a failed Slack call means for the caller: wait and retry, or give up."""
    if isinstance(exc, AdapterError):
        return exc
    if isinstance(exc, SlackApiError):
        response = exc.response
        status = int(getattr(response, "status_code", 0) or getattr(response, "status", 0) or 0)
        data = getattr(response, "data", None)
        error = str(data.get("error", "")) if isinstance(data, dict) else ""
        if status == 429 or error == "ratelimited":
            return AdapterError(
                f"Slack rate limit on {action}",
                permanent=False,
                retry_after=_retry_after(getattr(response, "headers", None)),
            )
        if status >= 500 or error in TRANSIENT_ERRORS:
            return AdapterError(f"Slack {action} failed: {error or status}", permanent=False)
        return AdapterError(f"Slack {action} failed: {error or status}", permanent=True)
    if isinstance(exc, aiohttp.ClientError | TimeoutError | OSError | SlackClientError):
        return AdapterError(f"Slack {action} failed: {type(exc).__name__}", permanent=False)
    return AdapterError(f"Slack {action} failed: {type(exc).__name__}: {exc}", permanent=False)


def _retry_after(headers: Mapping[str, Any] | None) -> float:
    for name, value in (headers or {}).items():
        if str(name).lower() == "retry-after":
            with contextlib.suppress(TypeError, ValueError):
                return max(float(value if not isinstance(value, list) else value[0]), 0.0)
    return 1.0


class SlackAdapter(Adapter):
    """A Slack app's bot user. `send` posts (in the target's thread, if any) and returns the
    message's `ts`; `edit` is chat.update. `typing` stays a no-op: bots have no typing API
    outside the retired RTM API."""

    channel = "slack"
    max_chars = MAX_CHARS
    can_edit = True

    def __init__(self, account_id: str, credentials: Mapping[str, str], options: Mapping[str, Any]):
        super().__init__(account_id, credentials, options)
        self.client = AsyncWebClient(
            token=self.credentials.get("bot_token", ""), base_url=settings.SLACK_API_URL
        )
        self._bot_user_id = ""
        self._identity_lock = asyncio.Lock()
        self.files = SlackFiles(self.credentials.get("bot_token", ""))

    async def bot_user_id(self) -> str:
        """Our bot's user id (auth.test, asked once): its messages and mentions are ours."""
        async with self._identity_lock:
            if not self._bot_user_id:
                response = await self._call("auth.test", self.client.auth_test())
                self._bot_user_id = str(response.get("user_id") or "")
        return self._bot_user_id

    async def send(self, target: ReplyTarget, text: str, *, formatted: bool = True) -> str:
        body = to_mrkdwn(text) if formatted else escape(text)
        call = self.client.chat_postMessage(
            channel=target.chat_id, text=body, thread_ts=target.thread_id or None
        )
        response = await self._call("chat.postMessage", call)
        return str(response.get("ts") or "")

    async def edit(
        self, target: ReplyTarget, message_id: str, text: str, *, formatted: bool = True
    ) -> None:
        body = to_mrkdwn(text) if formatted else escape(text)
        call = self.client.chat_update(channel=target.chat_id, ts=message_id, text=body)
        await self._call("chat.update", call)

    async def typing(self, target: ReplyTarget) -> None:
        """Slack has no typing indicator for bots: the streamed message shows progress."""

    async def fetch(self, attachment: Attachment) -> AsyncIterator[bytes]:
        """The file's `url_private_download` (or `url_private`), with the bot token."""
        async for chunk in self.files.download(attachment.ref):
            yield chunk

    async def send_file(self, target: ReplyTarget, file: OutgoingFile) -> str:
        """Slack's external upload: files.getUploadURLExternal, the bytes POSTed to the URL it
        returns, then files.completeUploadExternal shares the file into the chat (and thread)
        with the caption as its comment. Returns the file's id (Slack names no message)."""
        too_big = f"{file.name} is over Slack's 1 GB file limit"
        data = await offload.files(read_outgoing, file, UPLOAD_BYTES, too_big)
        size = len(data)
        ticket = await self._call(
            "files.getUploadURLExternal",
            self.client.files_getUploadURLExternal(filename=file.name, length=size),
        )
        upload_url, file_id = str(ticket.get("upload_url") or ""), str(ticket.get("file_id") or "")
        if not upload_url or not file_id:
            raise AdapterError("files.getUploadURLExternal: no upload URL", permanent=False)
        await self.files.put(upload_url, data, file.name, file.mime)
        caption = escape(file.caption[:CAPTION_CHARS]) if file.caption else None
        await self._call(
            "files.completeUploadExternal",
            self.client.files_completeUploadExternal(
                files=[{"id": file_id, "title": file.name}],
                channel_id=target.chat_id,
                thread_ts=target.thread_id or None,
                initial_comment=caption,
            ),
        )
        return file_id

    async def close(self) -> None:
        await self.files.close()

    async def _call(self, action: str, call: Any) -> Mapping[str, Any]:
        try:
            response = await call
        except Exception as exc:
            raise adapter_error(exc, action) from exc
        data = response.data
        return data if isinstance(data, dict) else {}


def inbound_from_event(
    account_id: str, event: Mapping[str, Any], bot_user_id: str
) -> InboundMessage | None:
    """An Events API `event` → an InboundMessage, or None for what we never answer (other
    event types, edits, bots, ourselves). Direct messages and mentions in channels; a reply in
    a channel goes into the thread that asked. The message id is `channel:ts` whichever way
    the message came (Socket Mode, Events API, `message` or `app_mention`), so the journal
    sees one message once."""
    kind = event.get("type")
    subtype = str(event.get("subtype") or "")
    if kind not in ("message", "app_mention") or subtype not in PERSON_SUBTYPES:
        return None
    user, chat, ts = (str(event.get(k) or "") for k in ("user", "channel", "ts"))
    if event.get("bot_id") or not (user and chat and ts) or user == bot_user_id:
        return None
    raw = str(event.get("text") or "")
    mentioned = kind == "app_mention" or bool(bot_user_id and f"<@{bot_user_id}" in raw)
    text = from_slack(raw, bot_user_id)
    attachments = attachments_of(event)
    unsupported = "file" if event.get("files") and not text and not attachments else ""
    if not text and not unsupported and not attachments:
        return None
    channel_type = event.get("channel_type")
    is_dm = channel_type == "im" or (channel_type is None and chat.startswith("D"))
    thread = str(event.get("thread_ts") or "")
    profile = event.get("user_profile")
    name = ""
    if isinstance(profile, Mapping):
        name = str(profile.get("display_name") or profile.get("real_name") or "")
    return InboundMessage(
        channel="slack",
        account=account_id,
        chat_id=chat,
        sender_id=user,
        message_id=f"{chat}:{ts}",
        text=text,
        sender_name=name,
        thread_id=thread if is_dm else thread or ts,
        is_group=not is_dm,
        mentioned=mentioned and not is_dm,
        reply_to_bot=bool(bot_user_id) and event.get("parent_user_id") == bot_user_id,
        unsupported=unsupported,
        attachments=attachments,
    )


async def receive_event(conn: PlatformConnection, payload: Mapping[str, Any]) -> Routed | None:
    """Route one `event_callback` payload (from Socket Mode or the Events API); returns once
    the message is journaled, or None when it is nothing we answer."""
    event = payload.get("event")
    if payload.get("type") != "event_callback" or not isinstance(event, Mapping):
        return None
    adapter = conn.adapter
    if not isinstance(adapter, SlackAdapter):
        raise TypeError(f"{conn.channel}:{conn.account_id} is not a Slack connection")
    message = inbound_from_event(conn.account_id, event, await adapter.bot_user_id())
    if message is None:
        return None
    return await conn.receive_inbound(message)


def signature_is_valid(signing_secret: str, body: bytes, headers: Mapping[str, str]) -> bool:
    """Slack's request signature (v0 HMAC of timestamp and body); slack_sdk also refuses a
    timestamp more than 5 minutes away, so a captured request cannot be replayed later."""
    if not signing_secret:
        return False
    try:
        return SignatureVerifier(signing_secret).is_valid_request(body, dict(headers))
    except ValueError:  # a timestamp that is not a number
        return False


async def run_socket_mode(conn: PlatformConnection, *, watch: float = WATCH_SECONDS) -> None:
    """Hold the Socket Mode connection until cancelled. Each `events_api` envelope is routed
    and acknowledged only after it is journaled (a failure leaves it unacknowledged, so Slack
    delivers it again). The SDK follows Slack's `disconnect` message by itself; this watchdog
    reconnects after a dropped socket or a failed start, with backoff, and reports the state."""
    adapter = conn.adapter
    if not isinstance(adapter, SlackAdapter):
        raise TypeError(f"{conn.channel}:{conn.account_id} is not a Slack connection")
    await conn.set_state("connecting")
    await _until_identified(conn, adapter)
    client = SocketModeClient(
        app_token=conn.secret("app_token"),
        web_client=adapter.client,
        auto_reconnect_enabled=False,  # the watchdog below owns reconnection
        logger=logging.getLogger(f"{__name__}.socket"),
    )

    async def on_request(sdk: AsyncBaseSocketModeClient, request: SocketModeRequest) -> None:
        if request.type == "events_api":
            try:
                await receive_event(conn, request.payload)
            except Exception:
                logger.exception("Slack envelope %s not routed; Slack will resend it", request.type)
                return
        await sdk.send_socket_mode_response(SocketModeResponse(envelope_id=request.envelope_id))

    client.socket_mode_request_listeners.append(on_request)
    delay = 1.0
    try:
        while True:
            if await client.is_connected():
                delay = 1.0
                await conn.set_state("connected")
                await asyncio.sleep(watch)
                continue
            if conn.state == "connected":  # a failure's state and error stay until it passes
                await conn.set_state("reconnecting")
            try:
                await asyncio.wait_for(client.connect_to_new_endpoint(), CONNECT_TIMEOUT)
            except Exception as exc:
                error = adapter_error(exc, "apps.connections.open")
                await conn.set_state("failing" if error.permanent else "reconnecting", str(error))
                await asyncio.sleep(error.retry_after or delay)
                delay = min(delay * 2, MAX_BACKOFF)
                continue
            if not await client.is_connected():
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_BACKOFF)
    finally:
        with contextlib.suppress(Exception):
            await client.close()  # type: ignore[no-untyped-call]  # slack_sdk leaves it unannotated


async def _until_identified(conn: PlatformConnection, adapter: SlackAdapter) -> None:
    delay = 1.0
    while True:
        try:
            await adapter.bot_user_id()
            return
        except AdapterError as error:
            await conn.set_state("failing" if error.permanent else "reconnecting", str(error))
            await asyncio.sleep(error.retry_after or delay)
            delay = min(delay * 2, MAX_BACKOFF)


async def _misconfigured(conn: PlatformConnection) -> None:
    await conn.set_state(
        "failing", "set an app token (Socket Mode) or a signing secret (Events API)"
    )
    await asyncio.Event().wait()  # nothing to listen to; stay until the gateway stops


def listener(conn: PlatformConnection) -> Listener | None:
    """Socket Mode when the account has an app token; otherwise Slack calls our Events API
    webhook (None: nothing to run), which needs the signing secret."""
    if conn.secret("app_token"):
        return lambda: run_socket_mode(conn)
    if conn.secret("signing_secret"):
        return None
    return lambda: _misconfigured(conn)


PLATFORM = Platform(
    channel="slack", adapter=SlackAdapter, required=("bot_token",), listener=listener
)
