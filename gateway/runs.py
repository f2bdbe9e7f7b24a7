"""Chat runs: a message the router accepted becomes a job on its session's lane (or, for a chat
command, an answer at once); its events go to every socket and connection following the
session. The job is the turn's host (`agents.host.TurnHost`): it tells the loop what the turn
may do and closes the journal entries it answered."""

import asyncio
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args

from channels.db import database_sync_to_async
from django.conf import settings

from agents import services
from agents.host import TurnHost
from agents.loop import run_turn
from agents.services import SessionRef
from agents.tools import catalog
from agents.tools.base import Tool
from agents.transcripts import append_entries_async
from agents.trust import Trust, session_trust
from agents.turn import Said, Steering, TurnRequest
from agents.turn_events import EventSink
from gateway import approvals, chat_commands, inflight, journal
from gateway.events import LayerSink, restarting_error
from gateway.lanes import Job, QueueMode
from gateway.metrics import TurnMetrics
from gateway.state import runtime
from openclaw.logging import log_context
from openclaw.perf import offload

logger = logging.getLogger(__name__)


class ChatJob:
    """One turn on a lane: the messages it answers (more may be folded in while it waits),
    and the steering inbox of the run once it started.

    `records` are the web chat (and scheduled) journal entries it answers: closed once the
    answer (or error) is in the transcript, left open when a shutdown cuts the run so the next
    start answers them. (Platform entries are closed by their connection, after delivery.)"""

    mergeable = True  # False: never folded into, or steered into, another run (scheduled turns)

    def __init__(
        self,
        run_id: str,
        session: SessionRef,
        text: str,
        channel: str,
        *,
        can_send: bool = True,
        records: Sequence[int] = (),
        sender: str = "",
        origin: str = "",
        media: tuple[dict[str, Any], ...] = (),
        image_input: str = "",
    ) -> None:
        self.run_id, self.session, self.channel = run_id, session, channel
        self.can_send = can_send
        self.said = [Said(text, sender, origin, media, image_input)]
        self.records = list(records)
        self.sink: EventSink = LayerSink.of(session.key)
        self.steering = Steering()
        self._started = self._done = False
        self._answered = False  # the current turn's answer went out (see `Job.answered`)
        self._closing: asyncio.Future[None] | None = None  # journal entries being closed

    def absorb(self, other: Job) -> bool:
        if self._started or not isinstance(other, ChatJob) or not other.mergeable:
            return False
        self.said += other.said
        self.records += other.records
        return True

    @property
    def answered(self) -> bool:
        return self._answered

    def steer(self, other: Job) -> bool:
        if not self._started or self._done or not isinstance(other, ChatJob) or not other.mergeable:
            return False
        self._answered = False  # another turn will answer these
        self.steering.said += other.said
        self.records += other.records
        return True

    async def run(self) -> None:
        self._started = True
        run_id, said = self.run_id, list(self.said)
        try:
            while said:
                self._answered = False
                request = TurnRequest(
                    run_id=run_id,
                    session=self.session,
                    said=tuple(said),
                    channel=self.channel,
                    steering=self.steering,
                    host=self._host(),
                )
                metered = TurnMetrics(self.channel, self.session.model)
                with log_context(run_id, self.session.key), metered:
                    sink, tools = metered.sink(self.sink), await turn_tools(self.session)
                    metered.finish(await run_turn(request, runtime.model, sink, tools))
                await self._closed()
                # Steering that arrived after the last model call gets a turn of its own.
                said, run_id = self.steering.take(), new_run_id()
        except asyncio.CancelledError:
            self._done = True
            await self._closed()
            if not runtime.stopping:  # aborted by the user: the transcript holds the aborted answer
                await asyncio.shield(self._close_records())
            raise
        finally:
            self._done = True
            inflight.end(self.session.key)
        await self._close_records()

    def _turn_ended(self, outcome: str) -> None:
        """At the end of a turn, on the loop, just before its answer goes out: marks the job
        `answered` unless steered messages wait for a turn of their own, and starts closing the
        journal entries it answered (in the database thread, beside the turn's bookkeeping).
        Not while steered messages wait, nor for a run a shutdown cut (the next start answers
        its entries)."""
        self._answered = not self.steering.said
        if not self.records or self.steering.said or (outcome == "aborted" and runtime.stopping):
            return
        records, self.records = self.records, []
        self._closing = asyncio.ensure_future(
            offload.database(journal.mark_records_delivered, records)
        )

    async def _closed(self) -> None:
        """Wait for the entries `_turn_ended` is closing (a cancelled caller too)."""
        closing, self._closing = self._closing, None
        if closing is not None:
            await asyncio.shield(closing)

    async def _close_records(self) -> None:
        if self.records:
            records, self.records = self.records, []
            await database_sync_to_async(journal.mark_records_delivered)(records)

    def _host(self) -> TurnHost:
        agent = self.session.agent
        return TurnHost(
            trust=trust_of(self.session),
            exec_enabled=agent.exec_enabled,
            send_to_session=self._send_to_session if self.can_send else None,
            approve_exec=self._approve_exec if agent.exec_enabled and agent.exec_approval else None,
            approve_tool=self._approve_exec,  # the same operator queue (gateway.approvals)
            turn_ended=self._turn_ended,
        )

    async def _send_to_session(self, key: str, text: str) -> str:
        """`sessions_send`: a turn in another session, marked as coming from this one (never
        shown as its owner's own words), which cannot send further."""
        session = await open_session(key, None)
        origin = f"sessions_send from {self.session.key}"
        submitted = await submit_chat(session, text, channel="agent", can_send=False, origin=origin)
        return submitted.run

    async def _approve_exec(self, command: str) -> str:
        """Ask an operator (admin list or web chat `exec.decide`) and wait for the verdict."""
        # Leave the tool timeout room to report the verdict.
        timeout = min(settings.OPENCLAW_EXEC_APPROVAL_TIMEOUT, settings.OPENCLAW_TOOL_TIMEOUT - 5)
        ticket = await database_sync_to_async(approvals.request_exec_approval)(
            run_id=self.run_id,
            session_key=self.session.key,
            command=command,
            agent_slug=self.session.agent.slug,
            timeout=timeout,
        )
        base = {"run": self.run_id, "session": self.session.key, "approval": ticket.id}
        pending = {
            "status": "pending",
            "command": command,
            "expires": ticket.expires_at.isoformat(),
        }
        await self.sink.emit("chat.approval", {**base, **pending})
        verdict = await approvals.wait_for_exec_approval(ticket.id, timeout)
        exact = await database_sync_to_async(approvals.approved_exactly)(ticket.id, command)
        if verdict == "approved" and not exact:
            verdict = "denied"  # the record no longer holds this very command
        await self.sink.emit("chat.approval", {**base, "status": verdict})
        return verdict

    async def skip(self, reason: str) -> None:
        # The messages were accepted: keep them in the transcript though no run answers them.
        entries = [said.entry(self.run_id, skipped=reason) for said in self.said]
        await append_entries_async(Path(self.session.transcript), entries)
        data = {"run": self.run_id, "session": self.session.key}
        if reason == "shutdown":  # the journal entries stay open: the next start answers them
            await self.sink.emit("chat.error", restarting_error(data))
            return
        await self._close_records()
        usage = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
        final = {**data, "text": "", "usage": usage, "stop_reason": "aborted"}
        await self.sink.emit("chat.final", final)


