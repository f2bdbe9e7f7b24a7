"""The model's client: streamed chat completions against any OpenAI-compatible API.

`ChatModel` is the interface the loop depends on; `OpenAIChatModel` implements it with one
aiohttp POST to `/chat/completions` per call, read as server-sent events, over one connection
pool per event loop (`agents.llm_http`): the openai SDK's request path cost ~2 ms of CPU a call
more, the largest cost of a turn. `embed` still goes through the SDK (this module is its only
importer), off the hot path. Every failure leaves as a `ModelError` with a stable code and a
message that says what to fix.

aiohttp and the SDK are imported at first use, in a worker thread: the SDK is 0.45 s of CPU and
20 MB of memory (its types), aiohttp ~0.2 s, which an idle gateway does not need.
"""

import asyncio
import json
import logging
import weakref
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from agents import llm_http
from agents.transcripts import Usage

if TYPE_CHECKING:
    import aiohttp
    from openai import AsyncOpenAI

logger = logging.getLogger(__name__)

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


class _SSEData:
    """`async for data in _SSEData(lines)`: the `data` of each server-sent event (a multi-line
    field joined with newlines); `event`, `id`, `retry` and comment lines carry nothing a chat
    completion needs. A class, not an async generator (see `llm_http.Lines`)."""

    def __init__(self, lines: AsyncIterator[str]) -> None:
        self.lines = lines
        self.data: list[str] = []
        self.ended = False

    def __aiter__(self) -> "_SSEData":
        return self

    async def __anext__(self) -> str:
        data = self.data
        while not self.ended:
            try:
                line = await anext(self.lines)
            except StopAsyncIteration:
                self.ended = True
                break
            if not line:
                if data:
                    self.data = []
                    return "\n".join(data)
            elif line.startswith("data:"):
                value = line[5:]
                data.append(value[1:] if value.startswith(" ") else value)
        if data:
            self.data = []
            return "\n".join(data)
        raise StopAsyncIteration


def _stream_error(chunk: dict[str, Any]) -> ModelError:
    """An error the provider sent inside the stream, after its 200."""
    error = chunk["error"]
    message = error.get("message") if isinstance(error, dict) else None
    detail = message if isinstance(message, str) and message else "no message"
    return ModelError("model_error", f"The model stream reported an error: {detail}")


def _retry_after(headers: Mapping[str, str]) -> float | None:
    try:
        return max(float(headers.get("retry-after", "")), 0.0)
    except ValueError:  # absent, or an HTTP date we do not bother to parse
        return None


def _status_error(
    status: int, headers: Mapping[str, str], code: str | None, settings: ModelSettings
) -> ModelError:
    """An error status (and the error body's `code`), in the order the SDK's exception classes
    were tested: 401, 404 and 429 by status first, then a context-length code, then the rest."""
    where = settings.base_url or "the OpenAI API"
    if status == 401:
        return ModelError(
            "model_auth", f"{where} refused the API key: check {settings.api_key_env}.", False, 401
        )
    if status == 404:
        return ModelError(
            "model_error", f"Model {settings.model!r} not found at {where}.", False, 404
        )
    if status == 429:
        retry_after = _retry_after(headers)
        return ModelError(
            "rate_limited", f"{where} is rate limiting requests.", True, 429, retry_after
        )
    if code == "context_length_exceeded":
        return ModelError("context_length", "The conversation is too long for the model.")
    return ModelError(
        "model_error",
        f"The model API answered HTTP {status}.",
        status >= 500 or status == 408,
        status,
        _retry_after(headers),
    )


def _timed_out(settings: ModelSettings) -> ModelError:
    where = settings.base_url or "the OpenAI API"
    return ModelError("timeout", f"The model at {where} did not answer in time.", True)


def _unreachable(settings: ModelSettings) -> ModelError:
    where = settings.base_url or "the OpenAI API"
    return ModelError(
        "model_unreachable",
        f"Cannot reach the model at {where}: check OPENAI_BASE_URL and that the server runs.",
        True,
    )


def _unreadable(exc: Exception) -> ModelError:
    return ModelError(
        "model_error", f"The model returned an unreadable answer ({type(exc).__name__})."
    )


def _translate(exc: Exception, settings: ModelSettings) -> ModelError:
    """An openai SDK exception (embeddings) as a `ModelError`."""
    import openai  # loaded by the call that failed

    if isinstance(exc, openai.APITimeoutError):
        return _timed_out(settings)
    if isinstance(exc, openai.APIConnectionError):
        return _unreachable(settings)
    if isinstance(exc, openai.APIStatusError):
        return _status_error(exc.status_code, exc.response.headers, exc.code, settings)
    return _unreadable(exc)


def _failure(exc: Exception, settings: ModelSettings, answered: bool) -> ModelError:
    """A transport or parse failure of a chat call, with the outcome the SDK's exceptions had:
    before the answer's headers, a timeout or an unreachable server (both retryable); after,
    the idle timeout, a read timeout, or an unreadable answer (a cut stream, a garbage line)."""
    import aiohttp  # loaded by the call that failed

    if isinstance(exc, TimeoutError):
        if not answered or isinstance(exc, aiohttp.ServerTimeoutError):
            return _timed_out(settings)
        return ModelError(
            "timeout", f"The model sent nothing for {settings.idle_timeout:g} s.", True
        )
    if not answered and isinstance(exc, aiohttp.ClientError | OSError):
        return _unreachable(settings)
    return _unreadable(exc)


def _dumps(value: Any) -> str:
    # As httpx encoded the SDK's body: UTF-8 as is, compact, no NaN.
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


# ids of a call's tool specs → (the specs, kept so their ids stay theirs; their JSON). The specs
# are built once per tool and never modified (`agents.loop._measured_spec`), so their JSON is
# the same for every call: 4 KB, 33 µs of CPU a call to encode again.
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
    """`ChatModel` over aiohttp, one connection pool per event loop; embeddings over
    `openai.AsyncOpenAI`, one cached client per provider settings.

    A pool belongs to the loop that made it (the gateway has one; tests and commands run
    several in turn). `aclose()` SHOULD be awaited on each loop that streamed, before it ends;
    a loop ended by `asyncio.run` closes its pool anyway."""

    def __init__(self) -> None:
        self._clients: dict[tuple[str, str, float], AsyncOpenAI] = {}
        self._pools = llm_http.Pools()

    async def aclose(self) -> None:
        """Close the running loop's connections. The model stays usable: a later call on this
        loop opens a new pool."""
        await self._pools.aclose()

    async def _client(self, settings: ModelSettings) -> "AsyncOpenAI":
        key = (settings.base_url, settings.api_key, settings.timeout)
        client = self._clients.get(key)
        if client is None:
            await llm_http.load("openai")
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
                    raise _status_error(response.status, response.headers, code, settings)
                # Read as plain JSON: typed chunk objects cost ~1 ms of CPU a turn
                # (bench/README.md, "Optimisations"), for fields we copy out at once.
                events = llm_http.IdleReads(
                    _SSEData(llm_http.Lines(response.content)), settings.idle_timeout
                )
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
