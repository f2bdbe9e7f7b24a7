"""One MCP server's client session (with `agents.mcp.transport`, the only user of the `mcp` SDK's
client): started on first
use, at most one live session (for stdio: one process) at a time, its tool listing cached until
the server says it changed or the session is new, and a crash noticed at once and answered by a
restart on the next use, with backoff when starts keep failing.

Everything here is async and runs on the gateway's loop. The session's contexts (the SDK's
anyio task groups) are entered and left by one owner task per session; calls come from turns.
"""

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import Any

import httpx2
import mcp_types as types
from mcp.client.session import ClientSession, IncomingMessage
from mcp.shared.exceptions import MCPError

from agents.mcp.config import ServerConfig
from agents.mcp.errors import MCPRefused, MCPTimeout, MCPUnavailable
from agents.mcp.transport import Watched, open_transport, text_of
from openclaw.redact import MASK

logger = logging.getLogger(__name__)

MAX_BACKOFF = 60.0
MAX_PAGES = 20  # of a paginated tools/list
START_SECONDS = 30.0  # at least: a server's start (`npx …`, a venv) can be slower than a call
STOP_GRACE = 10.0
# A server that had been running is started again in the background after it ends, this many
# times in a row at most (with the backoff); after that, on its next use.
MAX_RESTARTS = 5  # the SDK's own stdio shutdown: close stdin 2 s, SIGTERM 2 s, SIGKILL


@dataclass(frozen=True, slots=True)
class RemoteTool:
    """A tool as the server lists it: its own name, description and input schema."""

    name: str
    description: str
    schema: dict[str, Any]


@dataclass(frozen=True, slots=True)
class CallResult:
    text: str
    is_error: bool


def backoff(failures: int) -> float:
    """Seconds before the next start: none after the first failure (a crash mid-call restarts
    for the next call), then 1, 2, 4… up to a minute while starts keep failing."""
    return 0.0 if failures <= 1 else min(2.0 ** (failures - 2), MAX_BACKOFF)


