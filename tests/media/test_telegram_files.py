"""The Telegram adapter's files against the fake Bot API: fetch streams getFile's file, a file
over Telegram's 20 MB download limit fails for good, and send_file picks sendPhoto, sendVoice
or sendDocument by type."""

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from django.test import override_settings

from agents.media.outbound import OutgoingFile
from agents.media.types import Kind
from gateway.adapters.base import AdapterError
from gateway.adapters.telegram import TelegramAdapter
from gateway.messages import Attachment, ReplyTarget
from tests.fakes.telegram_server import FakeTelegram
from tests.media import samples

TOKEN = "123:fake"


@pytest.fixture
def fake() -> Iterator[FakeTelegram]:
    with FakeTelegram(token=TOKEN) as server, override_settings(TELEGRAM_API_URL=server.url):
        yield server


@pytest.fixture
async def adapter(fake: FakeTelegram) -> AsyncIterator[TelegramAdapter]:
    telegram = TelegramAdapter("default", {"bot_token": TOKEN}, {})
    yield telegram
    await telegram.close()


async def test_fetch_streams_the_file(fake: FakeTelegram, adapter: TelegramAdapter) -> None:
    data = samples.pdf("hello") * 3
    file_id = fake.add_file(data, "documents/a.pdf")
    chunks = [c async for c in adapter.fetch(Attachment(file_id, "a.pdf"))]
    assert b"".join(chunks) == data
    assert [c.method for c in fake.calls] == ["getFile", "download"]


async def test_a_file_telegram_will_not_serve_fails_for_good(
    fake: FakeTelegram, adapter: TelegramAdapter
) -> None:
    file_id = fake.add_file(b"x" * (20 * 1024 * 1024 + 1))
    with pytest.raises(AdapterError, match="file is too big") as failed:
        [c async for c in adapter.fetch(Attachment(file_id))]
    assert failed.value.permanent
    with pytest.raises(AdapterError, match="invalid file_id"):
        [c async for c in adapter.fetch(Attachment("unknown"))]


@pytest.mark.parametrize(
    ("name", "data", "mime", "kind", "method"),
    [
        ("p.png", samples.png(), "image/png", "image", "sendPhoto"),
        ("v.ogg", samples.ogg_voice(), "audio/ogg", "audio", "sendVoice"),
        ("r.pdf", samples.pdf("r"), "application/pdf", "document", "sendDocument"),
        ("a.wav", samples.wav(), "audio/wav", "audio", "sendDocument"),
    ],
)
async def test_send_file_uses_the_method_for_its_type(
    fake: FakeTelegram,
    adapter: TelegramAdapter,
    tmp_path: Path,
    name: str,
    data: bytes,
    mime: str,
    kind: Kind,
    method: str,
) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    file = OutgoingFile(path, mime, kind, name, caption="see")
    message_id = await adapter.send_file(ReplyTarget("42", "7"), file)
    [sent] = fake.files(42)
    assert (sent.method, sent.name, sent.data, sent.caption) == (method, name, data, "see")
    assert str(sent.message_id) == message_id
    [call] = fake.calls_to(method)
    assert call.params["message_thread_id"] == "7"  # a forum topic's file stays in its topic


async def test_a_file_gone_before_its_upload_fails_for_good_as_an_adapter_error(
    fake: FakeTelegram, adapter: TelegramAdapter, tmp_path: Path
) -> None:
    file = OutgoingFile(tmp_path / "gone.png", "image/png", "image", "gone.png")
    with pytest.raises(AdapterError, match=r"gone\.png cannot be read") as failed:
        await adapter.send_file(ReplyTarget("42"), file)
    assert failed.value.permanent and not fake.calls_to("sendPhoto")
