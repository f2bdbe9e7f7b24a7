"""The only importer of `openai`: streamed chat completions against any OpenAI-compatible API.

`ChatModel` is the interface the loop depends on; `OpenAIChatModel` implements it with
`AsyncOpenAI`, caching one client (and its connection pool) per provider; `embed` reuses it for
`/v1/embeddings`. Every failure leaves as a `ModelError` with a stable code and a message that
says what to fix.

The SDK is imported at the first call, not at start: it is 0.45 s of CPU and 20 MB of memory
(its types), which an idle gateway does not need (bench/README.md, "Optimisations").
"""

import asyncio
import importlib
import json
import logging
import sys
import weakref
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from agents.transcripts import Usage

if TYPE_CHECKING:
    import openai
    from openai import AsyncOpenAI

logger = logging.getLogger(__name__)


async def _load_sdk() -> None:
    """Import `openai` once, in a worker thread: the event loop keeps serving meanwhile."""
    if "openai" not in sys.modules:
        await asyncio.to_thread(importlib.import_module, "openai")


Message = dict[str, Any]


@dataclass(frozen=True, slots=True)
class ModelSettings:
    model: str
    base_url: str
    api_key: str
    api_key_env: str
    temperature: float | None = None
    max_tokens: int | None = None
    timeout: float = 120.0
    idle_timeout: float = 60.0


@dataclass(frozen=True, slots=True)
class TextDelta:
    text: str


@dataclass(frozen=True, slots=True)
class ToolCallDelta:
    index: int
    id: str | None
    name: str | None
    arguments: str


@dataclass(frozen=True, slots=True)
class Finished:
    stop_reason: str
    usage: Usage | None = None


ModelEvent = TextDelta | ToolCallDelta | Finished


@dataclass
class ModelError(Exception):
    code: str
    message: str
    retryable: bool = False
    status: int | None = field(default=None)
    retry_after: float | None = field(default=None)

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class ChatModel(Protocol):
    """Streams one completion. MUST yield zero or more deltas then exactly one `Finished`,
    or raise `ModelError`. MUST NOT yield reasoning content. Cancellation propagates."""

    def stream(
        self,
        messages: Sequence[Message],
        settings: ModelSettings,
        tools: Sequence[dict[str, Any]] | None = None,
    ) -> AsyncIterator[ModelEvent]: ...


def check_configured(settings: ModelSettings) -> None:
    """Raise a `model_not_configured` error naming what to set, before any network call."""
    if not settings.model:
        raise ModelError(
            "model_not_configured",
            "No model configured: set OPENCLAW_MODEL or the agent's model in the admin.",
        )
    if not settings.base_url and not settings.api_key:
        raise ModelError(
            "model_not_configured",
            f"No API key: set {settings.api_key_env or 'OPENAI_API_KEY'}, or OPENAI_BASE_URL "
            "(or the agent's provider base URL) for a local OpenAI-compatible server.",
        )


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


async def _sse_data(lines: AsyncIterator[str]) -> AsyncIterator[str]:
    """The `data` of each server-sent event (a multi-line field joined with newlines); `event`,
    `id`, `retry` and comment lines carry nothing a chat completion needs."""
    data: list[str] = []
    async for line in lines:
        if not line:
            if data:
                yield "\n".join(data)
                data = []
        elif line.startswith("data:"):
            value = line[5:]
            data.append(value[1:] if value.startswith(" ") else value)
    if data:
        yield "\n".join(data)


def _stream_error(chunk: dict[str, Any]) -> ModelError:
    """An error the provider sent inside the stream, after its 200."""
    error = chunk["error"]
    message = error.get("message") if isinstance(error, dict) else None
    detail = message if isinstance(message, str) and message else "no message"
    return ModelError("model_error", f"The model stream reported an error: {detail}")


def _retry_after(exc: "openai.APIStatusError") -> float | None:
    try:
        return max(float(exc.response.headers.get("retry-after", "")), 0.0)
    except ValueError:  # absent, or an HTTP date we do not bother to parse
        return None


def _translate(exc: Exception, settings: ModelSettings) -> ModelError:
    import openai  # loaded by the call that failed

    where = settings.base_url or "the OpenAI API"
    if isinstance(exc, openai.APITimeoutError):
        return ModelError("timeout", f"The model at {where} did not answer in time.", True)
    if isinstance(exc, openai.APIConnectionError):
        return ModelError(
            "model_unreachable",
            f"Cannot reach the model at {where}: check OPENAI_BASE_URL and that the server runs.",
            True,
        )
    if isinstance(exc, openai.AuthenticationError):
        return ModelError(
            "model_auth", f"{where} refused the API key: check {settings.api_key_env}.", False, 401
        )
    if isinstance(exc, openai.NotFoundError):
        return ModelError(
            "model_error", f"Model {settings.model!r} not found at {where}.", False, 404
        )
    if isinstance(exc, openai.RateLimitError):
        return ModelError(
            "rate_limited", f"{where} is rate limiting requests.", True, 429, _retry_after(exc)
        )
    if isinstance(exc, openai.APIStatusError):
        code = getattr(exc, "code", None)
        if code == "context_length_exceeded":
            return ModelError("context_length", "The conversation is too long for the model.")
        status = exc.status_code
        return ModelError(
            "model_error",
            f"The model API answered HTTP {status}.",
            status >= 500 or status == 408,
            status,
            _retry_after(exc),
        )
    return ModelError(
        "model_error", f"The model returned an unreadable answer ({type(exc).__name__})."
    )


