"""Factories for the security tests, and the Telegram end-to-end fixtures (`fake`, `model`)
shared with tests/platforms."""

import itertools

import pytest

from agents.models import Agent
from gateway.models import ChannelAccount
from tests.telegram_e2e import fake, model  # noqa: F401  # registered here as fixtures

_ids = itertools.count(1)


def make_account(**fields: object) -> ChannelAccount:
    n = next(_ids)
    agent = Agent.objects.create(slug=f"sec-agent-{n}", name=f"Agent {n}")
    values: dict[str, object] = {"channel": "telegram", "account_id": f"bot{n}", "agent": agent}
    values.update(fields)
    return ChannelAccount.objects.create(**values)


@pytest.fixture
def account(db: None) -> ChannelAccount:
    return make_account()