def trust_of(session: SessionRef) -> Trust:
    """Whom a session's turns speak for (`agents.trust`): its key and kind decide."""
    return session_trust(session.key, is_group=session.is_group)


def tools_for(session: SessionRef) -> list[Tool]:
    """The tools this session may use: the agent's profile and lists, narrowed by its trust."""
    return catalog.tools_for(session.agent, trust_of(session))


async def turn_tools(session: SessionRef) -> list[Tool]:
    """`tools_for`, and the tools of the agent's MCP servers (`agents.tools.catalog`)."""
    return await catalog.turn_tools(session.agent, trust_of(session))


def new_run_id() -> str:
    return uuid.uuid4().hex[:16]


async def open_session(session_key: str | None, agent_slug: str | None) -> SessionRef:
    key = session_key or services.main_session_key(agent_slug)
    ref: SessionRef
    ref, _ = await database_sync_to_async(services.open_session)(key)
    return ref


@dataclass(frozen=True, slots=True)
class Submitted:
    run: str
    disposition: str


async def submit_chat(
    session: SessionRef,
    text: str,
    *,
    channel: str = "web",
    can_send: bool = True,
    records: Sequence[int] = (),
    run_id: str | None = None,
    sender: str = "",
    origin: str = "",
    media: tuple[dict[str, Any], ...] = (),
    image_input: str = "",
) -> Submitted:
    """Queue a turn on the session's lane following its queue mode. Raises `LanesClosed`.
    `records`: the web chat journal entries this message came with (see `ChatJob`); `run_id`:
    the id of the run if it gets one of its own (a fresh one when not given); `sender`: who
    wrote it, in a chat of several people; `origin`: where it comes from when no person typed
    it here; `media`, `image_input`: the files that came with it (see `Said`)."""
    run = run_id or new_run_id()
    job = ChatJob(
        run,
        session,
        text,
        channel,
        can_send=can_send,
        records=records,
        sender=sender,
        origin=origin,
        media=media,
        image_input=image_input,
    )
    mode: QueueMode = "collect"
    for known in get_args(QueueMode):
        if session.queue_mode == known:
            mode = known
    run, disposition = runtime.lanes.submit(
        session.key, job, mode=mode, cap=session.agent.queue_cap
    )
    return Submitted(run, disposition)


