"""Crash recovery on a platform: the gateway is killed (SIGKILL) while streaming a Telegram
answer; after a restart the accepted message is answered once, in the message it had started."""

from collections.abc import Iterator

import pytest

from tests.conftest import GatewayFactory
from tests.fakes.openai_server import FakeOpenAI, Text, user_texts
from tests.fakes.telegram_server import FakeTelegram
from tests.platforms.test_telegram_e2e import configure

pytestmark = pytest.mark.e2e
TOKEN = "123:fake"
CHAT = 1003  # let in by `configure`


@pytest.fixture
def telegram() -> Iterator[FakeTelegram]:
    with FakeTelegram(token=TOKEN) as server:
        yield server


def test_a_turn_cut_by_a_crash_is_answered_once_after_restart(
    gateway_factory: GatewayFactory, fake_openai: FakeOpenAI, telegram: FakeTelegram
) -> None:
    env = {
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_URL": telegram.url,
        "TELEGRAM_POLL_TIMEOUT": "1",
        "OPENCLAW_STREAM_EDIT_SECONDS": "0.05",
    }
    configure(gateway_factory.home, env)
    first = gateway_factory(start=True, **env)
    fake_openai.script(Text([f"part{i} " for i in range(40)], chunk_delay=0.2))
    telegram.push_update(telegram.text(CHAT, "tell me a long story"))
    # Streaming has started and its message id is journaled (the first edit follows that write).
    telegram.wait_for(lambda: any(m.edits for m in telegram.messages(CHAT)))
    assert first.proc is not None
    first.proc.kill()
    first.proc.wait(timeout=10)

    fake_openai.script(Text("The whole story, told after the restart."))
    gateway_factory(start=True, **env)
    telegram.wait_for(
        lambda: (
            [m.text for m in telegram.messages(CHAT)]
            == ["The whole story, told after the restart."]
        ),
        timeout=20,
    )
    asked = [r for r in fake_openai.requests if r.path.endswith("/chat/completions")]
    assert len(asked) == 2  # the cut turn ran once more, and only once
    users = user_texts(asked[-1].body)
    assert users.count("tell me a long story") >= 1
