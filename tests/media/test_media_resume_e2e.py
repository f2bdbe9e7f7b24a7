"""Media across a crash (SIGKILL): killed while uploading the second of an answer's files, the
restarted gateway sends neither the text nor the first file again, the second once, and does
not ask the model again; killed while downloading a photo, it fetches the photo again and the
model answers it once."""

import base64
import json
from collections.abc import Iterator

import pytest

from tests.conftest import GatewayFactory
from tests.fakes.openai_server import (
    FakeOpenAI,
    Text,
    ToolCall,
    ToolCalls,
    image_urls,
    user_texts,
)
from tests.fakes.telegram_server import FakeTelegram
from tests.media import samples
from tests.telegram_e2e import TOKEN, configure, telegram_env, texts

pytestmark = pytest.mark.e2e
CHAT = 4101


def turns_asking(model: FakeOpenAI, words: str) -> list[dict[str, object]]:
    """Chat requests of the turn whose user message has `words` (not a start-up probe's)."""
    return [
        r.body
        for r in model.requests
        if r.path.endswith("/chat/completions") and any(words in t for t in user_texts(r.body))
    ]


@pytest.fixture
def telegram() -> Iterator[FakeTelegram]:
    with FakeTelegram(token=TOKEN) as server:
        yield server


def test_a_restart_mid_delivery_sends_each_file_once(
    gateway_factory: GatewayFactory, fake_openai: FakeOpenAI, telegram: FakeTelegram
) -> None:
    env = telegram_env(telegram)
    configure(
        gateway_factory.home,
        env,
        "from gateway.models import ChannelAccount\n"
        f"ChannelAccount.objects.filter(channel='telegram').update(allow_from=['{CHAT}'], "
        f"owner_ids=['{CHAT}'])\n",
    )
    workspace = gateway_factory.home / "workspaces" / "main"
    workspace.mkdir(parents=True, exist_ok=True)
    photo, report = samples.png(30, 20), samples.pdf("quarterly report")
    (workspace / "photo.png").write_bytes(photo)
    (workspace / "report.pdf").write_bytes(report)
    calls = [
        ToolCall("send_file", json.dumps({"path": "photo.png"}), id="c1"),
        ToolCall("send_file", json.dumps({"path": "report.pdf", "caption": "the report"}), id="c2"),
    ]
    fake_openai.script(ToolCalls(calls), Text("Both files follow."))
    telegram.hold("sendDocument")  # the second upload never completes: the gateway dies in it

    first = gateway_factory(start=True, **env)
    telegram.push_update(telegram.text(CHAT, "send me the photo and the report"))
    telegram.wait_for(
        lambda: len(telegram.files(CHAT)) == 1 and telegram.holding("sendDocument") == 0
    )
    assert first.proc is not None
    first.proc.kill()
    first.proc.wait(timeout=10)
    asked = len(turns_asking(fake_openai, "send me the photo"))

    gateway_factory(start=True, **env)
    telegram.wait_for(lambda: len(telegram.files(CHAT)) == 2, timeout=20)
    photo_sent, report_sent = telegram.files(CHAT)
    assert (photo_sent.method, photo_sent.data) == ("sendPhoto", photo)
    assert (report_sent.method, report_sent.data, report_sent.caption) == (
        "sendDocument",
        report,
        "the report",
    )
    assert texts(telegram, CHAT) == ["Both files follow."]  # the text once, before the files
    # Delivered from the transcript: the model was not asked again.
    assert len(turns_asking(fake_openai, "send me the photo")) == asked


def test_a_crash_mid_download_fetches_the_file_again_and_answers_once(
    gateway_factory: GatewayFactory, fake_openai: FakeOpenAI, telegram: FakeTelegram
) -> None:
    env = telegram_env(telegram)
    configure(
        gateway_factory.home,
        env,
        "from gateway.models import ChannelAccount\n"
        f"ChannelAccount.objects.filter(channel='telegram').update(allow_from=['{CHAT}'])\n",
    )
    photo = samples.jpeg(32, 24)
    telegram.hold("download")  # journaled, then the download hangs: the gateway dies in it
    first = gateway_factory(start=True, **env)
    telegram.push_update(telegram.photo(CHAT, caption="what is this?", data=photo))
    telegram.wait_for(lambda: telegram.holding("download") == 0)
    assert first.proc is not None
    first.proc.kill()
    first.proc.wait(timeout=10)

    gateway_factory(start=True, **env)
    telegram.wait_for(lambda: any(t.startswith("echo:") for t in texts(telegram, CHAT)), 20)
    asked = turns_asking(fake_openai, "what is this?")
    assert len(asked) == 1  # answered once
    assert image_urls(asked[0]) == ["data:image/jpeg;base64," + base64.b64encode(photo).decode()]
    assert [t for t in texts(telegram, CHAT) if t.startswith("echo:")] == [
        texts(telegram, CHAT)[-1]
    ]
