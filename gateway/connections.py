"""Platform connections: per account, a channel-layer consumer that renders run events onto the
platform (a message streamed by throttled edits where the platform allows, then the final text
in chunks), plus the account's inbound entry point and connection state.
"""

import asyncio
import contextlib
import functools
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Literal

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.utils import timezone

from agents import services
from agents.media.outbound import OutgoingFile
from gateway import journal, media_inbound, media_outbound, resume, router, runs
from gateway.adapters.base import Adapter, AdapterError, FormattingRejected, with_retries
from gateway.events import STOP, session_group
from gateway.messages import InboundMessage, ReplyTarget
from gateway.models import ChannelAccount
from gateway.state import runtime

logger = logging.getLogger(__name__)

State = Literal["idle", "webhook", "connecting", "connected", "reconnecting", "failing", "stopped"]
# An answer the platform would not take (past one call's retries) is tried again after these
# pauses, about ten minutes in all; after that the journal keeps it for the next start.
REDELIVERY_DELAYS = (2.0, 5.0, 15.0, 30.0, 60.0, 120.0, 360.0)


@dataclass
class _Reply:
    target: ReplyTarget
    run: str = ""
    text: str = ""
    message_id: str = ""  # the platform message being streamed into
    delivered: int = 0  # final chunks, then files, already sent (after a resume)
    last_edit: float = 0.0
    session: str = ""
    tools: set[str] = field(default_factory=set)  # tools the run called (send_file: files)
    files: list[OutgoingFile] | None = None  # the answer's files, once known
    pending: asyncio.Task[None] | None = field(default=None, repr=False)


def _save_state(channel: str, account_id: str, state: str, error: str) -> None:
    ChannelAccount.objects.filter(channel=channel, account_id=account_id).update(
        connection_state=state, last_error=error[:500], state_changed_at=timezone.now()
    )


