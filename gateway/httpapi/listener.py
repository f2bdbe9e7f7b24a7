"""A request's view of its session's run events: it joins the session's channel-layer group
before its message is routed (the router's `on_session`), then reads one run's events until
that run's `chat.final` or `chat.error`, and leaves the group when done."""

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer

from agents import services
from agents.transcripts import read_entries_async
from agents.turn_events import ENDS
from gateway.answers import answer_of
from gateway.events import session_group

RunEvent = tuple[str, dict[str, Any]]


class SessionEvents:
    """Follows the sessions it is told to (`follow`); `close` MUST be called when done."""

    def __init__(self) -> None:
        layer = get_channel_layer()
        if layer is None:
            raise RuntimeError("No channel layer configured (CHANNEL_LAYERS).")
        self.layer = layer
        self.channel = ""
        self.groups: list[str] = []

    async def follow(self, session_key: str) -> None:
        if not self.channel:
            self.channel = await self.layer.new_channel(prefix="httpapi.")
        group = session_group(session_key)
        await self.layer.group_add(group, self.channel)
        self.groups.append(group)

    async def events(self, run: str, seconds: float) -> AsyncIterator[RunEvent]:
        """The run's events in order, its end included; TimeoutError past `seconds`."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"Run {run} did not end within {seconds:g} s.")
            message = await asyncio.wait_for(self.layer.receive(self.channel), remaining)
            data = message.get("data") if message.get("type") == "gateway.event" else None
            if not isinstance(data, dict) or data.get("run") != run:
                continue
            name = str(message.get("event", ""))
            yield name, data
            if name in ENDS:
                return

    async def close(self) -> None:
        groups, self.groups = self.groups, []
        for group in groups:
            await self.layer.group_discard(group, self.channel)


async def finished_answer(session_key: str, run: str) -> RunEvent | None:
    """A run that already ended, read back from its transcript as its last event would have
    said it (for a retried request whose original is answered): None while it runs."""
    try:
        session = await database_sync_to_async(services.find_session)(session_key)
    except services.NotFound:
        return None
    entries = await read_entries_async(Path(session.transcript))
    errors = [e for e in entries if e.get("run") == run and e["type"] == "error"]
    if errors:
        message = errors[-1].get("content", "The run failed.")
        return "chat.error", {"run": run, "code": "failed", "message": message}
    answer = answer_of(entries, run)
    if answer is None:
        return None
    finals = [e for e in entries if e.get("run") == run and e.get("stop_reason")]
    usage = dict(finals[-1].get("usage") or {})
    return "chat.final", {"run": run, "text": answer, "usage": usage, "stop_reason": "stop"}
