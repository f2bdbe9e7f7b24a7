"""Media end to end on Telegram, through `manage.py gateway` and the fake Bot API and model:
a photo reaches the model as an image part with its caption, a voice note as its transcript, a
PDF as its text; files over the cap or not what they claim are refused with the reason while
the text runs; `send_file` delivers a photo."""

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import GatewayFactory
from tests.fakes.openai_server import FakeOpenAI, Text, ToolCall, ToolCalls, image_urls, user_texts
from tests.fakes.telegram_server import FakeTelegram
from tests.gateway_process import Gateway
from tests.media import samples
from tests.telegram_e2e import configure, polling_gateway, telegram_env, texts, wait_texts

pytestmark = pytest.mark.e2e

CHATS = [4001, 4002, 4003, 4004, 4005, 4006]
OWNER = 4009  # may use send_file (a paired stranger may not)
CAP = 64 * 1024


@pytest.fixture(scope="module")
def gateway(
    migrated_home: Path,
    tmp_path_factory: pytest.TempPathFactory,
    fake: FakeTelegram,
    model: FakeOpenAI,
) -> Iterator[Gateway]:
    factory = GatewayFactory(migrated_home, tmp_path_factory.mktemp("media"), model)
    env = telegram_env(
        fake,
        OPENCLAW_STREAM_EDIT_SECONDS="0.05",
        OPENCLAW_MAX_ATTACHMENT_BYTES=str(CAP),
        OPENCLAW_TRANSCRIBE_MODEL="whisper-1",
    )
    allowed = [str(c) for c in [*CHATS, OWNER]]
    configure(
        factory.home,
        env,
        "from gateway.models import ChannelAccount\n"
        f"ChannelAccount.objects.filter(channel='telegram').update(allow_from={allowed!r}, "
        f"owner_ids={[str(OWNER)]!r})\n",
    )
    with polling_gateway(factory, fake, env) as running:
        yield running


def request_saying(model: FakeOpenAI, words: str) -> dict[str, object]:
    """The chat request whose newest user message contains `words` (it must exist)."""
    found = [
        r.body
        for r in model.requests
        if r.path.endswith("/chat/completions") and words in (user_texts(r.body)[-1:] or [""])[0]
    ]
    assert found, f"no model request with {words!r}"
    return found[-1]


def test_a_photo_reaches_the_model_as_an_image_part_with_its_caption(
    gateway: Gateway, fake: FakeTelegram, model: FakeOpenAI
) -> None:
    chat, photo = CHATS[0], samples.jpeg(64, 48)
    fake.push_update(fake.photo(chat, caption="what is in this picture?", data=photo))
    fake.wait_for(lambda: texts(fake, chat) and texts(fake, chat)[-1].startswith("echo:"))
    body = request_saying(model, "what is in this picture?")
    assert image_urls(body) == ["data:image/jpeg;base64," + base64.b64encode(photo).decode()]
    said = user_texts(body)[-1]
    assert said.startswith("what is in this picture?") and "[Image: photo.jpg (media/" in said
    stored = list((gateway.home / "media" / "main").rglob("*.jpg"))
    assert [p.read_bytes() for p in stored] == [photo]  # kept once, under a generated name
    assert "photo" not in stored[0].name
    downloads = [c.params["file_path"] for c in fake.calls_to("download")]
    assert any(p.startswith("photos/") for p in downloads)  # the largest size was fetched


def test_a_voice_note_reaches_the_model_as_its_transcript(
    gateway: Gateway, fake: FakeTelegram, model: FakeOpenAI
) -> None:
    chat = CHATS[1]
    model.transcribe_as("remind me to water the plants")
    fake.push_update(fake.voice(chat, samples.ogg_voice()))
    fake.wait_for(lambda: bool(texts(fake, chat)))
    body = request_saying(model, "remind me to water the plants")
    said = user_texts(body)[-1]
    assert "transcribed automatically" in said and said.startswith("[Voice transcript of voice")
    [transcription] = [r for r in model.requests if r.path == "/v1/audio/transcriptions"]
    assert transcription.body["model"] == "whisper-1"
    assert transcription.body["file_bytes"] == len(samples.ogg_voice())
    assert image_urls(body) == []


def test_a_pdfs_text_is_in_the_turn(
    gateway: Gateway, fake: FakeTelegram, model: FakeOpenAI
) -> None:
    chat = CHATS[2]
    pdf = samples.pdf("Invoice 2026-117: total due 4,210 euros by 31 December.")
    update = fake.document(chat, pdf, name="invoice.pdf", mime="application/pdf", caption="sum?")
    fake.push_update(update)
    fake.wait_for(lambda: bool(texts(fake, chat)))
    said = user_texts(request_saying(model, "sum?"))[-1]
    assert "total due 4,210 euros by 31 December" in said
    assert "[Document: invoice.pdf (media/main/" in said


def test_a_file_over_the_cap_is_refused_and_the_text_still_runs(
    gateway: Gateway, fake: FakeTelegram, model: FakeOpenAI
) -> None:
    chat = CHATS[3]
    big = fake.document(
        chat,
        b"x" * 100,
        name="movie.mp4",
        mime="video/mp4",
        caption="a big one",
        declared_size=CAP * 4,
    )
    fake.push_update(big)
    fake.wait_for(lambda: len(texts(fake, chat)) >= 2)
    refusal, answer = texts(fake, chat)[:2]
    assert "“movie.mp4” is 256 KB; the limit is 64 KB" in refusal
    assert answer.startswith("echo: a big one")
    assert not [c for c in fake.calls_to("getFile") if "movie" in json.dumps(c.params)]
    assert "not taken" in user_texts(request_saying(model, "a big one"))[-1]


def test_a_mislabelled_file_is_refused_and_the_text_still_runs(
    gateway: Gateway, fake: FakeTelegram, model: FakeOpenAI
) -> None:
    chat = CHATS[4]
    fake.push_update(
        fake.document(chat, samples.exe(), name="cat.jpg", mime="image/jpeg", caption="look")
    )
    fake.wait_for(lambda: len(texts(fake, chat)) >= 2)
    refusal, answer = texts(fake, chat)[:2]
    assert "“cat.jpg” is a program; I do not accept those." in refusal
    assert answer.startswith("echo: look")
    fake.push_update(
        fake.document(
            chat, samples.pdf("x"), name="photo.jpg", mime="image/jpeg", caption="and this"
        )
    )
    fake.wait_for(lambda: len(texts(fake, chat)) >= 4)
    assert "says it is image/jpeg but its content is application/pdf" in texts(fake, chat)[2]
    assert texts(fake, chat)[3].startswith("echo: and this")
    assert not list((gateway.home / "media").rglob("*.exe"))


def test_send_file_delivers_a_photo(
    gateway: Gateway, fake: FakeTelegram, model: FakeOpenAI
) -> None:
    chat = OWNER
    workspace = gateway.home / "workspaces" / "main"
    workspace.mkdir(parents=True, exist_ok=True)
    chart = samples.png(120, 80)
    (workspace / "chart.png").write_bytes(chart)
    args = json.dumps({"path": "chart.png", "caption": "This week's chart"})
    model.script(ToolCalls(ToolCall("send_file", args)), Text("Here is the chart."))
    fake.push_update(fake.text(chat, "send me the chart"))
    wait_texts(fake, chat, ["Here is the chart."])
    fake.wait_for(lambda: bool(fake.files(chat)))
    [sent] = fake.files(chat)
    assert (sent.method, sent.name, sent.mime) == ("sendPhoto", "chart.png", "image/png")
    assert (sent.data, sent.caption) == (chart, "This week's chart")