async def accept_message(
    session: SessionRef,
    text: str,
    *,
    channel: str = "web",
    records: Sequence[int] = (),
    run_id: str | None = None,
    sender: str = "",
    from_owner: bool = True,
    media: tuple[dict[str, Any], ...] = (),
    image_input: str = "",
) -> Submitted:
    """What every channel does with an incoming message: a chat command is answered at once;
    anything else is queued as a turn (`run_id`, `sender`, `media`, `image_input`: see
    `submit_chat`; `from_owner`: the sender is one of the account's owners, for the commands
    only owners may use in groups). A message with files is never a command."""
    command = None if media else chat_commands.parse(text)
    if command is None:
        return await submit_chat(
            session,
            text,
            channel=channel,
            records=records,
            run_id=run_id,
            sender=sender,
            media=media,
            image_input=image_input,
        )
    run = run_id or new_run_id()
    reply = await chat_commands.run_command(session, *command, from_owner=from_owner)
    usage = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
    final = {"run": run, "session": session.key, "text": reply, "usage": usage}
    await LayerSink.of(session.key).emit("chat.final", {**final, "stop_reason": "command"})
    if records:
        await database_sync_to_async(journal.mark_records_delivered)(records)
    return Submitted(run, "command")


class ScheduledTurn(ChatJob):
    """A scheduled turn: its own run on the lane, never merged with the user's messages (a
    reminder's answer and a user's answer stay apart), and it cannot message other sessions."""

    mergeable = False

    def __init__(
        self,
        run_id: str,
        session: SessionRef,
        text: str,
        sink: EventSink,
        record: int,
        origin: str,
    ) -> None:
        channel = session.channel
        super().__init__(
            run_id, session, text, channel, can_send=False, records=(record,), origin=origin
        )
        self.sink = sink

    def absorb(self, other: Job) -> bool:
        return False

    def steer(self, other: Job) -> bool:
        return False


def submit_scheduled(
    session: SessionRef, text: str, sink: EventSink, run_id: str, record: int, origin: str
) -> Submitted:
    """Queue a scheduled turn behind whatever the session is doing (never folded into it).
    `origin` names the job (see `Said`). Raises `LanesClosed`."""
    turn = ScheduledTurn(run_id, session, text, sink, record, origin)
    run, disposition = runtime.lanes.submit(
        session.key, turn, mode="followup", cap=session.agent.queue_cap
    )
    return Submitted(run, disposition)