class ServerConnection:
    """The client side of one configured server. `retired` connections (the server was
    reconfigured or the gateway stops) never start again."""

    def __init__(self, config: ServerConfig, after: "asyncio.Future[None] | None" = None) -> None:
        self.config = config
        self.state = "stopped"  # stopped | starting | running | backoff | retired
        self.starts = 0
        self.failures = 0  # consecutive
        self.last_used = 0.0  # loop time of the last listing or call a turn asked for
        self.last_error = ""
        self._after = after  # the previous connection's stop: one process per server
        self._session: ClientSession | None = None
        self._owner: asyncio.Task[None] | None = None
        self._closed = asyncio.Event()
        self._start_lock = asyncio.Lock()
        self._retry_at = 0.0
        self._listing: tuple[RemoteTool, ...] | None = None
        self._listed_by: ClientSession | None = None  # a new session lists again
        self._stale = False
        self._expired = False  # an HTTP server no longer knows our session (it restarted)
        self._ran = False  # a session was up once: worth restarting in the background
        self._retired = False  # stopped for good (`stop`)
        self._restarter: asyncio.Task[None] | None = None

    # --- the session ------------------------------------------------------------------

    async def session(self) -> ClientSession:
        """The live session, started if needed. Raises MCPUnavailable."""
        session = self._session
        if session is not None and not self._closed.is_set():
            return session
        async with self._start_lock:
            if self._session is not None and not self._closed.is_set():
                return self._session
            return await self._start()

    async def _start(self) -> ClientSession:
        name = self.config.name
        if self._owner is not None:  # the last session's task, still leaving: one at a time
            await self._end_owner()
        if self._retired:
            raise MCPUnavailable(f"MCP server {name} was reconfigured or stopped; try again.")
        if self.config.missing:
            missing = ", ".join(self.config.missing)
            raise MCPUnavailable(f"MCP server {name} is not configured: {missing} not set.")
        wait = self._retry_at - asyncio.get_running_loop().time()
        if wait > 0:
            raise MCPUnavailable(
                f"MCP server {name} failed ({self.last_error}); it restarts in {wait:.0f} s."
            )
        if self._after is not None:
            await asyncio.shield(self._after)
        self.state, self.starts = "starting", self.starts + 1
        self._closed = asyncio.Event()
        started: asyncio.Future[ClientSession] = asyncio.get_running_loop().create_future()
        self._owner = asyncio.create_task(self._own(started), name=f"mcp:{name}")
        allowed = max(self.config.timeout, START_SECONDS)
        try:
            async with asyncio.timeout(allowed):
                return await asyncio.shield(started)
        except TimeoutError:
            error = f"it did not start within {allowed:g} s"
        except Exception as exc:
            error = self._describe(exc)
        except asyncio.CancelledError:  # the turn that wanted it went away: so does this start
            started.cancel()
            await asyncio.shield(self._end_owner(cancel=True))
            raise
        started.cancel()  # nobody waits for it any more
        await self._end_owner(cancel=True)
        self._failed(error)
        raise MCPUnavailable(f"MCP server {name} is unavailable: {error}.")

    async def _own(self, started: "asyncio.Future[ClientSession]") -> None:
        """The session's life, in one task: enter the transport and the session, serve until
        the stream ends or `stop` asks, then leave them (the SDK stops the process)."""
        crashed = False
        try:
            async with contextlib.AsyncExitStack() as stack:
                transport = open_transport(self.config, self._session_expired)
                read, write = await stack.enter_async_context(transport)
                watched = Watched(read, self._closed.set)
                session = await stack.enter_async_context(
                    ClientSession(watched, write, message_handler=self._on_message)
                )
                await session.initialize()
                self._session, self.state, self._ran = session, "running", True
                started.set_result(session)
                await self._closed.wait()
                crashed = not self._retired  # nobody asked it to stop
        except Exception as exc:
            if not started.done():
                started.set_exception(exc)
                return
            if started.cancelled():  # a start that timed out: `_start` reports it
                return
            crashed = not self._retired
            self.last_error = self._describe(exc)
        finally:
            self._session = None
            if not started.done():  # cancelled while starting (`stop`): its waiter hears why
                started.set_exception(MCPUnavailable("it was stopped while starting"))
        if crashed:
            logger.warning("MCP server %s: the session ended unexpectedly", self.config.name)
            self._failed(self.last_error or "the session ended")

    def _session_expired(self) -> None:
        self._expired = True

    def _gone(self) -> None:
        """The session is gone (closed, or no longer known to an HTTP server): the next request
        starts a new one."""
        self._expired = False
        self._closed.set()

    def _lost(self) -> str:
        """What the model reads when the session ended under a call."""
        name = self.config.name
        if self.config.is_stdio:
            return f"MCP server {name} stopped during the call; it is restarted for the next one."
        return (
            f"The connection to MCP server {name} ended during the call; the next one reconnects."
        )

    async def _on_message(self, message: IncomingMessage) -> None:
        if isinstance(message, types.ToolListChangedNotification):
            self._stale = True  # the next listing asks again
        elif isinstance(message, Exception):
            logger.warning("MCP server %s: %s", self.config.name, self._describe(message))

    def _failed(self, error: str) -> None:
        self.failures += 1
        self.last_error = error
        self.state = "retired" if self._retired else "backoff"
        delay = backoff(self.failures)
        self._retry_at = asyncio.get_running_loop().time() + delay
        logger.warning(
            "MCP server %s failed (%s); next start in %.0f s", self.config.name, error, delay
        )
        idle = self._restarter is None or self._restarter.done()
        if self._ran and not self._retired and self.failures <= MAX_RESTARTS and idle:
            self._restarter = asyncio.create_task(
                self._restart(delay), name=f"mcp:{self.config.name}:restart"
            )

    async def _restart(self, delay: float) -> None:
        """Start the server again after `delay`, so the next call finds it running."""
        await asyncio.sleep(delay)
        self._restarter = None  # a failure of this start schedules the next try
        with contextlib.suppress(MCPUnavailable):
            await self.session()

    def _describe(self, exc: BaseException) -> str:
        while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
            exc = exc.exceptions[0]
        text = str(exc).rstrip(".") or type(exc).__name__
        return self.mask(text)[:300]

    def mask(self, text: str) -> str:
        """`text` with the values this server was given (tokens, keys) masked."""
        for secret in self.config.secrets():
            text = text.replace(secret, MASK)
        return text

    async def _end_owner(self, *, cancel: bool = False) -> None:
        self._closed.set()
        owner, self._owner = self._owner, None
        if owner is None:
            return
        if cancel:  # a start that hangs never sees `_closed`; the SDK still stops the process
            owner.cancel()
        done, _ = await asyncio.wait([owner], timeout=STOP_GRACE)
        if not done:
            owner.cancel()
            await asyncio.wait([owner], timeout=STOP_GRACE)

    async def stop(self) -> None:
        """Stop the session for good (its process too); the connection never starts again."""
        self._retired, self.state = True, "retired"
        restarter, self._restarter = self._restarter, None
        if restarter is not None:
            restarter.cancel()
            await asyncio.wait([restarter])
        # A session not up yet never sees `_closed`: its start is cancelled instead.
        await self._end_owner(cancel=self._session is None)
        if self._after is not None:  # stopped once its predecessor has: a chain never overlaps
            await asyncio.wait([self._after])

    # --- requests ---------------------------------------------------------------------

    async def tools(self) -> tuple[RemoteTool, ...]:
        """The server's tools, listed once per session (again after `list_changed`). While
        the server cannot be reached: the last listing (its tools then fail when called), or
        none if it was never listed."""
        self.last_used = asyncio.get_running_loop().time()
        try:
            session = await self.session()
        except MCPUnavailable as exc:
            logger.info("%s", exc)
            return self._listing or ()
        if self._listing is not None and self._listed_by is session and not self._stale:
            return self._listing
        self._stale = False
        try:
            listing = await self._list(session)
        except (MCPError, TimeoutError, OSError, ExceptionGroup) as exc:
            if isinstance(exc, MCPError) and (exc.code == types.CONNECTION_CLOSED or self._expired):
                self._gone()  # the next turn lists on a new session
            logger.warning("Listing the tools of MCP server %s failed: %s", self.config.name, exc)
            return self._listing or ()
        if listing != self._listing:  # equal listings keep their objects: the same specs
            self._listing = listing
        self._listed_by = session
        return self._listing

    async def _list(self, session: ClientSession) -> tuple[RemoteTool, ...]:
        found: list[RemoteTool] = []
        cursor: str | None = None
        async with asyncio.timeout(self.config.timeout):
            for _ in range(MAX_PAGES):
                params = types.PaginatedRequestParams(cursor=cursor) if cursor else None
                page = await session.list_tools(params=params)
                found += [
                    RemoteTool(t.name, t.description or "", t.input_schema) for t in page.tools
                ]
                cursor = page.next_cursor
                if not cursor:
                    break
        return tuple(sorted(found, key=lambda t: t.name))

    async def call(self, tool: str, arguments: dict[str, Any]) -> CallResult:
        """Call `tool`. Raises MCPUnavailable (not running, or it stopped during the call),
        MCPTimeout, or MCPRefused (the server answered with an error). A call an HTTP server
        refused because it no longer knew the session never ran: it is sent once more, on a
        new session."""
        self.last_used = asyncio.get_running_loop().time()
        for attempt in (1, 2):
            session = await self.session()
            try:
                async with asyncio.timeout(self.config.timeout):
                    result = await session.call_tool(tool, arguments)
                break
            except TimeoutError:
                name = self.config.tool_name(tool)
                raise MCPTimeout(f"{name} took longer than {self.config.timeout:g} s.") from None
            except MCPError as exc:
                expired = self._expired
                if exc.code == types.CONNECTION_CLOSED or expired:
                    self._gone()
                    if expired and attempt == 1:
                        continue
                    raise MCPUnavailable(self._lost()) from None
                raise MCPRefused(self.mask(exc.message)) from None
            except (OSError, httpx2.HTTPError, ExceptionGroup) as exc:
                self._gone()
                raise MCPUnavailable(
                    f"MCP server {self.config.name} failed during the call: {self._describe(exc)}"
                ) from None
        self.failures = 0
        if not isinstance(result, types.CallToolResult):
            return CallResult(f"[unexpected {type(result).__name__} from the server]", True)
        return CallResult(self.mask(text_of(result)), result.is_error)
