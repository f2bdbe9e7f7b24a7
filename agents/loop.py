"""`run_turn`: the only code that calls the model and runs tools. One turn: context → streamed
model call → tool rounds (bounded) → final answer, every entry persisted, events out as they
happen. The model, the tools and the event sink are passed in, so tests hand it fakes.
"""

import asyncio
import contextlib
import functools
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from django.conf import settings

from agents import usage as usage_service
from agents.compaction import compact
from agents.context import History, PromptInputs, build_messages, estimate_tokens
from agents.failover import PartialStream, RetryPolicy, stream_with_failover
from agents.host import TurnHost
from agents.llm import ChatModel as ChatModel
from agents.llm import Finished, ModelError, ModelSettings, TextDelta, ToolCallDelta
from agents.models import agent_zone
from agents.replyfilter import ReplyFilter
from agents.services import AgentConfig, SessionRef
from agents.toolrunner import CallAssembler, ToolCall, run_calls
from agents.tools.base import Tool, ToolContext, tool_spec
from agents.transcripts import (
    Entry,
    TranscriptWriteError,
    Usage,
    append_entries,
    append_entries_async,
    make_entry,
    read_entries,
    read_entries_async,
)
from agents.workspace import WorkspaceFile, read_bootstrap_files
from memory import services as memory
from openclaw.perf import offload

logger = logging.getLogger(__name__)

ZERO: Usage = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
LAST_ROUND_NOTE = "Tool budget for this turn is spent: answer now with what you have."


class EventSink(Protocol):
    """Receives a turn's events in order. MUST NOT raise for a listener that went away."""

    async def emit(self, event: str, data: dict[str, Any]) -> None: ...


@dataclass(frozen=True, slots=True)
class Said:
    """A user message for a turn, and who sent it when the chat has several people ("" in a
    private chat): the model reads the name in the message's stamp (`context.stamp`)."""

    text: str
    sender: str = ""

    def entry(self, run_id: str, **meta: Any) -> Entry:
        """Its transcript entry (`meta`: more to note on it)."""
        if self.sender:
            meta["sender"] = self.sender
        return make_entry("message", role="user", content=self.text, run=run_id, meta=meta or None)


@dataclass
class Steering:
    """Messages that arrive while a turn runs (queue mode `steer`): read before each model call."""

    said: list[Said] = field(default_factory=list)

    def take(self) -> list[Said]:
        taken, self.said = self.said, []
        return taken


@dataclass(frozen=True, slots=True)
class TurnRequest:
    run_id: str
    session: SessionRef
    said: tuple[Said, ...]
    channel: str = "web"
    steering: Steering | None = None
    host: TurnHost = field(default_factory=TurnHost)


@dataclass(frozen=True, slots=True)
class TurnOutcome:
    text: str
    stop_reason: str
    usage: Usage | None
    error: ModelError | None = None


def model_chain(session: SessionRef) -> list[ModelSettings]:
    """The session's model, then the agent's fallbacks, as call settings."""
    return agent_model_chain(session.agent, session.model)


def agent_model_chain(agent: AgentConfig, model: str) -> list[ModelSettings]:
    """`model`, then the agent's fallbacks, as call settings (also for calls outside a session,
    such as nightly curation)."""
    specs: list[dict[str, str]] = [{"model": model}]
    for item in agent.fallback_models:
        specs.append({"model": item} if isinstance(item, str) else dict(item))
    chain = []
    for spec in specs:
        key_env = spec.get("api_key_env") or agent.api_key_env
        chain.append(
            ModelSettings(
                model=spec["model"],
                base_url=spec.get("base_url") or agent.base_url,
                api_key=settings.OPENCLAW_PROVIDER_KEYS.get(key_env, ""),
                api_key_env=key_env,
                temperature=agent.temperature,
                max_tokens=agent.max_output_tokens,
                timeout=settings.OPENCLAW_MODEL_TIMEOUT,
                idle_timeout=settings.OPENCLAW_STREAM_IDLE_TIMEOUT,
            )
        )
    return chain


def _add(total: Usage, more: Usage | None) -> Usage:
    if more is None:
        return total
    merged: Usage = {
        "prompt_tokens": total["prompt_tokens"] + more["prompt_tokens"],
        "completion_tokens": total["completion_tokens"] + more["completion_tokens"],
        "total_tokens": total["total_tokens"] + more["total_tokens"],
    }
    cached = total.get("cached_tokens", 0) + more.get("cached_tokens", 0)
    if cached:
        merged["cached_tokens"] = cached
    return merged


