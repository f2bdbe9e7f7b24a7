"""Running the tool calls of one model round: assemble streamed call pieces, validate arguments,
run the calls concurrently, cap their output, and report each call as `chat.tool` events.

Failures never escape: bad JSON, unknown or disallowed tools, `ToolError`s, timeouts and bugs all
become a tool result the model reads and can act on.
"""

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from agents.llm import ToolCallDelta
from agents.tools.base import Tool, ToolContext, ToolError
from agents.tools.common import cap_text
from agents.tools.policy import permitted
from openclaw.redact import redact_text

logger = logging.getLogger(__name__)

Emit = Callable[[str, dict[str, Any]], Awaitable[None]]
PREVIEW_CHARS = 200


@dataclass
class ToolCall:
    id: str
    name: str
    arguments: str = ""


@dataclass
class CallAssembler:
    """Collects `ToolCallDelta` pieces (by index) into whole calls."""

    calls: dict[int, ToolCall] = field(default_factory=dict)

    def add(self, delta: ToolCallDelta) -> None:
        call = self.calls.get(delta.index)
        if call is None:
            call = self.calls[delta.index] = ToolCall(delta.id or "", delta.name or "")
        if delta.id and not call.id:
            call.id = delta.id
        if delta.name and not call.name:
            call.name = delta.name
        call.arguments += delta.arguments

    def finish(self, run_id: str, round_no: int) -> list[ToolCall]:
        calls = [self.calls[i] for i in sorted(self.calls)]
        for n, call in enumerate(calls):
            call.id = call.id or f"call_{run_id}_{round_no}_{n}"  # some local servers omit ids
        return calls


@dataclass(frozen=True, slots=True)
class ToolOutcome:
    call: ToolCall
    content: str
    ok: bool


def _preview(text: str) -> str:
    return text if len(text) <= PREVIEW_CHARS else text[:PREVIEW_CHARS] + "…"


async def _run_one(
    call: ToolCall, tools: dict[str, Tool], ctx: ToolContext, emit: Emit
) -> ToolOutcome:
    base = {"run": ctx.run_id, "session": ctx.session.key, "call_id": call.id, "name": call.name}
    await emit("chat.tool", {**base, "status": "running", "args": _preview(call.arguments)})
    content, ok = await _execute(call, tools, ctx)
    # A tool may print a secret (an approved `cat /proc/$PPID/environ`): masked before the model,
    # the transcript or a client sees it.
    content = redact_text(cap_text(content, settings.OPENCLAW_TOOL_OUTPUT_CHARS))
    status = "done" if ok else "error"
    await emit("chat.tool", {**base, "status": status, "result_preview": _preview(content)})
    return ToolOutcome(call, content, ok)


async def _execute(call: ToolCall, tools: dict[str, Tool], ctx: ToolContext) -> tuple[str, bool]:
    tool = tools.get(call.name)
    if tool is None or not permitted(call.name, ctx, tool):
        names = ", ".join(sorted(n for n, t in tools.items() if permitted(n, ctx, t))) or "none"
        return f"Error: no tool named {call.name!r} is available here (available: {names}).", False
    try:
        args = json.loads(call.arguments or "{}")
    except ValueError as exc:
        return f"Error: the arguments are not valid JSON ({exc}). Send a JSON object.", False
    if not isinstance(args, dict):
        return "Error: the arguments must be a JSON object.", False
    try:
        async with asyncio.timeout(settings.OPENCLAW_TOOL_TIMEOUT):
            return await tool.run(args, ctx), True
    except ToolError as exc:
        return f"Error: {exc}", False
    except TimeoutError:
        return f"Error: {call.name} took longer than {settings.OPENCLAW_TOOL_TIMEOUT:g} s.", False
    except Exception:
        logger.exception("Tool %s failed in run %s", call.name, ctx.run_id)
        return f"Error: {call.name} failed unexpectedly; the gateway log has details.", False


async def run_calls(
    calls: Sequence[ToolCall], tools: Sequence[Tool], ctx: ToolContext, emit: Emit
) -> list[ToolOutcome]:
    """Run one round's calls concurrently; results come back in call order."""
    by_name = {tool.name: tool for tool in tools}
    return list(await asyncio.gather(*(_run_one(c, by_name, ctx, emit) for c in calls)))
