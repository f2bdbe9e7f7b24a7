"""The terminal chat client (`manage.py chat`): where the running gateway is, and a small
WebSocket client of its protocol (docs/protocol.md)."""

import asyncio
import contextlib
import itertools
import json
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlencode

import websockets
from django.conf import settings
from websockets.asyncio.client import ClientConnection

from gateway.lock import running_gateway

AUTH_REFUSED = 4401
SERVICE_RESTART = 4012  # the gateway is restarting (see consumers.CLOSE_SERVICE_RESTART)
# Binding to every interface is listening, not an address to dial.
_WILDCARD_BINDS = {"", "0.0.0.0", "::", "[::]"}  # noqa: S104


def dial_address(bind: str, port: int) -> str:
    """The http address a client on this host dials for a gateway bound to `bind`:`port`."""
    host = "127.0.0.1" if bind in _WILDCARD_BINDS else bind
    host = f"[{host}]" if ":" in host and not host.startswith("[") else host
    return f"http://{host}:{port}"


def gateway_address() -> str:
    """The running gateway's address as its lock file names it (any port), else the configured
    OPENCLAW_BIND and OPENCLAW_PORT."""
    holder = running_gateway(Path(settings.OPENCLAW_HOME) / "gateway.lock")
    if holder is not None and holder.address.startswith(("http://", "https://")):
        return holder.address.rstrip("/")
    return dial_address(settings.OPENCLAW_BIND, settings.OPENCLAW_PORT)


def default_ws_url() -> str:
    return "ws" + gateway_address().removeprefix("http") + "/ws/gateway/"


def readyz_url() -> str:
    return gateway_address() + "/readyz"


def chat_link(token: str) -> str:
    """The web chat's address with the token in the fragment (`#token=…`): the page takes it
    from there and clears it, and a fragment never reaches a server or its logs. Behind a
    proxy (OPENCLAW_PUBLIC_URL) the address browsers use, else the gateway's own."""
    base = settings.OPENCLAW_PUBLIC_URL.rstrip("/") or gateway_address()
    return f"{base}/#{urlencode({'token': token})}"


def printable(text: str) -> str:
    """Server text minus control characters other than newline and tab: model output and tool
    previews are untrusted and must not drive the terminal with escape sequences."""
    return "".join(c if c.isprintable() or c in "\n\t" else "?" for c in text)


_STOP_NOTES = {"aborted": "[aborted]", "length": "[cut short: output token limit reached]"}


class ChatFailed(Exception):
    """The connection could not be used; the message is for the user."""