# agent slug → ((mtime_ns, size) of MEMORY.md, content as the memory app last gave it)
_memory_seen: dict[str, tuple[tuple[int, int], str]] = {}


def _version(path: Path) -> tuple[int, int]:
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return (0, -1)
    return (info.st_mtime_ns, info.st_size)


@dataclass(frozen=True, slots=True)
class _Disk:
    """What a model call reads from disk."""

    files: list[WorkspaceFile]
    memory_version: tuple[int, int]
    entries: list[Entry]


def _write_and_read(
    transcript: Path, pending: list[Entry], workspace: Path, *, fsync: bool
) -> _Disk:
    """Append `pending` to the transcript, then read the bootstrap files, MEMORY.md's version
    and the transcript: the file I/O of a model call in one thread hop, not five."""
    if pending:
        append_entries(transcript, pending, fsync=fsync)
    return _Disk(
        read_bootstrap_files(workspace), _version(workspace / "MEMORY.md"), read_entries(transcript)
    )


async def _working_memory(slug: str, version: tuple[int, int]) -> str:
    """MEMORY.md through the memory app (which syncs a changed file into its row), skipping
    that round trip while the file is unchanged on disk (`version`: its mtime and size)."""
    seen = _memory_seen.get(slug)
    if seen is not None and seen[0] == version:
        return seen[1]
    current: memory.MemoryFile = await offload.database(memory.read_working_memory, slug)
    content = current.content
    _memory_seen[slug] = (version, content)
    return content


# id(tool) → (the tool, kept so its id stays its own; its spec; the spec's estimated tokens)
_specs: dict[int, tuple[Tool, dict[str, Any], int]] = {}


def _measured_spec(tool: Tool) -> tuple[dict[str, Any], int]:
    """A tool's spec and its estimated tokens: the same for every turn and round, so built
    once per tool (callers MUST NOT modify the spec)."""
    known = _specs.get(id(tool))
    if known is None or known[0] is not tool:
        spec = tool_spec(tool)
        known = _specs[id(tool)] = (tool, spec, estimate_tokens(str(spec)))
    return known[1], known[2]


