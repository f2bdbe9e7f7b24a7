"""The router with real models: journal dedupe, policy, per-sender rate limit, session keys."""

from typing import Any

import pytest
from channels.db import database_sync_to_async

from agents.services import ensure_default_agent
from gateway.messages import InboundMessage
from gateway.models import ChannelAccount, InboundRecord
from gateway.ratelimit import clear_limits
from gateway.router import route

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.services]


def dm(n: int, sender: str = "u1", text: str = "hi") -> InboundMessage:
    return InboundMessage("telegram", "default", sender, sender, f"m{n}", text)


@pytest.fixture
async def account(running_runtime: None) -> ChannelAccount:
    await clear_limits()
    agent = await database_sync_to_async(ensure_default_agent)()
    created: ChannelAccount = await database_sync_to_async(ChannelAccount.objects.create)(
        channel="telegram",
        account_id="default",
        agent=agent,
        allow_from=["u1", "u2"],
        dm_policy="allowlist",
        owner_ids=["u2"],
        rate_per_sender="2/minute",
    )
    return created


async def test_a_redelivered_message_is_routed_once(account: ChannelAccount) -> None:
    first = await route(dm(1))
    again = await route(dm(1))
    assert (first.outcome, again.outcome) == ("accepted", "duplicate")
    assert await database_sync_to_async(InboundRecord.objects.count)() == 1


async def test_the_sender_rate_limit_answers_clearly_and_drops(account: ChannelAccount) -> None:
    outcomes = [await route(dm(n)) for n in range(3)]
    assert [o.outcome for o in outcomes] == ["accepted", "accepted", "replied"]
    assert outcomes[2].reply is not None
    assert "try again" in outcomes[2].reply
    statuses = await database_sync_to_async(
        lambda: list(InboundRecord.objects.order_by("pk").values_list("status", flat=True))
    )()
    assert statuses[2] == "dropped"


async def test_session_keys_per_sender_owner_and_group(account: ChannelAccount) -> None:
    stranger_dm = await route(dm(10, sender="u1"))
    owner_dm = await route(dm(11, sender="u2"))
    assert stranger_dm.session == "agent:main:telegram:dm:u1"
    assert owner_dm.session == "agent:main:main"
    refused = await route(dm(12, sender="intruder"))
    assert refused.outcome == "replied"
    assert refused.run == ""


async def test_an_unknown_account_is_not_journaled(account: ChannelAccount) -> None:
    stray = InboundMessage("slack", "nope", "c", "u", "m1", "hi")
    assert (await route(stray)).outcome == "unknown_account"
    assert await database_sync_to_async(InboundRecord.objects.count)() == 0


async def test_an_oversized_message_is_refused_with_a_clear_reply(
    account: ChannelAccount, settings: Any
) -> None:
    settings.OPENCLAW_MAX_MESSAGE_CHARS = 10
    routed = await route(dm(20, text="x" * 11))
    assert routed.outcome == "replied"
    assert routed.reply is not None
    assert "too long" in routed.reply
    assert routed.run == ""
