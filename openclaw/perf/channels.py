"""Channels without its per-frame work: 10.1 → 7.0 thread hops a turn, and up to 3 % of the loop.

- `dispatch`: a consumer's dispatch without Channels' `aclose_old_connections` hop before
  every frame it receives and every event it forwards. Every database call of ours closes
  stale connections itself, in the database thread (`openclaw.perf.offload`, or
  `database_sync_to_async`), so that hop only repeated the work.
- `SocketSessionMiddleware`: Channels' session middleware without its wrapper around every
  frame sent. The wrapper saves a changed session only on an HTTP response's start, which a
  socket never sends, yet looked the lazy session up at each frame.

Both copy the shape of Channels' own code (pinned in `pyproject.toml`, checked by
`tests/perf/test_upstream_channels.py`).
"""

from typing import Any

from channels.consumer import get_handler_name
from channels.sessions import InstanceSessionWrapper, SessionMiddleware


async def dispatch(consumer: Any, message: dict[str, Any]) -> None:
    """`AsyncConsumer.dispatch` without its stale-connection hop: assign it as a consumer's
    `dispatch` (`dispatch = openclaw.perf.channels.dispatch` in the class body)."""
    handler = getattr(consumer, get_handler_name(message), None)
    if handler is None:
        raise ValueError(f"No handler for message type {message['type']!r}")
    await handler(message)


class SocketSessionMiddleware(SessionMiddleware):  # type: ignore[misc]  # untyped base
    """Channels' `SessionMiddleware` for WebSockets: the session resolved once, `send` passed
    through unwrapped (only `http.response.start` ever saved a session)."""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> Any:
        wrapper = InstanceSessionWrapper(scope, send)
        await wrapper.resolve_session()
        return await self.inner(wrapper.scope, receive, send)
