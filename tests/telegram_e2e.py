"""What the Telegram end-to-end modules share: the fake Bot API and the fake model for a module,
a polling gateway set up through `manage.py shell`, and waits on what the bot wrote in a chat.

The fixtures `fake` and `model` are registered by the conftest of each folder using them (a
module's own fixture of the same name wins)."""

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import GatewayFactory
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.telegram_server import FakeTelegram
from tests.gateway_process import Gateway, manage

TOKEN = "123:fake"
SETUP = "from gateway.platforms import ensure_default_accounts\nensure_default_accounts()\n"


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeTelegram]:
    """The fake Telegram Bot API, one per module."""
    with FakeTelegram(token=TOKEN) as server:
        yield server


@pytest.fixture(scope="module")
def model() -> Iterator[FakeOpenAI]:
    """The fake model, one per module (it answers `echo: <text>` unless scripted)."""
    with FakeOpenAI() as server:
        yield server


def telegram_env(fake: FakeTelegram, **extra: str) -> dict[str, str]:
    """The environment of a gateway long-polling `fake` (one-second polls)."""
    return {
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_URL": fake.url,
        "TELEGRAM_POLL_TIMEOUT": "1",
        **extra,
    }


def configure(home: Path, env: dict[str, str], code: str = "") -> None:
    """Create the default Telegram account of the state directory `home` from `env`, then run
    `code` (Python, in `manage.py shell`) to set up accounts, agents and bindings."""
    manage(home, env, "shell", "-c", SETUP + code)


@contextlib.contextmanager
def polling_gateway(
    factory: GatewayFactory, fake: FakeTelegram, env: dict[str, str]
) -> Iterator[Gateway]:
    """A started gateway (configured beforehand) that is polling `fake`; stopped at the end."""
    gateway = factory(start=True, **env)
    try:
        fake.wait_for(lambda: fake.calls_to("getUpdates"))
        yield gateway
    finally:
        factory.close()


def texts(fake: FakeTelegram, chat: int) -> list[str]:
    """What the bot wrote in `chat`, each message as it reads now."""
    return [m.text for m in fake.messages(chat)]


def wait_texts(fake: FakeTelegram, chat: int, expected: list[str], timeout: float = 10.0) -> None:
    try:
        fake.wait_for(lambda: texts(fake, chat) == expected, timeout)
    except AssertionError:
        raise AssertionError(f"chat {chat}: {texts(fake, chat)} != {expected}") from None


def settled(fake: FakeTelegram, chat: int, count: int) -> list[str]:
    """The chat's messages once there are `count` and they stopped changing for a second (an
    answer is streamed into its message by edits)."""
    fake.wait_for(lambda: len(texts(fake, chat)) >= count)
    seen, since = texts(fake, chat), time.monotonic()
    while time.monotonic() - since < 1.0:
        time.sleep(0.1)
        now = texts(fake, chat)
        if now != seen:
            seen, since = now, time.monotonic()
    return seen