class ChatClient:
    """One WebSocket connection to the gateway that sends messages and prints their runs.

    Not thread-safe; every coroutine runs on one event loop. `exchange` returns True when the run
    ended with `chat.final`, False on `chat.error` or an error response. Raises ChatFailed when
    the gateway cannot be reached or closes the socket."""

    def __init__(self, url: str, token: str, out: TextIO, err: TextIO) -> None:
        self.url, self.token, self.out, self.err = url, token, out, err
        self._ids = itertools.count(1)
        self._ws: ClientConnection | None = None
        self._run: str | None = None  # the run being streamed, for Ctrl-C
        self._active = False  # between chat.send and the end of its run
        self._abort_wanted = False
        self._streamed = ""  # the text of this run's deltas, printed as they came
        self._at_line_start = True
        self._dim = out.isatty()

    async def connect(self) -> None:
        try:
            self._ws = await websockets.connect(
                self.url,
                additional_headers={"Authorization": f"Bearer {self.token}"},
                open_timeout=5,
            )
        except (OSError, TimeoutError) as exc:
            raise ChatFailed(
                f"Cannot connect to {self.url} ({exc}): is the gateway running? (manage.py gateway)"
            ) from None
        except websockets.InvalidURI:
            raise ChatFailed(f"Not a WebSocket URL: {self.url}") from None
        except websockets.InvalidHandshake as exc:
            raise ChatFailed(f"The gateway at {self.url} refused the connection: {exc}") from None

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()

    async def exchange(self, text: str, params: dict[str, str]) -> bool:
        self._run, self._abort_wanted, self._streamed = None, False, ""
        self._active = True  # before sending, so a Ctrl-C right away still aborts the run
        early: list[dict[str, Any]] = []  # events may precede the response (protocol §3)
        try:
            request_id = await self._request("chat.send", {"text": text, **params})
            while True:
                frame = await self._recv()
                if frame.get("type") == "res" and frame.get("id") == request_id:
                    if not frame.get("ok"):
                        self._error(frame.get("error") or {})
                        return False
                    self._run = str(frame["result"]["run"])
                    if self._abort_wanted:
                        await self.abort()
                    for event in early:
                        if (done := self._show(event)) is not None:
                            return done
                elif frame.get("type") == "event":
                    if self._run is None:
                        early.append(frame)
                    elif (done := self._show(frame)) is not None:
                        return done
        finally:
            self._run, self._active = None, False

    async def abort(self) -> None:
        """Abort the run being streamed (Ctrl-C); before its id is known, abort once it is."""
        if not self._active:
            return
        self._abort_wanted = True
        if self._run is not None:
            await self._request("chat.abort", {"run": self._run})

    @property
    def streaming(self) -> bool:
        return self._active

    @property
    def abort_requested(self) -> bool:
        return self._abort_wanted

    def _show(self, frame: dict[str, Any]) -> bool | None:
        """Print one event of our run; True/False when it ended the run, else None."""
        data = frame.get("data") or {}
        if data.get("run") != self._run:
            return None  # another client's run in this session
        event = frame.get("event")
        if event == "chat.delta":
            text = str(data.get("text", ""))
            self._streamed += text
            self._write(text)
        elif event == "chat.final":
            # The final holds the whole answer: print what the deltas did not bring (all of it
            # for commands and answers that arrived at once, the tail otherwise).
            text = str(data.get("text") or "")
            if text.startswith(self._streamed):
                self._write(text[len(self._streamed) :])
            self._line_break()
            if data.get("stop_reason") in _STOP_NOTES:
                self._note(_STOP_NOTES[data["stop_reason"]])
            return True
        elif event == "chat.error":
            self._line_break()
            partial = " (partial answer above)" if data.get("partial") else ""
            self.err.write(
                printable(f"error [{data.get('code')}]: {data.get('message')}{partial}") + "\n"
            )
            return False
        elif event == "chat.tool":
            detail = data.get("args") if data.get("status") == "running" else ""
            self._note(f"[tool {data.get('name')} {data.get('status')}] {detail or ''}")
        elif event == "chat.notice":
            self._note(f"[{data.get('text', '')}]")
        return None  # unknown events are ignored (protocol §3)

    def _note(self, text: str) -> None:
        self._line_break()
        line = printable(text.replace("\n", " ")).strip()[:200]
        self.out.write(f"\x1b[2m{line}\x1b[0m\n" if self._dim else line + "\n")
        self.out.flush()

    def _write(self, text: str) -> None:
        if text:
            self.out.write(printable(text))
            self.out.flush()
            self._at_line_start = text.endswith("\n")

    def _line_break(self) -> None:
        if not self._at_line_start:
            self._write("\n")

    def _error(self, error: dict[str, Any]) -> None:
        self.err.write(printable(f"error [{error.get('code')}]: {error.get('message')}") + "\n")

    @property
    def _socket(self) -> ClientConnection:
        if self._ws is None:
            raise RuntimeError("ChatClient.connect() first")
        return self._ws

    async def _request(self, method: str, params: dict[str, str]) -> str:
        request_id = f"c{next(self._ids)}"
        frame = {"type": "req", "id": request_id, "method": method, "params": params}
        try:
            await self._socket.send(json.dumps(frame))
        except websockets.ConnectionClosed as exc:
            raise self._closed(exc) from None
        return request_id

    async def _recv(self) -> dict[str, Any]:
        try:
            raw = await self._socket.recv()
        except websockets.ConnectionClosed as exc:
            raise self._closed(exc) from None
        value = json.loads(raw)
        return value if isinstance(value, dict) else {}

    def _closed(self, exc: websockets.ConnectionClosed) -> ChatFailed:
        code = exc.rcvd.code if exc.rcvd is not None else None
        if code == AUTH_REFUSED:
            return ChatFailed(
                f"The gateway at {self.url} closed the connection (4401): token refused. "
                "Set OPENCLAW_GATEWAY_TOKEN to the gateway's token."
            )
        if code == SERVICE_RESTART:
            return ChatFailed(f"The gateway at {self.url} is shutting down (4012); try again soon.")
        return ChatFailed(f"The gateway at {self.url} closed the connection (code {code}).")


async def run_once(client: ChatClient, text: str, params: dict[str, str]) -> bool:
    await client.connect()
    try:
        with _ctrl_c_aborts(client):
            return await client.exchange(text, params)
    finally:
        await client.close()


async def run_interactive(
    client: ChatClient, params: dict[str, str], stdin: TextIO, prompt: bool
) -> None:
    """Send each stdin line until EOF (Ctrl-D)."""
    await client.connect()
    loop = asyncio.get_running_loop()
    lines: asyncio.Queue[str | None] = asyncio.Queue()

    def read_stdin() -> None:
        # A daemon thread, not to_thread(): a readline blocked at exit must not hold the process.
        for line in stdin:
            loop.call_soon_threadsafe(lines.put_nowait, line)
        loop.call_soon_threadsafe(lines.put_nowait, None)

    threading.Thread(target=read_stdin, name="chat-stdin", daemon=True).start()
    try:
        with _ctrl_c_aborts(client):
            while True:
                if prompt:
                    client.out.write("> ")
                    client.out.flush()
                line = await lines.get()
                if line is None:
                    break
                if line.strip():
                    await client.exchange(line.rstrip("\n"), params)
    finally:
        await client.close()


@contextlib.contextmanager
def _ctrl_c_aborts(client: ChatClient) -> Iterator[None]:
    """Ctrl-C while a run streams asks the gateway to abort it (the run still ends with its
    `chat.final`, so the answer so far is shown); Ctrl-C at the prompt, or a second time,
    cancels the current task, which the command turns into a quiet exit."""
    loop = asyncio.get_running_loop()
    main = asyncio.current_task()
    aborts: set[asyncio.Task[None]] = set()  # the loop keeps only weak references to tasks

    def on_interrupt() -> None:
        if client.streaming and not client.abort_requested:
            task = loop.create_task(client.abort())
            aborts.add(task)
            task.add_done_callback(aborts.discard)
        elif main is not None:
            main.cancel()

    loop.add_signal_handler(signal.SIGINT, on_interrupt)
    try:
        yield
    finally:
        loop.remove_signal_handler(signal.SIGINT)
