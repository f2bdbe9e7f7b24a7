"""How an OpenAI-compatible API's failures become `ModelError`s, for chat and embeddings alike:
an error status with its `Retry-After`, a timeout, an unreachable server, an unreadable answer.
Each message says what to fix."""

from collections.abc import Mapping

from agents.llm import ModelError, ModelSettings


def retry_after(headers: Mapping[str, str]) -> float | None:
    try:
        return max(float(headers.get("retry-after", "")), 0.0)
    except ValueError:  # absent, or an HTTP date we do not bother to parse
        return None


def status_error(
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
        return ModelError(
            "rate_limited", f"{where} is rate limiting requests.", True, 429, retry_after(headers)
        )
    if code == "context_length_exceeded":
        return ModelError("context_length", "The conversation is too long for the model.")
    return ModelError(
        "model_error",
        f"The model API answered HTTP {status}.",
        status >= 500 or status == 408,
        status,
        retry_after(headers),
    )


def timed_out(settings: ModelSettings) -> ModelError:
    where = settings.base_url or "the OpenAI API"
    return ModelError("timeout", f"The model at {where} did not answer in time.", True)


def unreachable(settings: ModelSettings) -> ModelError:
    where = settings.base_url or "the OpenAI API"
    return ModelError(
        "model_unreachable",
        f"Cannot reach the model at {where}: check OPENAI_BASE_URL and that the server runs.",
        True,
    )


def unreadable(exc: Exception) -> ModelError:
    return ModelError(
        "model_error", f"The model returned an unreadable answer ({type(exc).__name__})."
    )
