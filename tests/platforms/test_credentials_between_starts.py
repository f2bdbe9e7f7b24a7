"""Settings change between starts: a platform credential set in the environment after the
account was created takes effect at the next start (the account is not frozen with the
variables it had on its first day)."""

import time

import pytest

from tests.conftest import GatewayFactory
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.telegram_server import FakeTelegram
from tests.gateway_process import Gateway

pytestmark = pytest.mark.e2e

TOKEN = "123:fake"
SECRET = "added-Later_1"


def _error(gateway: Gateway) -> str:
    """The telegram:default account's error in /readyz ("" while it has none)."""
    channels = gateway.get("/readyz")[1]["channels"]
    entry = channels.get("telegram:default") if isinstance(channels, dict) else None
    return str(entry.get("error", "")) if isinstance(entry, dict) else ""


def test_a_webhook_secret_set_after_the_first_start_takes_effect_at_the_next(
    gateway_factory: GatewayFactory, fake_openai: FakeOpenAI
) -> None:
    with FakeTelegram(token=TOKEN) as fake:
        env = {
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_WEBHOOK_URL": "https://bot.example.com",
            "TELEGRAM_API_URL": fake.url,
        }
        first = gateway_factory(start=True, **env)  # creates the default account, no secret
        deadline = time.monotonic() + 10
        while "TELEGRAM_WEBHOOK_SECRET" not in _error(first):
            assert time.monotonic() < deadline, _error(first)
            time.sleep(0.05)
        assert first.terminate() == 0
        assert not fake.webhook

        second = gateway_factory(start=True, **env, TELEGRAM_WEBHOOK_SECRET=SECRET)
        fake.wait_for(lambda: fake.webhook)
        assert fake.webhook == {
            "url": "https://bot.example.com/webhooks/telegram/",
            "secret_token": SECRET,
        }
        assert second.terminate() == 0