class PlatformConnection:
    """One account's connection (a `gateway.state.Connection`). `receive_inbound` is the
    inbound entry point (webhook views, Socket Mode, polling), which hands every message to the
    router; `serve` consumes run events from the channel layer; `serve` returns on `STOP`."""

    def __init__(self, adapter: Adapter, secrets: dict[str, str]) -> None:
        self.adapter = adapter
        self.channel = adapter.channel
        self.account_id = adapter.account_id
        self.secrets = secrets
        self.state: State = "idle"
        self.last_error = ""
        self.channel_name = ""
        self._replies: dict[str, _Reply] = {}
        self._targets: dict[str, ReplyTarget] = {}  # session key → where its replies go
        self._redeliveries: set[asyncio.Task[None]] = set()

    def secret(self, role: str) -> str:
        return self.secrets.get(role, "")

    async def set_state(self, state: State, error: str = "") -> None:
        if (state, error) == (self.state, self.last_error):
            return
        self.state, self.last_error = state, error
        if error:
            logger.warning("%s:%s is %s: %s", self.channel, self.account_id, state, error)
        await database_sync_to_async(_save_state)(self.channel, self.account_id, state, error)

    async def receive_inbound(self, message: InboundMessage) -> router.Routed:
        """Journal and route one message; returns once it is journaled (acknowledge after)."""
        target = message.target()

        async def listen(session_key: str) -> None:
            await self._listen(session_key, target)

        routed = await router.route(message, on_session=listen, fetch=self.adapter.fetch)
        if routed.reply:
            await self.reply_now(target, routed.reply)
        if routed.outcome == "accepted":
            self._replies.setdefault(routed.run, _Reply(target, routed.run))
            with contextlib.suppress(AdapterError):
                await self.adapter.typing(target)
        return routed

    async def resume(self, pending: "resume.Pending") -> None:
        """Deliver an answer the journal never saw delivered, or run its turn again."""
        await self._listen(pending.session_key, pending.target)
        answer = await resume.transcript_answer(pending)
        if answer is not None:
            reply = _Reply(
                pending.target,
                pending.run_id,
                message_id=pending.reply_message_id,
                delivered=pending.delivered_chunks,
                session=pending.session_key,
            )
            answer, reply.files = await media_outbound.with_files(
                pending.session_key, pending.run_id, answer
            )
            await self._final(reply, answer)
            await database_sync_to_async(journal.mark_delivered)(pending.run_id)
            return
        try:
            session = await database_sync_to_async(services.find_session)(pending.session_key)
        except services.NotFound:
            return
        run = ""
        for record, text, media in zip(pending.records, pending.texts, pending.media, strict=True):
            received = await media_inbound.resumed(record, text, media, session, self.adapter.fetch)
            run = (
                await runs.accept_message(
                    session,
                    received.text,
                    channel=self.channel,
                    media=received.media,
                    image_input=received.image_input,
                )
            ).run
        self._replies[run] = _Reply(pending.target, run, message_id=pending.reply_message_id)
        await database_sync_to_async(journal.rebind)(pending.run_id, run, pending.session_key)

    async def follow(self, session_key: str, target: ReplyTarget) -> None:
        """Deliver the session's run events to `target` from now on (a scheduled turn's
        answer goes to the chat its session talks in)."""
        await self._listen(session_key, target)

    async def _listen(self, session_key: str, target: ReplyTarget) -> None:
        self._targets[session_key] = target
        layer = get_channel_layer()
        if layer is not None and self.channel_name:
            await layer.group_add(session_group(session_key), self.channel_name)

    async def reply_now(self, target: ReplyTarget, text: str) -> None:
        for chunk in self.adapter.split(text):
            await self._send(target, chunk)

    async def open(self) -> None:
        """Take this connection's channel name (before any session can subscribe it)."""
        layer = get_channel_layer()
        if layer is not None and not self.channel_name:
            self.channel_name = await layer.new_channel(prefix=f"platform.{self.channel}.")

    async def serve(self) -> None:
        """Consume this connection's channel: run events of the sessions it routed."""
        layer = get_channel_layer()
        if layer is None:
            raise RuntimeError("No channel layer configured (CHANNEL_LAYERS).")
        await self.open()
        try:
            while True:
                message = await layer.receive(self.channel_name)
                if message.get("type") == STOP["type"]:
                    return  # the gateway is stopping; every event queued before is delivered
                if message.get("type") == "gateway.event":
                    try:
                        await self.on_event(message["event"], message["data"])
                    except AdapterError as error:
                        await self.set_state("failing", str(error))
                    except Exception:
                        event = message["event"]
                        logger.exception("Delivering %s on %s failed", event, self.channel)
        finally:
            for task in self._redeliveries:
                task.cancel()  # undelivered answers stay in the journal for the next start

    async def on_event(self, event: str, data: dict[str, Any]) -> None:
        run, session = data.get("run", ""), data.get("session", "")
        reply = self._replies.get(run)
        if reply is None:
            target = self._targets.get(session)
            if target is None:
                return
            reply = self._replies[run] = _Reply(target, run)
        reply.run, reply.session = run, session
        if event == "chat.tool":
            reply.tools.add(str(data.get("name", "")))
        elif event == "chat.delta":
            reply.text += data.get("text", "")
            await self._stream(reply)
        elif event == "chat.final":
            self._replies.pop(run, None)
            await self._deliver_final(reply, data.get("text", ""))
        elif event == "chat.error":
            self._replies.pop(run, None)
            if data.get("code") == "restarting":
                return  # cut by a shutdown: the journal keeps it and the next start answers
            await self._final(reply, reply.text)  # keep what was streamed
            await self.reply_now(reply.target, f"⚠️ {data.get('message', 'Something went wrong.')}")
            await database_sync_to_async(journal.mark_delivered)(run)

    async def _deliver_final(self, reply: _Reply, text: str) -> None:
        """Deliver an answer (its text, then its files) and mark it delivered. If the platform
        keeps failing past one call's retries, try again in the background (later events need
        not wait), going on after the chunks and files already sent, so an outage delays the
        answer but does not drop it."""
        if reply.files is None and media_outbound.may_send_files(text, reply.tools):
            text, reply.files = await media_outbound.with_files(reply.session, reply.run, text)
        try:
            await self._final(reply, text)
        except AdapterError as error:
            if error.permanent:
                raise
            await self.set_state("failing", str(error))
            task = asyncio.create_task(self._redeliver(reply, text), name=f"redeliver:{reply.run}")
            self._redeliveries.add(task)
            task.add_done_callback(self._redeliveries.discard)
            return
        await database_sync_to_async(journal.mark_delivered)(reply.run)

    async def _redeliver(self, reply: _Reply, text: str) -> None:
        for delay in REDELIVERY_DELAYS:
            await asyncio.sleep(delay)
            try:
                await self._final(reply, text)
            except AdapterError as error:
                await self.set_state("failing", str(error))
                if error.permanent:
                    return
                continue
            await database_sync_to_async(journal.mark_delivered)(reply.run)
            return
        logger.warning(
            "Run %s not delivered on %s; kept for the next start", reply.run, self.channel
        )

    async def _stream(self, reply: _Reply) -> None:
        """Show the answer growing: one message, edited every OPENCLAW_STREAM_EDIT_SECONDS."""
        if not self.adapter.can_edit or len(reply.text) > self.adapter.max_chars:
            return
        now = time.monotonic()
        if now - reply.last_edit < settings.OPENCLAW_STREAM_EDIT_SECONDS:
            return
        reply.last_edit = now
        if not reply.message_id:
            reply.message_id = await self._send(reply.target, reply.text, formatted=False)
            await database_sync_to_async(journal.note_reply_message)(reply.run, reply.message_id)
        else:
            await with_retries(
                lambda: self.adapter.edit(
                    reply.target, reply.message_id, reply.text, formatted=False
                )
            )

    async def _final(self, reply: _Reply, text: str) -> None:
        """Deliver the answer in chunks, then its files, each recorded in the journal as it
        goes: a resumed delivery continues after the last chunk or file sent, never repeating
        one."""
        chunks = self.adapter.split(text)
        for index, chunk in enumerate(chunks):
            if index < reply.delivered:
                continue
            if index == 0 and reply.message_id:
                await self._edit(reply.target, reply.message_id, chunk)
            else:
                await self._send(reply.target, chunk)
            reply.delivered = index + 1
            if reply.run:
                await database_sync_to_async(journal.note_chunks)(reply.run, index + 1)
        for index, file in enumerate(reply.files or (), start=len(chunks)):
            if index < reply.delivered:
                continue
            try:
                await with_retries(functools.partial(self.adapter.send_file, reply.target, file))
            except AdapterError as error:
                if not error.permanent:
                    raise
                await self.reply_now(reply.target, media_outbound.refused_notice(file, str(error)))
            reply.delivered = index + 1
            if reply.run:
                await database_sync_to_async(journal.note_chunks)(reply.run, index + 1)

    async def _send(self, target: ReplyTarget, text: str, *, formatted: bool = True) -> str:
        try:
            message_id = await with_retries(
                lambda: self.adapter.send(target, text, formatted=formatted)
            )
        except FormattingRejected:
            message_id = await with_retries(
                lambda: self.adapter.send(target, text, formatted=False)
            )
        if self.state != "connected" and self.state != "reconnecting":
            await self.set_state("connected")
        return message_id

    async def _edit(self, target: ReplyTarget, message_id: str, text: str) -> None:
        try:
            await with_retries(lambda: self.adapter.edit(target, message_id, text))
        except FormattingRejected:
            await with_retries(lambda: self.adapter.edit(target, message_id, text, formatted=False))


def running(channel: str, account_id: str) -> PlatformConnection | None:
    """The running connection of an account (webhook views hand it what they receive)."""
    conn = runtime.connection(channel, account_id)
    return conn if isinstance(conn, PlatformConnection) else None


def running_all() -> list[PlatformConnection]:
    """Every platform connection the runtime holds (also while it stops)."""
    found: list[PlatformConnection] = []
    for conn in runtime.connections.values():
        if isinstance(conn, PlatformConnection):
            found.append(conn)
    return found
