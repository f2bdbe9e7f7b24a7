"""Chat runs: turn a `chat.send` into a job on its session's lane, with events sent to every
socket subscribed to that session through the channel layer."""

import asyncio
import functools
import hashlib
import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypedDict, get_args

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings

from agents import services
from agents.loop import EventSink, Said, Steering, TurnRequest, run_turn
from agents.services import SessionRef
from agents.tools.base import Tool
from agents.tools.catalog import ALL_TOOLS, allowed_tool_names
from agents.transcripts import append_entries_async
from gateway import approvals, commands, inflight, resume
from gateway.lanes import Job, QueueMode
from gateway.metrics import TurnMetrics
from gateway.runtime import runtime
from openclaw.logging import log_context

logger = logging.getLogger(__name__)


class GatewayEventMessage(TypedDict):
    """Channel-layer message carrying one protocol event to the consumers of a session."""

    type: Literal["gateway.event"]
    event: str
    data: dict[str, Any]


class ShutdownMessage(TypedDict):
    """Channel-layer message telling a socket the gateway is stopping."""

    type: Literal["gateway.shutdown"]


def session_group(session_key: str) -> str:
    """A channel-layer group name for a session (keys may hold characters groups may not)."""
    return "session." + hashlib.sha256(session_key.encode("utf-8")).hexdigest()[:40]


RESTARTING = (
    "The gateway is restarting; this message is kept and will be answered after the restart "
    "(reload the conversation then)."
)


def restarting_error(data: dict[str, Any]) -> dict[str, Any]:
    """A run cut by a shutdown: its journal entry stays open and the next start answers it.
    Platform connections skip this error (they deliver the answer after the restart)."""
    ids = {"run": data.get("run", ""), "session": data.get("session", "")}
    return {**ids, "code": "restarting", "message": RESTARTING, "partial": data.get("text", "")}


@dataclass(frozen=True, slots=True)
class LayerSink:
    group: str

    async def emit(self, event: str, data: dict[str, Any]) -> None:
        if event == "chat.final" and data.get("stop_reason") == "aborted" and _stopping():
            event, data = "chat.error", restarting_error(data)
        data = inflight.observe(event, data)  # what a reconnecting client re-attaches to
        message: GatewayEventMessage = {"type": "gateway.event", "event": event, "data": data}
        layer = get_channel_layer()
        if layer is None:
            raise RuntimeError("No channel layer configured (CHANNEL_LAYERS).")
        await layer.group_send(self.group, message)


def _stopping() -> bool:
    return runtime.state == "stopping"


class ChatJob:
    """One turn on a lane: the messages it answers (more may be folded in while it waits),
    and the steering inbox of the run once it started.

    `records` are the web chat journal entries it answers: closed once the answer (or error)
    is in the transcript, left open when a shutdown cuts the run so the next start answers
    them. (Platform entries are closed by their connection, after delivery.)"""

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
    ) -> None:
        self.run_id, self.session, self.channel = run_id, session, channel
        self.can_send = can_send
        self.said = [Said(text, sender)]
        self.records = list(records)
        self.sink: EventSink = LayerSink(session_group(session.key))
        self.steering = Steering()
        self._started = self._done = False
        self._answered = False  # the current turn's answer went out (see `Job.answered`)

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
                    options=self._tool_options(),
                    settle=self._settle,
                )
                metered = TurnMetrics(self.channel, self.session.model)
                with log_context(run_id, self.session.key), metered:
                    sink, tools = metered.sink(self.sink), tools_for(self.session)
                    metered.finish(await run_turn(request, runtime.model, sink, tools))
                # Steering that arrived after the last model call gets a turn of its own.
                said, run_id = self.steering.take(), new_run_id()
        except asyncio.CancelledError:
            self._done = True
            if not _stopping():  # aborted by the user: the transcript holds the aborted answer
                await asyncio.shield(self._close_records())
            raise
        finally:
            self._done = True
            inflight.end(self.session.key)
        await self._close_records()

    def _settle(self, outcome: str) -> Callable[[], None] | None:
        """At the end of a turn, on the loop, just before its answer goes out: marks the job
        `answered` unless steered messages wait for a turn of their own, and returns closing the
        journal entries it answered, to run in the turn's last thread hop. None while steered
        messages wait, and for a run a shutdown cut (the next start answers its entries)."""
        self._answered = not self.steering.said
        if not self.records or self.steering.said or (outcome == "aborted" and _stopping()):
            return None
        records, self.records = self.records, []
        return functools.partial(resume.mark_records_delivered, records)

    async def _close_records(self) -> None:
        if self.records:
            await database_sync_to_async(resume.mark_records_delivered)(self.records)

    def _tool_options(self) -> dict[str, Any]:
        agent = self.session.agent
        options: dict[str, Any] = {"exec_enabled": agent.exec_enabled}
        if self.can_send:
            options["send_to_session"] = _send_from_tool
        if agent.exec_enabled and agent.exec_approval:
            options["approve_exec"] = self._approve_exec
        return options

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


def tools_for(session: SessionRef) -> list[Tool]:
    """The tools this session may use: the agent's profile and lists, stricter in groups."""
    agent = session.agent
    names = allowed_tool_names(
        profile=agent.tool_profile,
        allow=agent.tools_allow,
        deny=agent.tools_deny,
        is_group=session.is_group,
        exec_enabled=agent.exec_enabled,
    )
    return [tool for tool in ALL_TOOLS if tool.name in names]


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


async def _send_from_tool(key: str, text: str) -> str:
    session = await open_session(key, None)
    return (await submit_chat(session, text, channel="agent", can_send=False)).run


async def submit_chat(
    session: SessionRef,
    text: str,
    *,
    channel: str = "web",
    can_send: bool = True,
    records: Sequence[int] = (),
    run_id: str | None = None,
    sender: str = "",
) -> Submitted:
    """Queue a turn on the session's lane following its queue mode. Raises `LanesClosed`.
    `records`: the web chat journal entries this message came with (see `ChatJob`); `run_id`:
    the id of the run if it gets one of its own (a fresh one when not given); `sender`: who
    wrote it, in a chat of several people (see `Said`)."""
    run = run_id or new_run_id()
    job = ChatJob(run, session, text, channel, can_send=can_send, records=records, sender=sender)
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
) -> Submitted:
    """What every channel does with an incoming message: a chat command is answered at once;
    anything else is queued as a turn (`run_id`, `sender`: see `submit_chat`)."""
    command = commands.parse(text)
    if command is None:
        return await submit_chat(
            session, text, channel=channel, records=records, run_id=run_id, sender=sender
        )
    run = run_id or new_run_id()
    reply = await commands.run_command(session, *command)
    usage = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
    final = {"run": run, "session": session.key, "text": reply, "usage": usage}
    await LayerSink(session_group(session.key)).emit(
        "chat.final", {**final, "stop_reason": "command"}
    )
    if records:
        await database_sync_to_async(resume.mark_records_delivered)(records)
    return Submitted(run, "command")
