"""`run_turn`: the only code that calls the model and runs tools. One turn: context → streamed
model call → tool rounds (bounded) → final answer, every entry persisted, events out as they
happen. The model, the tools and the event sink are passed in, so tests hand it fakes.
"""

import asyncio
import contextlib
import functools
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from django.conf import settings

from agents import usage as usage_service
from agents.compaction import compact
from agents.context import History, PromptInputs, build_messages, estimate_tokens, fixed_tokens
from agents.failover import PartialStream, RetryPolicy, stream_with_failover
from agents.llm import ChatModel as ChatModel
from agents.llm import Finished, ModelError, ModelSettings, TextDelta, ToolCallDelta
from agents.model_chain import model_chain
from agents.models import agent_zone
from agents.replyfilter import ReplyFilter
from agents.skills import offered_skills
from agents.toolrunner import CallAssembler, ToolCall, run_calls
from agents.tools.base import Tool, ToolContext
from agents.transcripts import (
    Entry,
    TranscriptWriteError,
    Usage,
    append_entries_async,
    make_entry,
    read_entries_async,
)
from agents.trust import turn_trust
from agents.turn import TurnOutcome, TurnRequest
from agents.turn_events import EventSink, TurnEvents
from agents.turn_inputs import DiskRead, add_usage, measured_spec, working_memory, write_and_read
from memory import services as memory
from openclaw.perf import offload

logger = logging.getLogger(__name__)

ZERO: Usage = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
LAST_ROUND_NOTE = "Tool budget for this turn is spent: answer now with what you have."


class _Turn:
    def __init__(
        self, request: TurnRequest, model: ChatModel, sink: EventSink, tools: Sequence[Tool]
    ) -> None:
        self.request, self.model, self.sink, self.tools = request, model, sink, list(tools)
        self.session = request.session
        self.trust = turn_trust(
            request.host.trust, self.session.key, is_group=self.session.is_group
        )
        # The owner's memory (MEMORY.md, the notes that open a session) goes to the owner's
        # sessions only, and to groups whose agent opted in; never to a paired stranger.
        agent = self.session.agent
        self.sees_memory = self.trust == "owner" or (
            self.trust == "group" and agent.memory_in_groups
        )
        self.path = Path(self.session.transcript)
        self.ids = {"run": request.run_id, "session": self.session.key}
        self.chain = model_chain(self.session)
        self.answered_by = self.chain[0].model  # until a fallback answers (`_on_answer`)
        self.parts: list[str] = []
        self.usage: Usage = dict(ZERO)  # type: ignore[assignment]  # a fresh copy
        self.last_prompt: tuple[int, int] = (0, 0)  # (estimated, reported) of the last call
        self.compacted = False
        self.silent = False
        self.round_start = 0  # index in `parts` where the current round's text begins
        # User messages not yet on disk: written first by the next append or model call.
        self.pending: list[Entry] = []
        # No clock in the prompt: user messages carry their own entry's time, in this zone.
        self.zone = agent_zone(self.session.agent.timezone)
        measured = [measured_spec(t) for t in self.tools]
        self.specs = [spec for spec, _ in measured]
        self.spec_tokens = sum(tokens for _, tokens in measured)
        self.events = TurnEvents(sink, self.ids)

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
            if not self.events.ended:  # after the answer went out there is nothing to abort
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
        if self.events.ended:
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
        await self.events.emit("chat.error", {"code": code, "message": message, "partial": partial})
        return TurnOutcome(partial, "error", self.usage, ModelError(code, message))

    async def _run(self) -> TurnOutcome:
        agent = self.session.agent
        if agent.daily_token_budget:
            budget = agent.daily_token_budget
            if refusal := await offload.database(usage_service.budget_refusal, agent.slug, budget):
                raise ModelError("budget_exhausted", refusal)
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
        if not self.path.exists() and self.sees_memory:
            notes = await offload.database(
                memory.session_start_context,
                self.session.agent.slug,
                settings.OPENCLAW_MEMORY_SESSION_START_CHARS,
            )
            if notes:
                entries.append(make_entry("context", content=notes))
        entries += [said.entry(self.request.run_id) for said in self.request.said]
        self.pending += entries

    async def _read(self) -> DiskRead:
        pending, self.pending = self.pending, []  # see `append`
        return await offload.files(
            write_and_read,
            self.path,
            pending,
            Path(self.session.agent.workspace),
            fsync=settings.OPENCLAW_TRANSCRIPT_FSYNC,
        )

    async def _inputs(self, disk: DiskRead) -> PromptInputs:
        agent = self.session.agent
        working = None
        if self.sees_memory:
            working = await working_memory(agent.slug, disk.memory_version)
        return PromptInputs(
            agent_name=agent.name,
            instructions=agent.instructions,
            files=disk.files,
            file_cap=settings.OPENCLAW_BOOTSTRAP_FILE_CHARS,
            total_cap=settings.OPENCLAW_BOOTSTRAP_TOTAL_CHARS,
            memory=working,
            skills=offered_skills(disk.skills, agent.skills_allow, agent.skills_deny, self.tools),
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
        system_tokens = fixed_tokens(inputs)
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
            await self.events.emit(
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
                    on_answer=self._on_answer,
                ):
                    if isinstance(event, TextDelta):
                        if out := reply.feed(event.text):
                            self.parts.append(out)
                            self.events.delta(out)
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
                self.events.hold(out)
            self.events.stream_ended()
            self.usage = add_usage(self.usage, finished.usage)
            if finished.usage:
                self.last_prompt = (self.last_prompt[0], finished.usage["prompt_tokens"])
            self.silent = reply.silent
            return reply.text, assembler.finish(self.request.run_id, 0), finished
        raise AssertionError("unreachable")  # pragma: no cover

    def _on_answer(self, settings_: ModelSettings) -> None:
        self.answered_by = settings_.model  # usage and cost go to the model that answered

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
        outcomes = await run_calls(calls, self.tools, ctx, self.events.emit)
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
            await self.events.emit(
                "chat.final", {"text": shown, "usage": self.usage, "stop_reason": stop_reason}
            )
        finally:
            await asyncio.shield(bookkeeping)
        return TurnOutcome(shown, stop_reason, self.usage)

    def _record_usage(self, **details: Any) -> Callable[[], object]:
        """The turn's usage bookkeeping, to run in the database thread."""
        return functools.partial(
            usage_service.record_turn, self.session.pk, self.answered_by, self.usage, **details
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
        await self.events.emit(
            "chat.error", {"code": error.code, "message": error.message, "partial": partial}
        )
        return TurnOutcome(partial, "error", self.usage, error)


async def run_turn(
    request: TurnRequest, model: ChatModel, sink: EventSink, tools: Sequence[Tool] = ()
) -> TurnOutcome:
    """Run one turn to its end. Model failures become `chat.error` (never raised); on
    cancellation the partial answer is persisted as aborted, then the cancellation propagates."""
    return await _Turn(request, model, sink, tools).run()
