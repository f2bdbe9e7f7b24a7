"""`ChatModel` for Anthropic's Messages API through the anthropic SDK (`AsyncAnthropic`): the
prompt translated at this edge (`agents.anthropic_format`), the streamed events turned into ours
(text, tool input, the mapped stop reason, usage with the prompt cache's reads and writes).
Thinking blocks are never yielded."""

import asyncio
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

    def read(self, usage: Any) -> None:
        if usage is None:
            return
        self.input = getattr(usage, "input_tokens", None) or self.input
        self.output = getattr(usage, "output_tokens", None) or self.output
        self.cache_read = getattr(usage, "cache_read_input_tokens", None) or self.cache_read
        self.cache_write = getattr(usage, "cache_creation_input_tokens", None) or self.cache_write

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
            import httpx2  # loaded with the client

            timeout = httpx2.Timeout(settings.timeout, read=settings.idle_timeout)
            params = request_params(messages, settings, tools)
            # Until the answer's headers: `timeout`; then each read: `idle_timeout`.
            async with asyncio.timeout(settings.timeout):
                stream = await client.messages.create(**params, timeout=timeout)
            answered = True
            async with stream:
                async for event in stream:
                    kind = event.type
                    if kind == "content_block_delta":
                        delta = event.delta
                        if delta.type == "text_delta":
                            yield TextDelta(delta.text)
                        elif delta.type == "input_json_delta" and event.index in tool_index:
                            index = tool_index[event.index]
                            yield ToolCallDelta(index, None, None, delta.partial_json)
                    elif kind == "content_block_start":
                        block = event.content_block
                        if block.type == "tool_use":
                            index = tool_index[event.index] = len(tool_index)
                            yield ToolCallDelta(index, block.id, block.name, "")
                        elif block.type == "text" and block.text:
                            yield TextDelta(block.text)
                    elif kind == "message_start":
                        counts.read(event.message.usage)
                    elif kind == "message_delta":
                        counts.read(event.usage)
                        stop = event.delta.stop_reason or stop
                    elif kind == "message_stop":
                        break
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
