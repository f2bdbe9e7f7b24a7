"""A turn's events on their way to its sink, in order: streamed text is batched into one
`chat.delta` per wake-up of the loop (chunks read together make one frame), and whatever was not
sent yet goes out before the next event, or as part of `chat.final`."""

import asyncio
import logging
from typing import Any, Protocol

logger = logging.getLogger(__name__)

ENDS = ("chat.final", "chat.error")


class EventSink(Protocol):
    """Receives a turn's events in order. MUST NOT raise for a listener that went away."""

    async def emit(self, event: str, data: dict[str, Any]) -> None: ...


class TurnEvents:
    """The events of one turn, stamped with its run and session ids."""

    def __init__(self, sink: EventSink, ids: dict[str, str]) -> None:
        self.sink, self.ids = sink, ids
        self.ended = False  # chat.final or chat.error went out
        # Streamed text not sent yet (`delta`), the flush planned for it and the task sending
        # it (kept referenced), and the lock that keeps events in order when both send.
        self.unsent: list[str] = []
        self.flush_soon: asyncio.Handle | None = None
        self.flushing: asyncio.Future[None] | None = None
        self.sending = asyncio.Lock()

    async def emit(self, event: str, data: dict[str, Any]) -> None:
        self.ended = self.ended or event in ENDS
        async with self.sending:
            if event == "chat.final":
                self.unsent.clear()  # the final holds the whole answer
            else:
                await self._send_unsent()
            await self.sink.emit(event, {**self.ids, **data})

    def delta(self, text: str) -> None:
        """Stream `text`: it goes out in one `chat.delta` with whatever else the model sent
        before the turn next waits on it, so chunks read together make one frame (each frame
        costs the channel layer, the consumer and the socket once), and an answer that arrived
        whole goes out in its `chat.final` alone. Nothing is held back while the model is
        slower than the loop: the flush runs as soon as the turn waits."""
        self.unsent.append(text)
        if self.flush_soon is None:
            self.flush_soon = asyncio.get_running_loop().call_soon(self._flush)

    def hold(self, text: str) -> None:
        """Text to go out with the next event (or as part of `chat.final`), not on its own."""
        self.unsent.append(text)

    def stream_ended(self) -> None:
        """The model call is over: what is unsent goes out with the next event (or is part
        of `chat.final`), not on its own."""
        if self.flush_soon is not None:
            self.flush_soon.cancel()
            self.flush_soon = None

    def _flush(self) -> None:
        self.flush_soon = None
        self.flushing = asyncio.ensure_future(self._send_unsent_in_order())

    async def _send_unsent_in_order(self) -> None:
        try:
            async with self.sending:
                await self._send_unsent()
        except Exception:  # a task of its own: nobody else would hear of it
            logger.exception("Run %s: streaming a delta failed", self.ids.get("run", ""))

    async def _send_unsent(self) -> None:
        """Send the text streamed so far and not sent yet (the caller holds `sending`)."""
        if self.unsent:
            text = "".join(self.unsent)
            self.unsent.clear()
            await self.sink.emit("chat.delta", {**self.ids, "text": text})
