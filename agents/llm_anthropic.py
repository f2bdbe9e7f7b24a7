"""`ChatModel` for Anthropic's Messages API through the anthropic SDK (`AsyncAnthropic`): the
prompt translated at this edge (`agents.anthropic_format`), the streamed events turned into ours
(text, tool input, the mapped stop reason, usage with the prompt cache's reads and writes).
Thinking blocks are never yielded."""

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Sequence
from typing import Any

from agents import anthropic_format
from agents.llm import (
    Finished,
    Message,
    ModelError,
    ModelEvent,
    ModelSettings,
    TextDelta,
    ToolCallDelta,
)
from agents.llm_clients import Clients
from agents.llm_errors import translate
from agents.providers import check_configured, split
from agents.transcripts import Usage

logger = logging.getLogger(__name__)

DEFAULT_MAX_TOKENS = 4096  # Anthropic requires a limit; the agent's is used when set


def request_params(
    messages: Sequence[Message], call: ModelSettings, tools: Sequence[dict[str, Any]] | None
) -> dict[str, Any]:
    _, name = split(call.model)
    system, turns = anthropic_format.messages(messages)
    params: dict[str, Any] = {
        "model": name,
        "messages": turns,
        "max_tokens": call.max_tokens or DEFAULT_MAX_TOKENS,
        "stream": True,
    }
    if system:
        params["system"] = system
    if tools:
        params["tools"] = anthropic_format.tools(tools)
    if call.temperature is not None:
        params["temperature"] = min(call.temperature, 1.0)  # Anthropic's range is 0..1
    return params


class _Counts:
    """Usage as the events report it: input and cache counts at the start, output at the end."""

    def __init__(self) -> None:
        self.input = self.output = self.cache_read = self.cache_write = 0

    def read(self, usage: object) -> None:
        if not isinstance(usage, dict):
            return
        self.input = usage.get("input_tokens") or self.input
        self.output = usage.get("output_tokens") or self.output
        self.cache_read = usage.get("cache_read_input_tokens") or self.cache_read
        self.cache_write = usage.get("cache_creation_input_tokens") or self.cache_write

    def usage(self) -> Usage:
        # Anthropic counts cached input apart; ours (as OpenAI's) includes it in the prompt.
        prompt = self.input + self.cache_read + self.cache_write
        usage: Usage = {
            "prompt_tokens": prompt,
            "completion_tokens": self.output,
            "total_tokens": prompt + self.output,
        }
        if self.cache_read:
            usage["cached_tokens"] = self.cache_read
        if self.cache_write:
            usage["cache_creation_tokens"] = self.cache_write
        return usage


def _stream_error(client: Any, data: str, response: Any) -> Exception:
    """An `error` event inside the stream, as the SDK's stream raises it (its status error for
    the error's type: `overloaded_error` mid-answer is an `OverloadedError`)."""
    body: object = data
    try:
        body = json.loads(data)
        message = f"{body}"
    except ValueError:
        message = data or f"Error code: {response.status_code}"
    error: Exception = client._make_status_error(message, body=body, response=response)
    return error


class AnthropicChatModel:
    """`ChatModel` over `AsyncAnthropic`, one client per base URL and key on each event loop.
    Every failure leaves as a `ModelError` (429 `rate_limited` with its retry-after, 529
    `overloaded`, both retryable). `aclose()` SHOULD be awaited on each loop that streamed."""

    def __init__(self, clients: Clients | None = None) -> None:
        self._clients = clients or Clients()

    async def aclose(self) -> None:
        await self._clients.aclose()

    async def stream(
        self,
        messages: Sequence[Message],
        settings: ModelSettings,
        tools: Sequence[dict[str, Any]] | None = None,
    ) -> AsyncIterator[ModelEvent]:
        check_configured(settings)
        counts = _Counts()
        stop: str | None = None
        answered = False
        tool_index: dict[int, int] = {}  # Anthropic's block index → our tool call index
        try:
            client = await self._clients.anthropic(settings)
            import anthropic
            import httpx2  # loaded with the client

            from openclaw.perf import sse  # imports httpx2: loaded with the SDK

            timeout = httpx2.Timeout(settings.timeout, read=settings.idle_timeout)
            params = request_params(messages, settings, tools)
            # Until the answer's headers: `timeout`; then each read: `idle_timeout`.
            async with asyncio.timeout(settings.timeout):
                # `messages.create`'s request, its events read as they are rather than through
                # the SDK's stream objects (as in agents.llm_openai): the request, auth,
                # timeouts and errors stay the SDK's.
                response = await client.post(
                    "/v1/messages",
                    body=params,
                    cast_to=httpx2.Response,
                    stream=True,
                    options={"timeout": timeout},
                )
            answered = True
            try:
                events = sse.read_events(
                    response,
                    lambda request: anthropic.APITimeoutError(request=request),
                    lambda request: anthropic.APIConnectionError(request=request),
                )
                async for sent in events:
                    if sent.event is None or sent.event == "ping":
                        continue
                    if sent.event == "error":
                        raise _stream_error(client, sent.data, response)
                    if not sent.data:
                        continue
                    event = json.loads(sent.data)
                    if not isinstance(event, dict):
                        continue
                    kind = event.get("type")
                    if kind == "content_block_delta":
                        delta = event.get("delta") or {}
                        if delta.get("type") == "text_delta":
                            yield TextDelta(str(delta.get("text") or ""))
                        elif delta.get("type") == "input_json_delta" and (
                            event.get("index") in tool_index
                        ):
                            piece = str(delta.get("partial_json") or "")
                            yield ToolCallDelta(tool_index[event["index"]], None, None, piece)
                    elif kind == "content_block_start":
                        block = event.get("content_block") or {}
                        if block.get("type") == "tool_use":
                            index = tool_index[event.get("index", -1)] = len(tool_index)
                            yield ToolCallDelta(index, block.get("id"), block.get("name"), "")
                        elif block.get("type") == "text" and block.get("text"):
                            yield TextDelta(str(block["text"]))
                    elif kind == "message_start":
                        counts.read((event.get("message") or {}).get("usage"))
                    elif kind == "message_delta":
                        counts.read(event.get("usage"))
                        stop = (event.get("delta") or {}).get("stop_reason") or stop
                    elif kind == "message_stop":
                        await sse.drain(events)  # the connection goes back to the pool
                        break
            finally:
                await response.aclose()
        except ModelError:
            raise
        except Exception as exc:  # SDK, transport and parse errors all end here, translated
            logger.debug("Model call failed", exc_info=True)
            error = translate(exc, settings, answered)
            if error.detail:
                logger.warning("Model %s: %s", settings.model, error.message)
            raise error from exc
        if stop is None:
            raise ModelError("model_error", "The model stream ended without finishing.", True)
        yield Finished(anthropic_format.stop_reason(stop), counts.usage())
