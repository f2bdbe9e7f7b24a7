"""exec: run a shell command in the agent's workspace with a clean environment and a time limit.

Off unless the turn's host says `exec_enabled` (per-agent policy decides).
Each command gets its own process group, killed as a whole on timeout and when the command ends.
"""

import asyncio
import contextlib
import os
import signal
import subprocess
from typing import Any

from django.conf import settings

from agents.tools.base import ToolContext, ToolError
from agents.tools.common import int_arg, str_arg

# Set by the gateway when the agent requires approval: asks an operator, returns the verdict.
DEFAULT_TIMEOUT = 30
MAX_TIMEOUT = 300
MAX_COMMAND_CHARS = 20_000


def command_env(workspace: str) -> dict[str, str]:
    """The whole environment a command sees: nothing from the gateway's (no keys, no tokens)."""
    return {
        "PATH": str(settings.OPENCLAW_EXEC_PATH),
        "HOME": workspace,
        "LANG": "C.UTF-8",
        "TERM": "dumb",
    }


class _Output:
    """Combined output kept as its first and last halves of `limit` bytes, counting the rest:
    the start says what ran, the end usually holds the error."""

    def __init__(self, limit: int) -> None:
        self.half = max(1, limit // 2)
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0

    def feed(self, chunk: bytes) -> None:
        self.total += len(chunk)
        room = self.half - len(self.head)
        if room > 0:
            self.head += chunk[:room]
            chunk = chunk[room:]
        if chunk:
            self.tail += chunk
            del self.tail[: max(0, len(self.tail) - self.half)]

    def text(self) -> str:
        head = self.head.decode("utf-8", "replace")
        tail = self.tail.decode("utf-8", "replace")
        omitted = self.total - len(self.head) - len(self.tail)
        if omitted <= 0:
            return head + tail
        return f"{head}\n[... {omitted} bytes of output omitted ...]\n{tail}"


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


class _Protocol(asyncio.SubprocessProtocol):
    # Process.wait() also waits for stdout to close, which a background child can hold open
    # for ever; the protocol hears about the shell's exit and the pipe's closing separately.
    def __init__(self, output: _Output) -> None:
        self.output = output
        self.exited = asyncio.Event()
        self.closed = asyncio.Event()

    def pipe_data_received(self, fd: int, data: bytes | str) -> None:
        self.output.feed(data.encode() if isinstance(data, str) else data)

    def process_exited(self) -> None:
        self.exited.set()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed.set()


async def run_command(command: str, cwd: str, limit_seconds: int, cap: int) -> str:
    """Run `command` with /bin/sh; the output (capped) and exit code, or ToolError on timeout."""
    output = _Output(cap)
    loop = asyncio.get_running_loop()
    try:
        transport, protocol = await loop.subprocess_exec(
            lambda: _Protocol(output),
            "/bin/sh",
            "-c",
            command,
            cwd=cwd,
            env=command_env(cwd),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so killpg reaches every child
        )
    except OSError as exc:
        raise ToolError(f"Cannot start the command: {exc.strerror or exc}.") from None
    timed_out = False
    try:
        async with asyncio.timeout(limit_seconds):
            await protocol.exited.wait()
    except TimeoutError:
        timed_out = True
    finally:
        # Also after a normal exit or a cancellation: background children must not outlive
        # the call. Their death closes the pipe; a process that escaped the group (setsid)
        # may keep it open, so the output gets a moment to arrive, then the pipe is dropped.
        _kill_group(transport.get_pid())
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(1.0):
                await protocol.exited.wait()
                await protocol.closed.wait()
        transport.close()
    text = output.text().rstrip("\n") or "(no output)"
    if timed_out:
        raise ToolError(
            f"Timed out after {limit_seconds} s; the command and its children were killed. "
            f"Output so far:\n{text}"
        )
    code = transport.get_returncode() or 0
    status = f"killed by signal {-code}" if code < 0 else f"exit code {code}"
    return f"[{status}]\n{text}"


class ExecTool:
    name = "exec"
    description = (
        "Run a shell command in the workspace; returns exit code and output. "
        "timeout: seconds (max 300)."
    )
    parameters: dict[str, Any] = {
        "type": "object",
        "properties": {"command": {"type": "string"}, "timeout": {"type": "integer"}},
        "required": ["command"],
    }

    async def run(self, args: dict[str, Any], ctx: ToolContext) -> str:
        # The loop only offers exec to agents whose policy enables it; refuse here as well.
        if ctx.host.exec_enabled is not True:
            raise ToolError("exec is disabled for this agent.")
        command = str_arg(args, "command")
        if not command.strip():
            raise ToolError("The command is empty.")
        if len(command) > MAX_COMMAND_CHARS or "\x00" in command:
            raise ToolError(f"The command must be under {MAX_COMMAND_CHARS} characters, no NUL.")
        seconds = int_arg(args, "timeout", DEFAULT_TIMEOUT, low=1, high=MAX_TIMEOUT)
        approve = ctx.host.approve_exec
        if approve is not None:
            verdict = await approve(command)
            if verdict != "approved":
                raise ToolError(f"The operator's approval for this command was {verdict}; not run.")
        cap = int(settings.OPENCLAW_TOOL_OUTPUT_CHARS)
        return await run_command(command, str(ctx.workspace), seconds, cap)
