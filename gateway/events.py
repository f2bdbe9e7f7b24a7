"""Run events on their way out: the channel-layer messages that carry them to every socket and
platform connection following a session, and the sink a turn emits into."""

import hashlib
from dataclasses import dataclass
from typing import Any, Literal, TypedDict

from channels.layers import get_channel_layer

from gateway import inflight
from gateway.state import runtime


class GatewayEventMessage(TypedDict):
    """Channel-layer message carrying one protocol event to the consumers of a session."""

    type: Literal["gateway.event"]
    event: str
    data: dict[str, Any]


class ShutdownMessage(TypedDict):
    """Channel-layer message telling a socket or connection the gateway is stopping."""

    type: Literal["gateway.shutdown"]


# Sent at shutdown, after the lanes drained, behind every event already queued.
STOP: ShutdownMessage = {"type": "gateway.shutdown"}

RESTARTING = (
    "The gateway is restarting; this message is kept and will be answered after the restart "
    "(reload the conversation then)."
)


def session_group(session_key: str) -> str:
    """A channel-layer group name for a session (keys may hold characters groups may not)."""
    return "session." + hashlib.sha256(session_key.encode("utf-8")).hexdigest()[:40]


def restarting_error(data: dict[str, Any]) -> dict[str, Any]:
    """A run cut by a shutdown: its journal entry stays open and the next start answers it.
    Platform connections skip this error (they deliver the answer after the restart)."""
    ids = {"run": data.get("run", ""), "session": data.get("session", "")}
    return {**ids, "code": "restarting", "message": RESTARTING, "partial": data.get("text", "")}


@dataclass(frozen=True, slots=True)
class LayerSink:
    """Emits a session's run events to its channel-layer group (an `EventSink` of the loop)."""

    group: str

    @classmethod
    def of(cls, session_key: str) -> "LayerSink":
        return cls(session_group(session_key))

    async def emit(self, event: str, data: dict[str, Any]) -> None:
        if event == "chat.final" and data.get("stop_reason") == "aborted" and runtime.stopping:
            event, data = "chat.error", restarting_error(data)
        data = inflight.observe(event, data)  # what a reconnecting client re-attaches to
        message: GatewayEventMessage = {"type": "gateway.event", "event": event, "data": data}
        layer = get_channel_layer()
        if layer is None:
            raise RuntimeError("No channel layer configured (CHANNEL_LAYERS).")
        await layer.group_send(self.group, message)
