"""How the SDKs' failures (openai's and anthropic's alike) become `ModelError`s: an error status
with the provider's own message and its `Retry-After`, a timeout, an unreachable server, an
unreadable answer. Each message says what the provider said, then what to fix."""

import sys
from collections.abc import Mapping
from typing import Any

from agents.llm import ModelError, ModelSettings
from agents.providers import BARE, Provider, split
from openclaw.redact import redact_text

DETAIL_CHARS = 300


def retry_after(headers: Mapping[str, str]) -> float | None:
    try:
        return max(float(headers.get("retry-after", "")), 0.0)
    except ValueError:  # absent, or an HTTP date we do not bother to parse
        return None


def where(call: ModelSettings) -> str:
    provider, _ = split(call.model)
    if provider is BARE:
        return call.base_url or "the OpenAI API"
    return provider.label if not call.base_url else f"{provider.label} at {call.base_url}"


def error_body(body: object) -> tuple[str | None, str | None, str]:
    """An error body's (code or type, param, message): OpenAI's `{"error": {...}}`, Anthropic's
    `{"type": "error", "error": {"type", "message"}}`, or the object itself."""
    error = body.get("error", body) if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return None, None, str(body or "")[:DETAIL_CHARS] if isinstance(body, str) else ""
    code = error.get("code") or error.get("type")
    param = error.get("param")
    message = error.get("message")
    return (
        None if code is None else str(code),
        None if param is None else str(param),
        str(message or ""),
    )


def _said(message: str) -> str:
    text = redact_text(" ".join(message.split()))
    return text if len(text) <= DETAIL_CHARS else text[: DETAIL_CHARS - 1] + "…"


def status_error(
    status: int, headers: Mapping[str, str], body: object, call: ModelSettings
) -> ModelError:
    """An error status: what the provider said (status and message), then our fix."""
    provider, name = split(call.model)
    code, param, message = error_body(body)
    detail = _said(message)
    head = f"{where(call)} answered HTTP {status}" + (f": {detail}" if detail else ".")
    head = head if head.endswith((".", "…", "!", "?")) else head + "."
    wait = retry_after(headers)
    if status == 401 or status == 403:
        key = call.api_key_env or provider.key_env
        fix = f"Check {key}: it must hold a valid key for {_label(provider, call)}."
        return ModelError("model_auth", f"{head} {fix}", False, status, None, detail)
    if status == 404:
        fix = f"Model {name!r} was not found: check the model id (and the base URL)."
        return ModelError("model_error", f"{head} {fix}", False, status, None, detail)
    if status == 429 or code == "rate_limit_error":
        fix = "Rate limited or out of quota: wait, or check the plan and the key's limits."
        return ModelError("rate_limited", f"{head} {fix}", True, status, wait, detail)
    if status == 529 or code == "overloaded_error":
        fix = "The provider is overloaded: retried, then the fallback models are tried."
        return ModelError("overloaded", f"{head} {fix}", True, status, wait, detail)
    if code == "context_length_exceeded" or "prompt is too long" in message:
        return ModelError(
            "context_length", "The conversation is too long for the model.", False, status
        )
    if code in ("unsupported_parameter", "unsupported_value") and param:
        fix = f"The model rejected `{param}`: change the agent's settings for this model."
        return ModelError("unsupported_parameter", f"{head} {fix}", False, status, None, detail)
    retryable = status >= 500 or status == 408
    return ModelError("model_error", head, retryable, status, wait, detail)


def _label(provider: Provider, call: ModelSettings) -> str:
    return provider.label if provider is not BARE else (call.base_url or "the OpenAI API")


def timed_out(call: ModelSettings) -> ModelError:
    return ModelError("timeout", f"The model at {where(call)} did not answer in time.", True)


def unreachable(call: ModelSettings) -> ModelError:
    provider, _ = split(call.model)
    setting = provider.url_setting or "the base URL"
    return ModelError(
        "model_unreachable",
        f"Cannot reach the model at {where(call)}: check {setting} (or the agent's base URL) "
        "and that the server runs.",
        True,
    )


def unreadable(exc: Exception) -> ModelError:
    return ModelError(
        "model_error", f"The model returned an unreadable answer ({type(exc).__name__})."
    )


def _classes(name: str) -> tuple[type[BaseException], ...]:
    """`name` from each SDK already loaded (neither is imported just to test an error)."""
    found = []
    for module in ("openai", "anthropic", "httpx2"):
        loaded = sys.modules.get(module)
        cls = getattr(loaded, name, None) if loaded is not None else None
        if isinstance(cls, type) and issubclass(cls, BaseException):
            found.append(cls)
    return tuple(found)


def translate(exc: Exception, call: ModelSettings, answered: bool = False) -> ModelError:
    """An SDK or transport exception as a `ModelError`. `answered`: the stream had started, so a
    read timeout means the model went silent mid-answer."""
    if isinstance(exc, ModelError):
        return exc
    if isinstance(exc, _classes("APIStatusError")):
        response: Any = getattr(exc, "response", None)
        headers = response.headers if response is not None else {}
        body = getattr(exc, "body", None)
        return status_error(int(getattr(exc, "status_code", 0)), headers, body, call)
    if isinstance(
        exc, _classes("APITimeoutError") + _classes("TimeoutException") + (TimeoutError,)
    ):
        if answered:
            return ModelError(
                "timeout", f"The model sent nothing for {call.idle_timeout:g} s.", True
            )
        return timed_out(call)
    if not answered and isinstance(exc, (*_classes("APIConnectionError"), OSError)):
        return unreachable(call)
    return unreadable(exc)