class OpenAIChatModel:
    """`ChatModel` over `openai.AsyncOpenAI`, one cached client per provider settings."""

    def __init__(self) -> None:
        self._clients: dict[tuple[str, str, float], AsyncOpenAI] = {}

    async def _client(self, settings: ModelSettings) -> "AsyncOpenAI":
        key = (settings.base_url, settings.api_key, settings.timeout)
        client = self._clients.get(key)
        if client is None:
            await _load_sdk()
            from openai import AsyncOpenAI

            client = AsyncOpenAI(
                # Local servers (Ollama, vLLM, LM Studio) need no key, but the SDK refuses none.
                api_key=settings.api_key or "no-key-configured",
                base_url=settings.base_url or None,
                timeout=settings.timeout,
                # Retries are ours (agents.failover), so one budget covers every failure.
                max_retries=0,
            )
            self._clients[key] = client
        return client

    async def stream(
        self,
        messages: Sequence[Message],
        settings: ModelSettings,
        tools: Sequence[dict[str, Any]] | None = None,
    ) -> AsyncIterator[ModelEvent]:
        check_configured(settings)
        # Messages and tools travel in `extra_body`, which the SDK sends as they are: its typed
        # path walks every message against its type hints, ~5 ms a call on a long history
        # (bench scenario a). They are plain JSON already; the wire body is the same.
        body: dict[str, Any] = {"messages": list(messages)}
        if tools:
            body["tools"] = list(tools)
        kwargs: dict[str, Any] = {
            "model": settings.model,
            "messages": [],
            "stream": True,
            "stream_options": {"include_usage": True},
            "extra_body": body,
        }
        if settings.temperature is not None:
            kwargs["temperature"] = settings.temperature
        if settings.max_tokens:
            kwargs["max_tokens"] = settings.max_tokens
        stop_reason: str | None = None
        usage: Usage | None = None
        try:
            client = await self._client(settings)
            # The SDK sends the request and turns an error status into its exception; the
            # stream itself is read here as plain JSON: its typed chunk objects cost ~1 ms of
            # CPU a turn (bench/README.md, "Optimisations"), for fields we copy out at once.
            request = client.chat.completions.with_streaming_response.create(**kwargs)
            async with request as response:
                events = _sse_data(response.iter_lines())
                while True:
                    try:
                        async with asyncio.timeout(settings.idle_timeout):
                            data = await anext(events)
                    except StopAsyncIteration:
                        break
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
        except TimeoutError:
            raise ModelError(
                "timeout", f"The model sent nothing for {settings.idle_timeout:g} s.", True
            ) from None
        except ModelError:
            raise
        except Exception as exc:  # SDK, transport and parse errors all end here, translated
            logger.debug("Model call failed", exc_info=True)
            raise _translate(exc, settings) from exc
        if stop_reason is None:
            raise ModelError("model_error", "The model stream ended without finishing.", True)
        yield Finished(stop_reason, usage)

    async def embed(self, texts: Sequence[str], settings: ModelSettings) -> list[list[float]]:
        """One vector per text, in order, from the provider's `/v1/embeddings`."""
        check_configured(settings)
        if not texts:
            return []
        try:
            client = await self._client(settings)
            response = await client.embeddings.create(
                model=settings.model, input=list(texts), encoding_format="float"
            )
            vectors = [list(d.embedding) for d in sorted(response.data, key=lambda d: d.index)]
        except Exception as exc:  # SDK, transport and parse errors all end here, translated
            logger.debug("Embeddings call failed", exc_info=True)
            raise _translate(exc, settings) from exc
        if len(vectors) != len(texts):
            raise ModelError(
                "model_error",
                f"The embeddings API returned {len(vectors)} vectors for {len(texts)} texts.",
            )
        return vectors


# A client's connection pool belongs to the event loop that made it, so the module-level
# `embed` keeps one client cache per loop (the gateway has one; tests and commands make more).
_embedders: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, OpenAIChatModel] = (
    weakref.WeakKeyDictionary()
)


async def embed(texts: Sequence[str], settings: ModelSettings) -> list[list[float]]:
    """Embeddings from an OpenAI-compatible endpoint (`settings.model` is the embedding model).
    Raises `ModelError` like chat calls do."""
    loop = asyncio.get_running_loop()
    model = _embedders.get(loop)
    if model is None:
        model = _embedders[loop] = OpenAIChatModel()
    return await model.embed(texts, settings)