class _Turn:
    def __init__(
        self, request: TurnRequest, model: ChatModel, sink: EventSink, tools: Sequence[Tool]
    ) -> None:
        self.request, self.model, self.sink, self.tools = request, model, sink, list(tools)
        self.session = request.session
        self.path = Path(self.session.transcript)
        self.ids = {"run": request.run_id, "session": self.session.key}
        self.chain = model_chain(self.session)
        self.parts: list[str] = []
        self.usage: Usage = dict(ZERO)  # type: ignore[assignment]  # a fresh copy
        self.last_prompt: tuple[int, int] = (0, 0)  # (estimated, reported) of the last call
        self.compacted = False
        self.silent = False
        self.ended = False  # chat.final or chat.error went out
        self.round_start = 0  # index in `parts` where the current round's text begins
        # User messages not yet on disk: written first by the next append or model call.
        self.pending: list[Entry] = []
        # No clock in the prompt: user messages carry their own entry's time, in this zone.
        self.zone = agent_zone(self.session.agent.timezone)
        measured = [_measured_spec(t) for t in self.tools]
        self.specs = [spec for spec, _ in measured]
        self.spec_tokens = sum(tokens for _, tokens in measured)
        # Streamed text not sent yet (`_delta`), the flush planned for it and the task sending
        # it (kept referenced), and the lock that keeps events in order when both send.
        self.unsent: list[str] = []
        self.flush_soon: asyncio.Handle | None = None
        self.flushing: asyncio.Future[None] | None = None
        self.sending = asyncio.Lock()

    async def emit(self, event: str, data: dict[str, Any]) -> None:
        self.ended = self.ended or event in ("chat.final", "chat.error")
        async with self.sending:
            if event == "chat.final":
                self.unsent.clear()  # the final holds the whole answer
            else:
                await self._send_unsent()
            await self.sink.emit(event, {**self.ids, **data})

    def _delta(self, text: str) -> None:
        """Stream `text`: it goes out in one `chat.delta` with whatever else the model sent
        before the turn next waits on it, so chunks read together make one frame (each frame
        costs the channel layer, the consumer and the socket once), and an answer that arrived
        whole goes out in its `chat.final` alone. Nothing is held back while the model is
        slower than the loop: the flush runs as soon as the turn waits."""
        self.unsent.append(text)
        if self.flush_soon is None:
            self.flush_soon = asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        self.flush_soon = None
        self.flushing = asyncio.ensure_future(self._send_unsent_in_order())

    async def _send_unsent_in_order(self) -> None:
        try:
            async with self.sending:
                await self._send_unsent()
        except Exception:  # a task of its own: nobody else would hear of it
            logger.exception("Run %s: streaming a delta failed", self.request.run_id)

    async def _send_unsent(self) -> None:
        """Send the text streamed so far and not sent yet (the caller holds `sending`)."""
        if self.unsent:
            text = "".join(self.unsent)
            self.unsent.clear()
            await self.sink.emit("chat.delta", {**self.ids, "text": text})

    def _stream_ended(self) -> None:
        """The model call is over: what is unsent goes out with the next event (or is part
        of `chat.final`), not on its own."""
        if self.flush_soon is not None:
            self.flush_soon.cancel()
            self.flush_soon = None

    async def append(self, *entries: Entry) -> None:
        # Taken before the await: a cancelled await still lets the thread write them, and the
        # aborted answer's own append must not write them a second time.
        pending, self.pending = self.pending, []
        await append_entries_async(
            self.path, [*pending, *entries], fsync=settings.OPENCLAW_TRANSCRIPT_FSYNC
        )

    async def run(self) -> TurnOutcome:
        try:
            async with asyncio.timeout(settings.OPENCLAW_RUN_DEADLINE):
                return await self._run()
        except asyncio.CancelledError:
            if not self.ended:  # after the answer went out there is nothing to abort
                await asyncio.shield(self._finish("aborted"))
            raise
        except TimeoutError:
            error = ModelError(
                "timeout", f"The run passed its {settings.OPENCLAW_RUN_DEADLINE:g} s deadline."
            )
            return await self._fail(error)
        except ModelError as error:
            return await self._fail(error)
        except Exception as error:  # the disk or the database, not the model
            return await self._broken(error)

    async def _broken(self, error: Exception) -> TurnOutcome:
        """A failure outside the model (transcript not writable, database busy past its
        timeout): the user hears of it, unless the answer already went out."""
        logger.error("Run %s in %s failed", self.request.run_id, self.session.key, exc_info=error)
        partial = "".join(self.parts)
        if self.ended:
            return TurnOutcome(partial, "stop", self.usage)
        if isinstance(error, TranscriptWriteError):
            code, message = "storage", f"{error.strerror} Nothing was answered; try again later."
        else:
            code, message = "internal", "Internal error; see the gateway log."
            with contextlib.suppress(Exception):  # the error entry is a courtesy here
                meta = {"code": code}
                await self.append(
                    make_entry("error", content=message, run=self.request.run_id, meta=meta)
                )
        await self.emit("chat.error", {"code": code, "message": message, "partial": partial})
        return TurnOutcome(partial, "error", self.usage, ModelError(code, message))

    async def _run(self) -> TurnOutcome:
        agent = self.session.agent
        if agent.daily_token_budget:
            used = await offload.database(usage_service.tokens_used_today, agent.slug)
            if used >= agent.daily_token_budget:
                raise ModelError(
                    "budget_exhausted",
                    f"Agent {agent.slug!r} has used its daily budget of "
                    f"{agent.daily_token_budget:,} tokens; it answers again tomorrow "
                    "(or raise the budget in the admin).",
                )
        await self._open()
        tools = self.tools
        for round_no in range(agent.max_tool_rounds + 1):
            last_round = round_no == agent.max_tool_rounds
            steer = self.request.steering.take() if self.request.steering else []
            self.pending += [said.entry(self.request.run_id) for said in steer]
            messages = await self._messages(tools)
            if last_round and tools:
                messages.append({"role": "system", "content": LAST_ROUND_NOTE})
            text, calls, finished = await self._call(messages, [] if last_round else tools)
            if not calls:
                stop = "length" if finished.stop_reason == "length" else "stop"
                return await self._finish(stop)
            await self._run_tools(text, calls, round_no)
        raise AssertionError("unreachable: the last round offers no tools")  # pragma: no cover

    async def _open(self) -> None:
        """Session start context (first turn only) and the user's message(s) go to disk first
        (with the first model call's reads, or before anything else written)."""
        entries: list[Entry] = []
        if not self.path.exists():
            notes = await offload.database(
                memory.session_start_context,
                self.session.agent.slug,
                settings.OPENCLAW_MEMORY_SESSION_START_CHARS,
            )
            if notes:
                entries.append(make_entry("context", content=notes))
        entries += [said.entry(self.request.run_id) for said in self.request.said]
        self.pending += entries

    async def _read(self) -> _Disk:
        pending, self.pending = self.pending, []  # see `append`
        return await offload.files(
            _write_and_read,
            self.path,
            pending,
            Path(self.session.agent.workspace),
            fsync=settings.OPENCLAW_TRANSCRIPT_FSYNC,
        )

    async def _inputs(self, disk: _Disk) -> PromptInputs:
        agent = self.session.agent
        working = None
        if not self.session.is_group or agent.memory_in_groups:
            working = await _working_memory(agent.slug, disk.memory_version)
        return PromptInputs(
            agent_name=agent.name,
            instructions=agent.instructions,
            files=disk.files,
            file_cap=settings.OPENCLAW_BOOTSTRAP_FILE_CHARS,
            total_cap=settings.OPENCLAW_BOOTSTRAP_TOTAL_CHARS,
            memory=working,
            channel=self.request.channel,
            session_key=self.session.key,
            zone=self.zone,
        )

    def _budget(self, tools: Sequence[Tool]) -> int:
        agent = self.session.agent
        spec_tokens = self.spec_tokens if tools else 0
        ratio = max(self.session.token_ratio, 0.25)
        return int((agent.context_window - agent.max_output_tokens - spec_tokens) / ratio)

    async def _messages(
        self, tools: Sequence[Tool], *, force_compact: bool = False
    ) -> list[dict[str, Any]]:
        disk = await self._read()
        inputs = await self._inputs(disk)
        entries = disk.entries
        budget = self._budget(tools)
        system_tokens = estimate_tokens(inputs.instructions) + sum(
            estimate_tokens(f.content) for f in inputs.files
        )
        history = History.of(entries, self.zone)
        over = force_compact or history.tokens() + system_tokens > budget
        if over and await self._compact(entries):
            history = History.of(await read_entries_async(self.path), self.zone)
        messages = build_messages(inputs, history, budget_tokens=budget)
        estimated = sum(estimate_tokens(m.get("content") or "") for m in messages)
        # The provider counts the tool specs too: so must the estimate it calibrates.
        estimated += self.spec_tokens if tools else 0
        self.last_prompt = (estimated, 0)
        return messages

    async def _compact(self, entries: list[Entry]) -> bool:
        done = await compact(
            agent_slug=self.session.agent.slug,
            transcript=self.path,
            entries=entries,
            keep_turns=settings.OPENCLAW_COMPACTION_KEEP_TURNS,
            model=self.model,
            chain=self.chain,
            run_id=self.request.run_id,
            zone=self.zone,
        )
        if done:
            self.compacted = True
            await self.emit(
                "chat.notice",
                {
                    "text": "Older messages were summarised to fit the model's context; "
                    "notes went to today's memory log."
                },
            )
        return done

    async def _call(
        self, messages: list[dict[str, Any]], tools: Sequence[Tool]
    ) -> tuple[str, list[ToolCall], Finished]:
        specs = self.specs if tools else None
        self.round_start = len(self.parts)
        for attempt in (1, 2):
            del self.parts[self.round_start :]  # a retried call starts its round afresh
            reply, assembler = ReplyFilter(), CallAssembler()
            try:
                finished: Finished | None = None
                async for event in stream_with_failover(
                    self.model,
                    messages,
                    self.chain,
                    specs,
                    policy=RetryPolicy(retries=settings.OPENCLAW_MODEL_MAX_RETRIES),
                    on_fallback=self._on_fallback,
                ):
                    if isinstance(event, TextDelta):
                        if out := reply.feed(event.text):
                            self.parts.append(out)
                            self._delta(out)
                    elif isinstance(event, ToolCallDelta):
                        assembler.add(event)
                    else:
                        finished = event
            except PartialStream:
                if out := reply.finish():
                    self.parts.append(out)
                raise
            except ModelError as error:
                if error.code == "context_length" and attempt == 1 and not self.compacted:
                    messages = await self._messages(tools, force_compact=True)
                    continue
                raise
            assert finished is not None  # noqa: S101  # ChatModel contract
            if out := reply.finish():
                self.parts.append(out)
                self.unsent.append(out)
            self._stream_ended()
            self.usage = _add(self.usage, finished.usage)
            if finished.usage:
                self.last_prompt = (self.last_prompt[0], finished.usage["prompt_tokens"])
            self.silent = reply.silent
            return reply.text, assembler.finish(self.request.run_id, 0), finished
        raise AssertionError("unreachable")  # pragma: no cover

    def _on_fallback(self, settings_: ModelSettings, error: ModelError) -> None:
        logger.warning(
            "Run %s: %s failed (%s); falling back to %s",
            self.request.run_id,
            self.chain[0].model,
            error.code,
            settings_.model,
        )

    async def _run_tools(self, text: str, calls: list[ToolCall], round_no: int) -> None:
        wire = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for c in calls
        ]
        await self.append(
            make_entry(
                "message", role="assistant", content=text, run=self.request.run_id, tool_calls=wire
            )
        )
        ctx = ToolContext(run_id=self.request.run_id, session=self.session, host=self.request.host)
        outcomes = await run_calls(calls, self.tools, ctx, self.emit)
        await self.append(
            *(
                make_entry(
                    "tool_result",
                    content=o.content,
                    run=self.request.run_id,
                    meta={"call_id": o.call.id, "name": o.call.name, "ok": o.ok},
                )
                for o in outcomes
            )
        )

    async def _finish(self, stop_reason: str) -> TurnOutcome:
        text = "".join(self.parts)
        if self.silent and stop_reason != "aborted":
            stop_reason = "no_reply"
        entry = make_entry(
            "message",
            role="assistant",
            content="".join(self.parts[self.round_start :]),
            run=self.request.run_id,
            usage=self.usage,
            stop_reason=stop_reason,
        )
        await self.append(entry)
        shown = "" if stop_reason == "no_reply" else text
        estimated, reported = self.last_prompt
        record = self._record_usage(
            token_ratio=(reported / estimated) if estimated and reported else None,
            title=self.request.said[0].text[:80] if self.request.said else "",
        )
        # The answer is on disk: the bookkeeping starts in the database thread while the answer
        # goes out (the user need not wait on it, and the thread is free sooner).
        self._ended(stop_reason)
        bookkeeping = asyncio.ensure_future(offload.database(record))
        try:
            await self.emit(
                "chat.final", {"text": shown, "usage": self.usage, "stop_reason": stop_reason}
            )
        finally:
            await asyncio.shield(bookkeeping)
        return TurnOutcome(shown, stop_reason, self.usage)

    def _record_usage(self, **details: Any) -> Callable[[], object]:
        """The turn's usage bookkeeping, to run in the database thread."""
        return functools.partial(
            usage_service.record_turn, self.session.pk, self.chain[0].model, self.usage, **details
        )

    def _ended(self, outcome: str) -> None:
        """Tell the host the answer (or error) is in the transcript (`TurnHost.turn_ended`)."""
        if self.request.host.turn_ended is not None:
            self.request.host.turn_ended(outcome)

    async def _fail(self, error: ModelError) -> TurnOutcome:
        logger.warning("Run %s in %s failed: %s", self.request.run_id, self.session.key, error)
        partial = "".join(self.parts)
        entries: list[Entry] = []
        if partial:
            entries.append(
                make_entry(
                    "message",
                    role="assistant",
                    content=partial,
                    run=self.request.run_id,
                    stop_reason="partial",
                )
            )
        entries.append(
            make_entry(
                "error", content=error.message, run=self.request.run_id, meta={"code": error.code}
            )
        )
        await self.append(*entries)
        self._ended("error")
        if self.usage["total_tokens"]:
            await offload.database(self._record_usage())
        await self.emit(
            "chat.error", {"code": error.code, "message": error.message, "partial": partial}
        )
        return TurnOutcome(partial, "error", self.usage, error)


async def run_turn(
    request: TurnRequest, model: ChatModel, sink: EventSink, tools: Sequence[Tool] = ()
) -> TurnOutcome:
    """Run one turn to its end. Model failures become `chat.error` (never raised); on
    cancellation the partial answer is persisted as aborted, then the cancellation propagates."""
    return await _Turn(request, model, sink, tools).run()
