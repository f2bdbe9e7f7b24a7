"""Model calls that fail: retries with backoff and jitter (honouring Retry-After), then the
agent's fallback chain. A stream that already delivered text is never silently restarted."""

import asyncio
import logging
import random
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from agents.llm import (
    ChatModel,
    Message,
    ModelError,
    ModelEvent,
    ModelSettings,
    TextDelta,
    ToolCallDelta,
)

logger = logging.getLogger(__name__)

MAX_RETRY_WAIT = 60.0


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    retries: int = 2
    base_delay: float = 0.5
    max_delay: float = 20.0

    def delay(self, attempt: int, error: ModelError) -> float:
        if error.retry_after is not None:
            return min(error.retry_after, MAX_RETRY_WAIT)
        ceiling = min(self.max_delay, self.base_delay * 2**attempt)
        return random.uniform(ceiling / 2, ceiling)  # noqa: S311  # jitter, not crypto


class PartialStream(ModelError):
    """The stream broke after text was delivered: what arrived stands, marked partial."""


def _fallback_worthy(error: ModelError) -> bool:
    # A longer prompt will not fit another model better before compaction; the loop handles it.
    return error.code not in ("context_length", "model_not_configured")


async def stream_with_failover(
    model: ChatModel,
    messages: Sequence[Message],
    chain: Sequence[ModelSettings],
    tools: Sequence[dict[str, Any]] | None = None,
    *,
    policy: RetryPolicy = RetryPolicy(),
    on_fallback: Callable[[ModelSettings, ModelError], None] | None = None,
) -> AsyncIterator[ModelEvent]:
    """Yield the events of the first call that succeeds. Raises the last `ModelError` when the
    whole chain failed, or `PartialStream` when a stream broke after yielding output."""
    last: ModelError | None = None
    for position, settings in enumerate(chain):
        if position and last is not None and on_fallback is not None:
            on_fallback(settings, last)
        for attempt in range(policy.retries + 1):
            emitted = False
            try:
                async for event in model.stream(messages, settings, tools):
                    if isinstance(event, TextDelta | ToolCallDelta):
                        emitted = True
                    yield event
                return
            except ModelError as error:
                if emitted:
                    message = f"The answer broke off mid-stream: {error.message}"
                    raise PartialStream(error.code, message, False, error.status) from error
                last = error
                if not error.retryable or attempt == policy.retries:
                    break
                wait = policy.delay(attempt, error)
                logger.info("Model %s: %s; retry in %.1f s", settings.model, error.code, wait)
                await asyncio.sleep(wait)
        assert last is not None  # noqa: S101  # the loop only falls through after an error
        if not _fallback_worthy(last):
            break
    assert last is not None  # noqa: S101  # chain is never empty
    raise last
