"""`ChatModel` for OpenAI's API, Azure OpenAI and every OpenAI-compatible server (Gemini, Ollama,
OpenRouter, vLLM, bare ids), through the openai SDK's streamed chat completions. A parameter the
model rejects (`max_tokens` on a reasoning model, a `temperature`) is dropped or replaced, once,
and remembered for the process."""

import asyncio
import json
import logging
import re
from collections.abc import AsyncIterator, Sequence
from typing import Any

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
from agents.llm_errors import error_body, translate
from agents.providers import Provider, check_configured, is_official, split
from agents.transcripts import Usage

logger = logging.getLogger(__name__)

# (base URL, model) → parameter → its replacement (None: dropped), learnt from the provider's 400s.
_quirks: dict[tuple[str, str], dict[str, str | None]] = {}
# (base URL, model) of models that refused image input: an agent's `auto` sends them text only.
_no_images: set[tuple[str, str]] = set()
_IMAGE_REFUSAL = re.compile(r"image|vision|multimodal|content.?part|image_url", re.IGNORECASE)
_RENAMED = {"max_tokens": "max_completion_tokens", "max_completion_tokens": "max_tokens"}
_NAMED = re.compile(r"[Uu]nsupported (?:parameter|value): '(?P<param>[\w.]+)'")
MAX_ADJUSTMENTS = 3  # distinct parameters one call may shed (max_tokens, temperature, top_p)
# What a model may refuse without changing what the turn means (never its messages or tools).
LEARNABLE = frozenset(
    {"max_tokens", "max_completion_tokens", "temperature", "top_p", "reasoning_effort"}
    | {"stream_options"}
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


def request_params(
    messages: Sequence[Message],
    call: ModelSettings,
    tools: Sequence[dict[str, Any]] | None,
    provider: Provider,
    name: str,
) -> dict[str, Any]:
    """The request's parameters. OpenAI's own API (and Azure's) takes `max_completion_tokens`
    (its reasoning models refuse `max_tokens`); other servers take `max_tokens`."""
    official = is_official(provider, call.base_url)
    params: dict[str, Any] = {
        "model": name,
        "messages": wire_messages(messages, (call.base_url, name) in _no_images),
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    if tools:
        params["tools"] = list(tools)
    if call.temperature is not None:
        params["temperature"] = call.temperature
    if call.max_tokens:
        params["max_completion_tokens" if official else "max_tokens"] = call.max_tokens
    if call.reasoning_effort and (official or provider.effort):
        params["reasoning_effort"] = call.reasoning_effort
    for param, replacement in _quirks.get((call.base_url, name), {}).items():
        if param in params:
            value = params.pop(param)
            if replacement:
                params[replacement] = value
    return params


def wire_messages(messages: Sequence[Message], text_only: bool) -> list[Message]:
    """The messages as sent: a user message with images (`agents.context`) loses its
    `image_input` key, and, for a model that refused images (`text_only`), its image parts when
    the agent's mode is `auto` (its text already names each image)."""
    out: list[Message] = []
    for message in messages:
        mode = message.get("image_input")
        if mode is None:
            out.append(message)
            continue
        sent = {k: v for k, v in message.items() if k != "image_input"}
        if text_only and mode == "auto":
            parts = sent.get("content") or []
            sent["content"] = "".join(str(p.get("text", "")) for p in parts if isinstance(p, dict))
        out.append(sent)
    return out


def learn_images(
    status: int, body: object, messages: Sequence[Message], call: ModelSettings, name: str
) -> bool:
    """Whether a 400 refused the images of `messages` (sent in an agent's `auto` mode); if so
    the model is remembered as taking text only, and True returned (the caller sends the
    request again without them)."""
    auto = any(m.get("image_input") == "auto" for m in messages)
    key = (call.base_url, name)
    if status != 400 or not auto or key in _no_images:
        return False
    _, _, message = error_body(body)
    if not _IMAGE_REFUSAL.search(message):
        return False
    _no_images.add(key)
    logger.info("Model %s refused image input (%s); text notes from now on", call.model, message)
    return True


def learn(status: int, body: object, params: dict[str, Any], call: ModelSettings) -> bool:
    """Whether a 400 names a parameter of `params` the model refuses; if so, the quirk is
    remembered (the parameter dropped, or renamed as the message asks) and True returned."""
    code, param, message = error_body(body)
    named = _NAMED.search(message)
    if param is None and named:
        param = named["param"]
    if status != 400 or param not in params or param not in LEARNABLE:
        return False
    if code not in ("unsupported_parameter", "unsupported_value") and not named:
        return False
    quirks = _quirks.setdefault((call.base_url, str(params["model"])), {})
    if param in quirks or any(param == r for r in quirks.values()):
        return False  # tried already: the model refuses the replacement too
    value_refused = code == "unsupported_value" or message.startswith("Unsupported value")
    replacement = None if value_refused else _RENAMED.get(param)
    quirks[param] = replacement
    logger.info(
        "Model %s refused %r (%s); %s from now on",
        call.model,
        param,
        message[:200],
        f"sending {replacement!r}" if replacement else "leaving it out",
    )
    return True


def _raise_if_error(chunk: dict[str, Any], event: str | None, response: Any) -> None:
    """An error the provider sent inside the stream, raised as the SDK's stream raises it: an
    `APIError` with the error object as its body (an Assistants `thread.` event is exempt)."""
    if not chunk.get("error") or (event or "").startswith("thread."):
        return
    import openai  # loaded with the client

    error = chunk["error"]
    message = error.get("message") if isinstance(error, dict) else None
    if not message or not isinstance(message, str):
        message = "An error occurred during streaming"
    raise openai.APIError(message=message, request=response.request, body=error)


def _stream_error(exc: Exception) -> ModelError | None:
    """An error the provider sent inside the stream, after its 200 (the SDK raises `APIError`)."""
    import openai  # loaded with the client

    if isinstance(exc, openai.APIError) and not isinstance(
        exc, openai.APIStatusError | openai.APIConnectionError
    ):
        _, _, message = error_body(exc.body)
        detail = message or exc.message or "no message"
        return ModelError("model_error", f"The model stream reported an error: {detail}")
    return None


class OpenAIChatModel:
    """`ChatModel` over the openai SDK (`AsyncOpenAI`, `AsyncAzureOpenAI`), one client per
    provider, base URL and key on each event loop (`agents.llm_clients`). Every failure leaves as
    a `ModelError` with a stable code and a message that says what to fix. `aclose()` SHOULD be
    awaited on each loop that streamed, before it ends."""

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
        provider = check_configured(settings)
        _, name = split(settings.model)
        stop_reason: str | None = None
        usage: Usage | None = None
        answered = False
        try:
            client = await self._clients.openai(provider.api, settings)
            import httpx2  # loaded with the client
            import openai

            from openclaw.perf import sse  # imports httpx2: loaded with the SDK

            timeout = httpx2.Timeout(settings.timeout, read=settings.idle_timeout)
            # Without a key, no Authorization header at all (a local server needs none).
            headers = None if settings.api_key else {"Authorization": openai.Omit()}
            for attempt in range(MAX_ADJUSTMENTS + 1):
                params = request_params(messages, settings, tools, provider, name)
                try:
                    # Until the answer's headers: `timeout`; then each read: `idle_timeout`.
                    async with asyncio.timeout(settings.timeout):
                        # `chat.completions.create` without its type-driven walk over every
                        # message and tool spec, and the answer read as the events they are
                        # rather than through the SDK's stream objects (bench/README.md, "SDK
                        # request path"): the request, auth, timeouts and errors stay the SDK's.
                        response = await client.post(
                            "/chat/completions",
                            body=params,
                            cast_to=httpx2.Response,
                            stream=True,
                            options={"timeout": timeout, "headers": headers or {}},
                        )
                    break
                except openai.BadRequestError as exc:
                    learnt = learn(400, exc.body, params, settings) or learn_images(
                        400, exc.body, messages, settings, name
                    )
                    if attempt == MAX_ADJUSTMENTS or not learnt:
                        raise
            answered = True
            try:
                events = sse.read_events(
                    response,
                    lambda request: openai.APITimeoutError(request=request),
                    lambda request: openai.APIConnectionError(request=request),
                )
                async for event in events:
                    if event.data.startswith("[DONE]"):
                        await sse.drain(events)
                        break
                    chunk = json.loads(event.data)
                    if not isinstance(chunk, dict):
                        continue
                    _raise_if_error(chunk, event.event, response)
                    if chunk.get("usage") is not None:
                        usage = _usage(chunk["usage"])
                    for choice in chunk.get("choices") or ():
                        delta = choice.get("delta") or {}
                        if content := delta.get("content"):
                            yield TextDelta(content)
                        for tool_call in delta.get("tool_calls") or ():
                            fn = tool_call.get("function") or {}
                            yield ToolCallDelta(
                                index=int(tool_call.get("index") or 0),
                                id=tool_call.get("id"),
                                name=fn.get("name"),
                                arguments=fn.get("arguments") or "",
                            )
                        if choice.get("finish_reason"):
                            stop_reason = choice["finish_reason"]
            finally:
                await response.aclose()
        except ModelError:
            raise
        except Exception as exc:  # SDK, transport and parse errors all end here, translated
            logger.debug("Model call failed", exc_info=True)
            error = _stream_error(exc) or translate(exc, settings, answered)
            if error.detail:  # the provider's own words, masked, for the operator's log
                logger.warning("Model %s: %s", settings.model, error.message)
            raise error from exc
        if stop_reason is None:
            raise ModelError("model_error", "The model stream ended without finishing.", True)
        yield Finished(stop_reason, usage)
