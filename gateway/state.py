"""The gateway process's live state, as a leaf every other gateway module may import: its
lanes, its model client, its platform connections and its long-lived tasks.

`runtime` is the process-wide instance. Starting and stopping it is `gateway.lifecycle`'s job
(imported only by the server and tests); everything else reads it here.
"""

import asyncio
import uuid
from typing import Any, Literal, Protocol

from agents.llm import ChatModel
from agents.llm_chat import ProviderChatModel
from gateway.lanes import Lanes, LanesClosed
from gateway.messages import ReplyTarget
from gateway.supervisor import Supervisor
from openclaw.celery import BrokerWatch

State = Literal["stopped", "starting", "running", "stopping"]


class Connection(Protocol):
    """What the rest of the gateway may ask of a running platform connection
    (`gateway.connections.PlatformConnection` implements it)."""

    channel: str
    account_id: str
    state: str
    last_error: str

    async def follow(self, session_key: str, target: ReplyTarget) -> None:
        """Deliver the session's run events to `target` from now on."""
        ...


class GatewayRuntime:
    def __init__(self) -> None:
        self.state: State = "stopped"
        # Channel-layer group of this process's sockets (unique: a Redis layer may be shared).
        self.sockets_group = f"gateway.sockets.{uuid.uuid4().hex}"
        self.model: ChatModel = ProviderChatModel()
        self.open_lanes: Lanes | None = None
        self.supervisor = Supervisor()
        self.connections: dict[tuple[str, str], Connection] = {}
        self.broker = BrokerWatch()  # informational: chat never depends on Celery

    @property
    def lanes(self) -> Lanes:
        if self.open_lanes is None or self.state != "running":
            raise LanesClosed("The gateway runtime is not running.")
        return self.open_lanes

    @property
    def stopping(self) -> bool:
        return self.state == "stopping"

    def connection(self, channel: str, account_id: str) -> Connection | None:
        return self.connections.get((channel, account_id)) if self.state == "running" else None

    def status(self) -> dict[str, Any]:
        lanes = self.open_lanes
        channels = {
            f"{c.channel}:{c.account_id}": {"state": c.state, "error": c.last_error}
            for c in self.connections.values()
        }
        return {
            "runtime": self.state,
            "channels": channels,
            "runs_busy": lanes.busy if lanes else 0,
            "runs_queued": lanes.queued if lanes else 0,
            "asyncio_tasks": _asyncio_tasks(),
            "tasks": self.supervisor.report(),
            "broker": self.broker.report(),
        }


def _asyncio_tasks() -> int:
    """Tasks alive on the server's loop (the soak watches it level off); 0 off the loop."""
    try:
        return len(asyncio.all_tasks())
    except RuntimeError:
        return 0


runtime = GatewayRuntime()
