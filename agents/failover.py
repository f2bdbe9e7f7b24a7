"""Model calls that fail: retries with backoff and jitter (honouring Retry-After), the next key of
the provider on a 429, then the agent's fallback chain, skipping models that failed recently
(`agents.cooldowns`). A stream that already delivered text is never silently restarted."""

import asyncio
import dataclasses
import logging
import random
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings as django_settings

from agents.cooldowns import Cooldowns
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
# Error codes that say the key (not the model) hit its rate or spending limit.
KEY_LIMIT_CODES = frozenset({"rate_limited", "insufficient_quota", "quota_exceeded"})

# Process memory: models (by model id and base URL) and keys (by variable name) that failed.
models_cooling = Cooldowns()
keys_cooling = Cooldowns()


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


def _key_limited(error: ModelError) -> bool:
    return error.status == 429 or error.code in KEY_LIMIT_CODES


def model_key(settings: ModelSettings) -> tuple[str, str]:
    return (settings.model, settings.base_url)


def key_family(env: str) -> list[str]:
    """`env` and its numbered siblings that are set (`OPENAI_API_KEY`, `OPENAI_API_KEY_2`, …),
    in order; extra keys rotate in when one is rate limited."""
    base, sep, number = env.rpartition("_")
    if not (sep and number.isdecimal() and base.endswith("_API_KEY")):
        base = env
    keys = django_settings.OPENCLAW_PROVIDER_KEYS
    numbered = sorted(
        int(suffix)
        for name in keys
        if name.startswith(base + "_") and (suffix := name[len(base) + 1 :]).isdecimal()
    )
    names = [base] if base in keys else []
    return names + [f"{base}_{n}" for n in numbered]


def key_order(settings: ModelSettings) -> list[ModelSettings]:
    """The call with each of its provider's keys, the ones not cooling down first (in family
    order), then the cooling ones, soonest free first. A call without a key is tried as is."""
    if not settings.api_key or not settings.api_key_env:
        return [settings]
    family = key_family(settings.api_key_env) or [settings.api_key_env]
    names = keys_cooling.order(family)
    keys = django_settings.OPENCLAW_PROVIDER_KEYS
    return [
        settings
        if name == settings.api_key_env
        else dataclasses.replace(settings, api_key=keys.get(name, ""), api_key_env=name)
        for name in names
    ]


def cooling_left(settings: ModelSettings) -> float:
    """Seconds until the model is tried first again (0 when it is not cooling down)."""
    until = models_cooling.until(model_key(settings))
    return 0.0 if until is None else max(until - models_cooling.clock(), 0.0)


def chain_order(chain: Sequence[ModelSettings]) -> list[ModelSettings]:
    """The chain without the models cooling down; when every one is, the one free soonest."""
    ready = [s for s in chain if models_cooling.until(model_key(s)) is None]
    if ready or not chain:
        return ready
    return [min(chain, key=lambda s: models_cooling.until(model_key(s)) or 0.0)]


def _cool_model(settings: ModelSettings, error: ModelError) -> None:
    if not _fallback_worthy(error):  # the prompt's fault or a set-up step, not the model's
        return
    seconds = models_cooling.fail(model_key(settings), error.retry_after)
    logger.warning(
        "Model %s failed (%s): skipped for %.0f s in favour of its fallbacks",
        settings.model,
        error.code,
        seconds,
    )


async def stream_with_failover(
    model: ChatModel,
    messages: Sequence[Message],
    chain: Sequence[ModelSettings],
    tools: Sequence[dict[str, Any]] | None = None,
    *,
    policy: RetryPolicy = RetryPolicy(),
    on_fallback: Callable[[ModelSettings, ModelError], None] | None = None,
    on_answer: Callable[[ModelSettings], None] | None = None,
) -> AsyncIterator[ModelEvent]:
    """Yield the events of the first call that succeeds. Raises the last `ModelError` when the
    whole chain failed, or `PartialStream` when a stream broke after yielding output.
    `on_answer` hears which model (and key) answered, once its stream has ended: the one whose
    prices the call's usage costs.

    A model that fails for good (not retryable, or out of retries) cools down (exponential,
    capped) and later calls skip it; a key that is rate limited gives way to its provider's next
    key at once, without spending a retry."""
    last: ModelError | None = None
    for position, chosen in enumerate(chain_order(chain)):
        if position and last is not None and on_fallback is not None:
            on_fallback(chosen, last)
        keys = key_order(chosen)
        call, attempt = keys.pop(0), 0
        while True:
            emitted = False
            try:
                async for event in model.stream(messages, call, tools):
                    if isinstance(event, TextDelta | ToolCallDelta):
                        emitted = True
                    yield event
                models_cooling.succeed(model_key(call))
                keys_cooling.succeed(call.api_key_env)
                if on_answer is not None:
                    on_answer(call)
                return
            except ModelError as error:
                if emitted:
                    message = f"The answer broke off mid-stream: {error.message}"
                    raise PartialStream(error.code, message, False, error.status) from error
                last = error
                if _key_limited(error) and keys:
                    keys_cooling.fail(call.api_key_env, error.retry_after)
                    logger.info(
                        "Key %s is rate limited: trying %s", call.api_key_env, keys[0].api_key_env
                    )
                    call = keys.pop(0)
                    continue
                if not error.retryable or attempt == policy.retries:
                    break
                wait = policy.delay(attempt, error)
                logger.info("Model %s: %s; retry in %.1f s", call.model, error.code, wait)
                await asyncio.sleep(wait)
                attempt += 1
        _cool_model(call, last)
        if not _fallback_worthy(last):
            break
    assert last is not None  # noqa: S101  # chain is never empty
    raise last
