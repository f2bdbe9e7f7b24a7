"""The model as the loop sees it: settings, the events a streamed completion yields, `ModelError`
and the `ChatModel` protocol. Implementations: `agents.llm_chat` (chat with any provider of
`agents.providers`) and `agents.llm_embeddings`; `agents.llm_errors` translates the SDKs'
errors.
"""

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from agents.transcripts import Usage

Message = dict[str, Any]


@dataclass(frozen=True, slots=True)
class ModelSettings:
    """One model call's settings. `model` is the id as configured (`anthropic/claude-…`, or a
    bare id); `agents.providers` says which API it names and what name that API is sent."""

    model: str
    base_url: str
    api_key: str
    api_key_env: str
    temperature: float | None = None
    max_tokens: int | None = None
    timeout: float = 120.0
    idle_timeout: float = 60.0
    api_version: str = ""  # Azure OpenAI's `api-version`
    reasoning_effort: str = ""  # none/low/medium/high where the provider takes it; "" sends none


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
    # What the provider itself said (its error body's message, secrets masked), "" when nothing.
    detail: str = field(default="")

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
