"""Inbound rate limits per sender and per account (moving window, `limits` library).

In-memory by default; Redis when `REDIS_URL` is set, so limits hold across gateway restarts.
"""

import asyncio
import functools
import math
import time
import weakref
from dataclasses import dataclass
from typing import Any, Literal

import limits
from django.conf import settings
from django.core.exceptions import ValidationError
from limits.aio.storage import Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string

from gateway.auth import presented_token, token_is_valid
from openclaw.perf.ratelimit_storage import LoopMemoryStorage

KEY_PREFIX = "openclaw-ratelimit"

# Async storages hold loop-bound resources (a timer task, a Redis pool): one per event loop.
_limiters: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, MovingWindowRateLimiter]" = (
    weakref.WeakKeyDictionary()
)


@dataclass(frozen=True, slots=True)
class RateVerdict:
    allowed: bool
    retry_after_seconds: float = 0.0
    message: str = ""
    scope: Literal["sender", "account"] | None = None


@functools.lru_cache(maxsize=64)
def parse_rate(value: str) -> limits.RateLimitItem:
    """Parse "10/minute", "60 per hour", ... ; raises ValueError with the offending text.
    Remembered: every inbound message is checked against the same few settings."""
    items = limits.parse_many(value)
    if len(items) != 1:
        raise ValueError(f"Expected one rate such as '10/minute', got {value!r}.")
    return items[0]


def validate_rate(value: str) -> None:
    """Model/form validator: blank (use the default) or one rate like '10/minute'."""
    if not value:
        return
    try:
        parse_rate(value)
    except ValueError:
        raise ValidationError(
            "Enter a rate such as '10/minute', '60/hour' or '2/second'.", code="invalid_rate"
        ) from None


def _storage() -> Storage:
    if settings.REDIS_URL:
        url = settings.REDIS_URL.replace("redis://", "async+redis://", 1).replace(
            "rediss://", "async+rediss://", 1
        )
        storage = storage_from_string(url, implementation="redispy", key_prefix=KEY_PREFIX)
        assert isinstance(storage, Storage)  # noqa: S101  # async+ URLs give async storages
        return storage
    return LoopMemoryStorage()


def _limiter() -> MovingWindowRateLimiter:
    loop = asyncio.get_running_loop()
    limiter = _limiters.get(loop)
    if limiter is None:
        limiter = MovingWindowRateLimiter(_storage())
        _limiters[loop] = limiter
    return limiter


def _wait_text(seconds: float) -> str:
    whole = max(1, math.ceil(seconds))
    if whole < 120:
        return f"{whole} second{'s' if whole != 1 else ''}"
    return f"{math.ceil(whole / 60)} minutes"


async def _retry_after(limiter: MovingWindowRateLimiter, item: Any, *ids: str) -> float:
    stats = await limiter.get_window_stats(item, *ids)
    return max(0.0, float(stats.reset_time) - time.time())


async def check_inbound(
    account_key: str, sender_key: str, per_sender: str | None, per_account: str | None
) -> RateVerdict:
    """Count one inbound message; `allowed=False` says who hit which limit and when to retry.

    A blank rate disables that limit. Denied messages still count towards the sender's window
    (a flood keeps the sender blocked) but never towards the account's.
    """
    limiter = _limiter()
    sender_item = parse_rate(per_sender) if per_sender else None
    account_item = parse_rate(per_account) if per_account else None
    account_ids = ("inbound", "account", account_key)
    if account_item is not None and not await limiter.test(account_item, *account_ids):
        wait = await _retry_after(limiter, account_item, *account_ids)
        return RateVerdict(
            False,
            wait,
            "This assistant is receiving too many messages right now; "
            f"please try again in {_wait_text(wait)}.",
            "account",
        )
    if sender_item is not None:
        sender_ids = ("inbound", "sender", account_key, sender_key)
        if not await limiter.hit(sender_item, *sender_ids):
            wait = await _retry_after(limiter, sender_item, *sender_ids)
            return RateVerdict(
                False,
                wait,
                f"You are sending messages too fast; please try again in {_wait_text(wait)}.",
                "sender",
            )
    if account_item is not None:
        await limiter.hit(account_item, *account_ids)
    return RateVerdict(True)


def ws_identity(scope: dict[str, Any]) -> str:
    """Who is behind a gateway socket: every token holder shares one identity; staff by id."""
    if token_is_valid(presented_token(scope)):
        return "token"
    user = scope.get("user")
    pk = getattr(user, "pk", None)
    return f"user:{pk}" if pk is not None else "anonymous"


IDENTITY_KEY = "openclaw.ws_identity"  # in a socket's scope: who it is, worked out once


def socket_identity(scope: dict[str, Any]) -> str:
    """`ws_identity`, worked out at a socket's first message and kept in its scope (it cannot
    change while the socket is open, so headers and query string are parsed once)."""
    identity = scope.get(IDENTITY_KEY)
    if identity is None:
        identity = scope[IDENTITY_KEY] = ws_identity(scope)
    return str(identity)


async def check_ws_message(scope: dict[str, Any]) -> RateVerdict:
    """Count one `chat.send` on the gateway socket against OPENCLAW_WS_RATE_LIMIT."""
    return await check_inbound("ws", socket_identity(scope), settings.OPENCLAW_WS_RATE_LIMIT, None)


async def clear_limits() -> None:
    """Forget every count of this process's limiter (its whole key prefix on Redis)."""
    await _limiter().storage.reset()
