"""Chat runs: turn a `chat.send` into a job on its session's lane, with events sent to every
socket subscribed to that session through the channel layer."""

import hashlib
import logging
import uuid
from pathlib import Path
from dataclasses import dataclass
from typing import Any, Literal, TypedDict

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer

from agents import services
from agents.loop import TurnRequest, run_turn
from agents.services import SessionRef
from agents.transcripts import append_entries_async, make_entry
from gateway.runtime import runtime

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


@dataclass(frozen=True, slots=True)
class LayerSink:
    group: str

    async def emit(self, event: str, data: dict[str, Any]) -> None:
        message: GatewayEventMessage = {"type": "gateway.event", "event": event, "data": data}
        layer = get_channel_layer()
        if layer is None:
            raise RuntimeError("No channel layer configured (CHANNEL_LAYERS).")
        await layer.group_send(self.group, message)


@dataclass(frozen=True, slots=True)
class ChatJob:
    run_id: str
    request: TurnRequest
    sink: LayerSink

    async def run(self) -> None:
        await run_turn(self.request, runtime.model, self.sink)

    async def skip(self, reason: str) -> None:
        # The message was accepted: keep it in the transcript even though no run answers it.
        entry = make_entry(
            "message",
            role="user",
            content=self.request.text,
            run=self.run_id,
            meta={"skipped": reason},
        )
        await append_entries_async(Path(self.request.session.transcript), [entry])
        stop = "aborted"
        data = {"run": self.run_id, "session": self.request.session.key}
        if reason == "shutdown":
            await self.sink.emit(
                "chat.error",
                {**data, "code": "unavailable", "message": "The gateway stopped before this run."},
            )
            return
        usage = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
        await self.sink.emit(
            "chat.final", {**data, "text": "", "usage": usage, "stop_reason": stop}
        )


def new_run_id() -> str:
    return uuid.uuid4().hex[:16]


async def open_session(session_key: str | None, agent_slug: str | None) -> SessionRef:
    key = session_key or services.main_session_key(agent_slug)
    ref: SessionRef
    ref, _ = await database_sync_to_async(services.open_session)(key)
    return ref


async def submit_chat(session: SessionRef, text: str, *, channel: str = "web") -> str:
    """Queue a turn on the session's lane; returns the run id. Raises `LanesClosed`."""
    run_id = new_run_id()
    request = TurnRequest(run_id=run_id, session=session, text=text, channel=channel)
    runtime.lanes.submit(
        session.key, ChatJob(run_id, request, LayerSink(session_group(session.key)))
    )
    return run_id
