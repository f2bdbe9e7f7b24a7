"""`ChatModel` for any OpenAI-compatible API: one aiohttp POST to `/chat/completions` per call,
read as server-sent events over one connection pool per event loop (`agents.llm_http`), without
the openai SDK's request path."""

import json
import logging
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any

from agents import llm_http
from agents.llm import (
    Finished,
    Message,
    ModelError,
    ModelEvent,
    ModelSettings,
    TextDelta,
    ToolCallDelta,
    check_configured,
)
from agents.llm_errors import status_error, timed_out, unreachable, unreadable
from agents.transcripts import Usage
from openclaw.perf.streams import IdleReads, Lines, SSEData

if TYPE_CHECKING:
    import aiohttp

logger = logging.getLogger(__name__)


def _usage(raw: object) -> Usage | None:
    """A chunk's `usage` object as our `Usage` (None when the chunk has none)."""
    if not isinstance(raw, dict):
        return None
    usage: Usage = {
        "prompt_tokens": int(raw.get("prompt_tokens") or 0),
        "completion_tokens": int(raw.get("completion_tokens") or 0),
        "total_tokens": int(raw.get("total_tokens") or 0),
    }
    details = raw.get("prompt_tokens_details")
    cached = details.get("cached_tokens") if isinstance(details, dict) else None
    if cached:
        usage["cached_tokens"] = int(cached)
    return usage


def _stream_error(chunk: dict[str, Any]) -> ModelError:
    """An error the provider sent inside the stream, after its 200."""
    error = chunk["error"]
    message = error.get("message") if isinstance(error, dict) else None
    detail = message if isinstance(message, str) and message else "no message"
    return ModelError("model_error", f"The model stream reported an error: {detail}")


def _failure(exc: Exception, settings: ModelSettings, answered: bool) -> ModelError:
    """A transport or parse failure of a chat call, with the outcome the SDK's exceptions had:
    before the answer's headers, a timeout or an unreachable server (both retryable); after,
    the idle timeout, a read timeout, or an unreadable answer (a cut stream, a garbage line)."""
    import aiohttp  # loaded by the call that failed

    if isinstance(exc, TimeoutError):
        if not answered or isinstance(exc, aiohttp.ServerTimeoutError):
            return timed_out(settings)
        return ModelError(
            "timeout", f"The model sent nothing for {settings.idle_timeout:g} s.", True
        )
    if not answered and isinstance(exc, aiohttp.ClientError | OSError):
        return unreachable(settings)
    return unreadable(exc)


def _dumps(value: Any) -> str:
    # As httpx encoded the SDK's body: UTF-8 as is, compact, no NaN.
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


# ids of a call's tool specs → (the specs, kept so their ids stay theirs; their JSON). The specs
# are built once per tool and never modified (`agents.turn_inputs.measured_spec`), so their JSON is
# the same for every call: encoded once.
_tools_json: dict[tuple[int, ...], tuple[Sequence[dict[str, Any]], str]] = {}


def _encoded_tools(tools: Sequence[dict[str, Any]]) -> str:
    key = tuple(map(id, tools))
    known = _tools_json.get(key)
    if known is None or any(a is not b for a, b in zip(known[0], tools, strict=True)):
        if len(_tools_json) >= 64:
            _tools_json.clear()
        known = _tools_json[key] = (list(tools), _dumps(list(tools)))
    return known[1]


def _request_body(
    messages: Sequence[Message], settings: ModelSettings, tools: Sequence[dict[str, Any]] | None
) -> bytes:
    """The request's JSON, as `json.dumps` would write the whole body (tools from a cache)."""
    head = {
        "model": settings.model,
        "messages": list(messages),
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    tail: dict[str, Any] = {}
    if settings.temperature is not None:
        tail["temperature"] = settings.temperature
    if settings.max_tokens:
        tail["max_tokens"] = settings.max_tokens
    parts = [_dumps(head)[:-1]]
    if tools:
        parts.append(',"tools":' + _encoded_tools(tools))
    if tail:
        parts.append("," + _dumps(tail)[1:-1])
    parts.append("}")
    return "".join(parts).encode()


class OpenAIChatModel:
    """`ChatModel` over aiohttp, one connection pool per event loop. Every failure leaves as a
    `ModelError` with a stable code and a message that says what to fix.

    A pool belongs to the loop that made it (the gateway has one; tests and commands run
    several in turn). `aclose()` SHOULD be awaited on each loop that streamed, before it ends;
    a loop ended by `asyncio.run` closes its pool anyway."""

    def __init__(self) -> None:
        self._pools = llm_http.Pools()

    async def aclose(self) -> None:
        """Close the running loop's connections. The model stays usable: a later call on this
        loop opens a new pool."""
        await self._pools.aclose()

    async def stream(
        self,
        messages: Sequence[Message],
        settings: ModelSettings,
        tools: Sequence[dict[str, Any]] | None = None,
    ) -> AsyncIterator[ModelEvent]:
        check_configured(settings)
        stop_reason: str | None = None
        usage: Usage | None = None
        response: aiohttp.ClientResponse | None = None
        try:
            session = self._pools.current() or await self._pools.session()
            url, proxy, proxy_headers = llm_http.route(settings.base_url)
            request = session.post(
                url,
                data=_request_body(messages, settings, tools),
                headers={"Authorization": f"Bearer {settings.api_key}"}
                if settings.api_key
                else None,
                timeout=llm_http.timeouts(settings.timeout),
                proxy=proxy,
                proxy_headers=proxy_headers,
            )
            async with request as response:
                if not 200 <= response.status < 300:
                    code, said = await llm_http.error_details(response)
                    # What the provider said goes to the log only (masked by its filter).
                    logger.warning(
                        "Model %s at %s answered HTTP %d: %s",
                        settings.model,
                        settings.base_url or llm_http.OPENAI_API,
                        response.status,
                        said or "(no message)",
                    )
                    raise status_error(response.status, response.headers, code, settings)
                # Read as plain JSON: the fields are copied out at once, typed chunk objects
                # would be built only to be dropped.
                events = IdleReads(SSEData(Lines(response.content)), settings.idle_timeout)
                try:
                    async for data in events:
                        if data.startswith("[DONE]"):
                            break
                        chunk = json.loads(data)
                        if chunk.get("error"):
                            raise _stream_error(chunk)
                        if chunk.get("usage") is not None:
                            usage = _usage(chunk["usage"])
                        for choice in chunk.get("choices") or ():
                            delta = choice.get("delta") or {}
                            if content := delta.get("content"):
                                yield TextDelta(content)
                            for call in delta.get("tool_calls") or ():
                                fn = call.get("function") or {}
                                yield ToolCallDelta(
                                    index=int(call.get("index") or 0),
                                    id=call.get("id"),
                                    name=fn.get("name"),
                                    arguments=fn.get("arguments") or "",
                                )
                            if choice.get("finish_reason"):
                                stop_reason = choice["finish_reason"]
                finally:
                    events.close()
        except ModelError:
            raise
        except Exception as exc:  # transport and parse errors all end here, translated
            logger.debug("Model call failed", exc_info=True)
            raise _failure(exc, settings, response is not None) from exc
        if stop_reason is None:
            raise ModelError("model_error", "The model stream ended without finishing.", True)
        yield Finished(stop_reason, usage)
