"""Media end to end on WhatsApp, through `manage.py gateway`, signed webhooks and the fake Graph
API and model: an image with its caption reaches the model as an image part plus the caption
(media id → media URL → download with the token); files over the cap or not what they claim
are refused with the reason while the caption runs; `send_file` uploads a photo and sends it
as an image message once, also when the gateway dies mid-upload."""

import base64
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import GatewayFactory
from tests.fakes.openai_server import FakeOpenAI, Text, ToolCall, ToolCalls, image_urls, user_texts
from tests.fakes.whatsapp_server import FakeWhatsApp, document_message, image_message, text_message
from tests.gateway_process import Gateway
from tests.media import samples
from tests.platforms.test_whatsapp_e2e import PHONE, USER, _deliver, _env, _manage

pytestmark = pytest.mark.e2e

CAP = 64 * 1024


@pytest.fixture
def whatsapp() -> Iterator[FakeWhatsApp]:
    with FakeWhatsApp() as fake:
        yield fake


def start(factory: GatewayFactory, fake: FakeWhatsApp, *, create: bool = True) -> Gateway:
    """A gateway whose WhatsApp account lets USER in as its owner (created once)."""
    env = _env(fake) | {"OPENCLAW_MAX_ATTACHMENT_BYTES": str(CAP)}
    gateway = factory(start=False, **env)
    if create:
        _manage(
            gateway,
            "shell",
            "-c",
            "from agents.services import ensure_default_agent; "
            "from gateway.models import ChannelAccount; from gateway.platforms import DEFAULTS; "
            "ChannelAccount.objects.create(channel='whatsapp', account_id='default', "
            "agent=ensure_default_agent(), credentials=DEFAULTS['whatsapp'], "
            f"options={{'phone_number_id': '{PHONE}'}}, allow_from=['{USER}'], "
            f"owner_ids=['{USER}'])",
        )
    gateway.start()
    deadline = time.monotonic() + 15
    while "whatsapp:default" not in str(gateway.get("/readyz")[1].get("channels")):
        assert time.monotonic() < deadline, gateway.output()
        time.sleep(0.05)
    return gateway


def turns_asking(model: FakeOpenAI, words: str) -> list[dict[str, Any]]:
    """Chat requests of the turn whose user message has `words` (not a start-up probe's)."""
    return [
        r.body
        for r in model.requests
        if r.path.endswith("/chat/completions") and any(words in t for t in user_texts(r.body))
    ]


def request_saying(model: FakeOpenAI, words: str) -> dict[str, Any]:
    found = [
        r.body
        for r in model.requests
        if r.path.endswith("/chat/completions") and words in (user_texts(r.body)[-1:] or [""])[0]
    ]
    assert found, f"no model request with {words!r}"
    return found[-1]


def test_an_image_with_a_caption_reaches_the_model_and_bad_files_are_refused(
    gateway_factory: GatewayFactory, whatsapp: FakeWhatsApp, fake_openai: FakeOpenAI
) -> None:
    gateway = start(gateway_factory, whatsapp)
    photo = samples.jpeg(48, 32)
    media = whatsapp.add_media(photo, mime_type="image/jpeg")
    _deliver(
        gateway, image_message(PHONE, USER, "wamid.IMG1", media_id=media, caption="which plant?")
    )
    whatsapp.wait_for_sends(1)
    body = request_saying(fake_openai, "which plant?")
    assert image_urls(body) == ["data:image/jpeg;base64," + base64.b64encode(photo).decode()]
    said = user_texts(body)[-1]
    assert said.startswith("which plant?") and "[Image: image.jpg (media/" in said
    assert whatsapp.downloads == [media]
    assert whatsapp.texts_to(USER) == ["echo: " + said]

    big = whatsapp.add_media(b"x" * 10, mime_type="video/mp4", file_size=CAP * 4)
    payload = document_message(
        PHONE,
        USER,
        "wamid.BIG",
        media_id=big,
        filename="movie.mp4",
        mime_type="video/mp4",
        caption="a big one",
    )
    _deliver(gateway, payload)
    whatsapp.wait_for_sends(3)
    refusal, answer = whatsapp.texts_to(USER)[1:3]
    assert "“movie.mp4” is 256 KB; the limit is 64 KB" in refusal
    assert answer.startswith("echo: a big one")
    assert big not in whatsapp.downloads  # refused before the download

    program = whatsapp.add_media(samples.exe(), mime_type="image/jpeg")
    _deliver(gateway, image_message(PHONE, USER, "wamid.EXE", media_id=program, caption="look"))
    whatsapp.wait_for_sends(5)
    refusal, answer = whatsapp.texts_to(USER)[3:5]
    assert "“image.jpg” is a program; I do not accept those." in refusal
    assert answer.startswith("echo: look")
    assert not list((gateway.home / "media").rglob("*.exe"))


def test_send_file_sends_a_photo_once(
    gateway_factory: GatewayFactory, whatsapp: FakeWhatsApp, fake_openai: FakeOpenAI
) -> None:
    workspace = gateway_factory.home / "workspaces" / "main"
    workspace.mkdir(parents=True, exist_ok=True)
    chart = samples.png(120, 80)
    (workspace / "chart.png").write_bytes(chart)
    args = json.dumps({"path": "chart.png", "caption": "This week's chart"})
    fake_openai.script(ToolCalls(ToolCall("send_file", args)), Text("Here is the chart."))
    gateway = start(gateway_factory, whatsapp)
    _deliver(gateway, text_message(PHONE, USER, "wamid.SEND", "send me the chart"))
    whatsapp.wait_until(lambda: bool(whatsapp.files_to(USER)))
    time.sleep(0.5)  # a second one, were it coming
    [sent] = whatsapp.files_to(USER)
    assert (sent.type, sent.caption) == ("image", "This week's chart")
    assert (sent.upload.name, sent.upload.mime, sent.upload.data) == (
        "chart.png",
        "image/png",
        chart,
    )
    assert whatsapp.texts_to(USER) == ["Here is the chart."]


def test_a_restart_mid_upload_sends_the_file_once(
    gateway_factory: GatewayFactory, whatsapp: FakeWhatsApp, fake_openai: FakeOpenAI
) -> None:
    workspace = gateway_factory.home / "workspaces" / "main"
    workspace.mkdir(parents=True, exist_ok=True)
    report = samples.pdf("quarterly report")
    (workspace / "report.pdf").write_bytes(report)
    args = json.dumps({"path": "report.pdf", "caption": "the report"})
    fake_openai.script(ToolCalls(ToolCall("send_file", args)), Text("The report follows."))
    whatsapp.hold_uploads()
    first = start(gateway_factory, whatsapp)
    _deliver(first, text_message(PHONE, USER, "wamid.RS", "the report please"))
    whatsapp.wait_until(lambda: whatsapp.holding_uploads == 1)
    assert first.proc is not None
    first.proc.kill()
    first.proc.wait(timeout=10)
    asked = len(turns_asking(fake_openai, "the report please"))
    whatsapp.hold_uploads(False)

    start(gateway_factory, whatsapp, create=False)
    whatsapp.wait_until(lambda: bool(whatsapp.files_to(USER)), timeout=20)
    time.sleep(0.5)
    [sent] = whatsapp.files_to(USER)
    assert (sent.type, sent.caption, sent.filename) == ("document", "the report", "report.pdf")
    assert sent.upload.data == report
    assert whatsapp.texts_to(USER) == ["The report follows."]
    # Delivered from the transcript: the model was not asked again.
    assert len(turns_asking(fake_openai, "the report please")) == asked
