"""Inbound rate limits: hit, told when to retry, recovered after the window (memory or Redis)."""

import asyncio
import uuid
from typing import Any

import pytest
from limits.aio.strategies import MovingWindowRateLimiter

from gateway.ratelimit import (
    check_inbound,
    parse_rate,
    validate_rate,
    ws_identity,
)
from openclaw.perf.ratelimit_storage import LoopMemoryStorage

pytestmark = pytest.mark.services


def fresh(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}"  # Redis keeps windows between runs


async def test_sender_limit_is_hit_then_recovers() -> None:
    account = fresh("acct")
    verdicts = [await check_inbound(account, "s1", "2/second", None) for _ in range(3)]
    assert [v.allowed for v in verdicts] == [True, True, False]
    hit = verdicts[2]
    assert hit.scope == "sender" and 0 < hit.retry_after_seconds <= 1.0
    assert "too fast" in hit.message and "try again in 1 second" in hit.message
    assert (await check_inbound(account, "s2", "2/second", None)).allowed  # others unaffected
    await asyncio.sleep(1.1)
    assert (await check_inbound(account, "s1", "2/second", None)).allowed


async def test_account_limit_covers_all_senders_and_ignores_refused_ones() -> None:
    account = fresh("acct")
    results = [
        (await check_inbound(account, f"s{i}", "1/minute", "3/second")).allowed
        for i in (1, 1, 2, 3, 4)
    ]
    # s1's second message is refused by its own limit and does not use the account's budget
    assert results == [True, False, True, True, False]
    blocked = await check_inbound(account, "s9", "1/minute", "3/second")
    assert blocked.scope == "account" and "too many messages" in blocked.message
    await asyncio.sleep(1.1)
    assert (await check_inbound(account, "s9", "1/minute", "3/second")).allowed


async def test_retry_hint_in_minutes_for_long_windows() -> None:
    account = fresh("acct")
    await check_inbound(account, "s", "1/hour", None)
    verdict = await check_inbound(account, "s", "1/hour", None)
    assert not verdict.allowed and "60 minutes" in verdict.message
    assert 3500 < verdict.retry_after_seconds <= 3600


async def test_blank_limits_are_off() -> None:
    account = fresh("acct")
    for _ in range(50):
        assert (await check_inbound(account, "s", "", None)).allowed


async def test_the_memory_storage_works_on_the_loop_and_forgets_expired_windows(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    handed_to_threads = 0
    to_thread = asyncio.to_thread

    async def counting(*args: Any, **kwargs: Any) -> Any:
        nonlocal handed_to_threads
        handed_to_threads += 1
        return await to_thread(*args, **kwargs)

    monkeypatch.setattr(asyncio, "to_thread", counting)
    monkeypatch.setattr(LoopMemoryStorage, "SWEEP_SECONDS", 0.0)
    limiter = MovingWindowRateLimiter(LoopMemoryStorage())
    second, hour = parse_rate("1/second"), parse_rate("5/hour")
    assert await limiter.hit(second, "short")
    assert not await limiter.hit(second, "short")
    for sender in range(20):
        assert await limiter.hit(hour, "long", str(sender))
    await asyncio.sleep(0.3)  # let any clean-up task upstream would start run
    assert handed_to_threads == 0
    storage = limiter.storage
    assert isinstance(storage, LoopMemoryStorage) and len(storage.events) == 21
    await asyncio.sleep(1.1)
    assert await limiter.hit(hour, "long", "0")  # a hit sweeps: the 1-second window is gone
    assert len(storage.events) == 20 and not any("short" in key for key in storage.events)
    assert await limiter.hit(second, "short")


@pytest.mark.parametrize("text", ["10/minute", "2 per second", "60/hour", "5/2 minutes"])
def test_valid_rates(text: str) -> None:
    validate_rate(text)
    assert parse_rate(text).amount > 0


@pytest.mark.parametrize("text", ["lots", "10", "10/minute;20/hour", "/minute"])
def test_invalid_rates(text: str) -> None:
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        validate_rate(text)


def test_socket_identities() -> None:
    from types import SimpleNamespace

    from django.test import override_settings

    with override_settings(OPENCLAW_GATEWAY_TOKEN="tok-123456789"):
        assert ws_identity({"query_string": b"token=tok-123456789", "headers": []}) == "token"
        staff = SimpleNamespace(pk=7)
        assert ws_identity({"query_string": b"", "headers": [], "user": staff}) == "user:7"
        assert ws_identity({"query_string": b"token=wrong", "headers": []}) == "anonymous"


async def test_a_socket_is_counted_as_the_identity_it_had_at_its_first_message() -> None:
    from django.test import override_settings

    from gateway.ratelimit import IDENTITY_KEY, check_ws_message, clear_limits

    await clear_limits()
    scope: dict[str, object] = {"query_string": b"token=tok-123456789", "headers": []}
    with override_settings(
        OPENCLAW_GATEWAY_TOKEN="tok-123456789", OPENCLAW_WS_RATE_LIMIT="2/minute"
    ):
        assert (await check_ws_message(scope)).allowed
        assert scope[IDENTITY_KEY] == "token"
        scope["query_string"] = b""  # the scope cannot change; if it did, the count would not
        assert (await check_ws_message(scope)).allowed
        assert not (await check_ws_message(scope)).allowed  # the third of two a minute
    await clear_limits()
