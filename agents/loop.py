"""`run_turn`: the only code that calls the model. One turn: context → streamed model call →
persisted transcript entries → events out. The model and the event sink are passed in.
"""

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from channels.db import database_sync_to_async
from django.conf import settings

from agents import services
from agents.context import PromptInputs, build_messages
from agents.llm import ChatModel, Finished, ModelError, ModelSettings, TextDelta
from agents.services import SessionRef
from agents.transcripts import Entry, Usage, append_entries_async, make_entry, read_entries_async
from agents.workspace import read_bootstrap_files

logger = logging.getLogger(__name__)


class EventSink(Protocol):
    """Receives a turn's events in order. MUST NOT raise for a listener that went away."""

    async def emit(self, event: str, data: dict[str, Any]) -> None: ...


@dataclass(frozen=True, slots=True)
class TurnRequest:
    run_id: str
    session: SessionRef
    text: str
    channel: str = "web"
    sender: str = ""


@dataclass(frozen=True, slots=True)
class TurnOutcome:
    text: str
    stop_reason: str
    usage: Usage | None
    error: ModelError | None = None


def model_settings(session: SessionRef) -> ModelSettings:
    agent = session.agent
    return ModelSettings(
        model=agent.model,
        base_url=agent.base_url,
        api_key=settings.OPENCLAW_PROVIDER_KEYS.get(agent.api_key_env, ""),
        api_key_env=agent.api_key_env,
        temperature=agent.temperature,
        max_tokens=agent.max_output_tokens,
        timeout=settings.OPENCLAW_MODEL_TIMEOUT,
        max_retries=settings.OPENCLAW_MODEL_MAX_RETRIES,
    )


async def _prepare(request: TurnRequest) -> list[dict[str, Any]]:
    session = request.session
    history, files = await asyncio.gather(
        read_entries_async(Path(session.transcript)),
        asyncio.to_thread(read_bootstrap_files, Path(session.agent.workspace)),
    )
    inputs = PromptInputs(
        agent_name=session.agent.name,
        instructions=session.agent.instructions,
        files=files,
        file_cap=settings.OPENCLAW_BOOTSTRAP_FILE_CHARS,
        now=datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        channel=request.channel,
        session_key=session.key,
        sender=request.sender,
    )
    return build_messages(
        inputs,
        history,
        request.text,
        context_window=session.agent.context_window,
        output_reserve=session.agent.max_output_tokens,
    )


async def run_turn(request: TurnRequest, model: ChatModel, sink: EventSink) -> TurnOutcome:
    """Run one turn to its end. Never raises for model failures (they become `chat.error`);
    on cancellation the partial answer is persisted as aborted, then the cancellation propagates.
    """
    session = request.session
    path = Path(session.transcript)
    ids = {"run": request.run_id, "session": session.key}
    fsync = settings.OPENCLAW_TRANSCRIPT_FSYNC
    messages = await _prepare(request)
    await append_entries_async(
        path,
        [make_entry("message", role="user", content=request.text, run=request.run_id)],
        fsync=fsync,
    )
    parts: list[str] = []
    try:
        async with asyncio.timeout(settings.OPENCLAW_RUN_DEADLINE):
            finished: Finished | None = None
            async for event in model.stream(messages, model_settings(session)):
                if isinstance(event, TextDelta):
                    parts.append(event.text)
                    await sink.emit("chat.delta", {**ids, "text": event.text})
                elif isinstance(event, Finished):
                    finished = event
    except asyncio.CancelledError:
        await asyncio.shield(_finish(request, sink, "".join(parts), "aborted", None))
        raise
    except TimeoutError:
        error = ModelError(
            "timeout", f"The run exceeded its {settings.OPENCLAW_RUN_DEADLINE:g} s deadline."
        )
        return await _fail(request, sink, "".join(parts), error)
    except ModelError as error:
        return await _fail(request, sink, "".join(parts), error)
    assert finished is not None  # noqa: S101  # ChatModel contract: a stream ends with Finished
    stop = "length" if finished.stop_reason == "length" else "stop"
    return await _finish(request, sink, "".join(parts), stop, finished.usage)


async def _finish(
    request: TurnRequest, sink: EventSink, text: str, stop_reason: str, usage: Usage | None
) -> TurnOutcome:
    entry: Entry = make_entry(
        "message",
        role="assistant",
        content=text,
        run=request.run_id,
        usage=usage,
        stop_reason=stop_reason,
    )
    await append_entries_async(
        Path(request.session.transcript), [entry], fsync=settings.OPENCLAW_TRANSCRIPT_FSYNC
    )
    await database_sync_to_async(services.record_turn)(
        request.session.pk, usage, title=request.text[:80]
    )
    final_usage = usage or {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
    await sink.emit(
        "chat.final",
        {
            "run": request.run_id,
            "session": request.session.key,
            "text": text,
            "usage": final_usage,
            "stop_reason": stop_reason,
        },
    )
    return TurnOutcome(text, stop_reason, usage)


async def _fail(
    request: TurnRequest, sink: EventSink, partial: str, error: ModelError
) -> TurnOutcome:
    logger.warning("Run %s in %s failed: %s", request.run_id, request.session.key, error)
    entries: list[Entry] = []
    if partial:
        entries.append(
            make_entry(
                "message",
                role="assistant",
                content=partial,
                run=request.run_id,
                stop_reason="error",
            )
        )
    entries.append(
        make_entry("error", content=error.message, run=request.run_id, meta={"code": error.code})
    )
    await append_entries_async(
        Path(request.session.transcript), entries, fsync=settings.OPENCLAW_TRANSCRIPT_FSYNC
    )
    await sink.emit(
        "chat.error",
        {
            "run": request.run_id,
            "session": request.session.key,
            "code": error.code,
            "message": error.message,
        },
    )
    return TurnOutcome(partial, "error", None, error)
