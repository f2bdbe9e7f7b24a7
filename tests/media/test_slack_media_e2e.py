"""Media end to end on Slack, through `manage.py gateway`, the real slack_sdk clients, the fake
Slack (Socket Mode, Events API, file downloads, the external upload flow) and the fake model:
a shared image with its message reaches the model as an image part plus the text; files over
the cap or not what they claim are refused with the reason while the text runs; `send_file`
uploads a photo into the conversation once, also when the gateway dies mid-upload."""

import base64
import json
import time
from typing import Any

import httpx
import pytest

from tests.conftest import GatewayFactory
from tests.fakes.openai_server import FakeOpenAI, Text, ToolCall, ToolCalls, image_urls, user_texts
from tests.fakes.slack_server import (
    BOT_TOKEN,
    FakeSlack,
    dm_event,
    event_callback,
    file_share_event,
)
from tests.gateway_process import Gateway
from tests.media import samples
from tests.platforms.test_slack_e2e import _signed, slack, slack_gateway

pytestmark = pytest.mark.e2e
__all__ = ["slack"]  # the fixture, used by the tests below

OWNER = "U0OWNER"
CAP = 64 * 1024
ACCOUNT = {"dm_policy": "open", "owner_ids": [OWNER]}


def start(
    factory: GatewayFactory,
    slack: FakeSlack,
    *,
    socket_mode: bool = True,
    account: dict[str, Any] | None = ACCOUNT,
) -> Gateway:
    """A gateway with the Slack account (written once: a restart passes `account=None`)."""
    return slack_gateway(
        factory,
        slack,
        socket_mode=socket_mode,
        account=account,
        OPENCLAW_MAX_ATTACHMENT_BYTES=str(CAP),
        OPENCLAW_STREAM_EDIT_SECONDS="0.05",
    )


def turns_asking(model: FakeOpenAI, words: str) -> list[dict[str, Any]]:
    """Chat requests of the turn whose user message has `words` (not a start-up probe's)."""
    return [
        r.body
        for r in model.requests
        if r.path.endswith("/chat/completions") and any(words in t for t in user_texts(r.body))
    ]


def request_saying(model: FakeOpenAI, words: str) -> dict[str, object]:
    found = [
        r.body
        for r in model.requests
        if r.path.endswith("/chat/completions") and words in (user_texts(r.body)[-1:] or [""])[0]
    ]
    assert found, f"no model request with {words!r}"
    return found[-1]


def test_a_shared_image_reaches_the_model_with_its_text_and_bad_files_are_refused(
    gateway_factory: GatewayFactory, slack: FakeSlack, fake_openai: FakeOpenAI
) -> None:
    gateway = start(gateway_factory, slack)
    photo = samples.jpeg(40, 30)
    shared = slack.add_file(photo, name="whiteboard.jpg", mimetype="image/jpeg")
    slack.push(file_share_event("what does the board say?", [shared], channel="D0A"))
    slack.wait(lambda: slack.final_texts("D0A"))
    body = request_saying(fake_openai, "what does the board say?")
    assert image_urls(body) == ["data:image/jpeg;base64," + base64.b64encode(photo).decode()]
    said = user_texts(body)[-1]
    assert said.startswith("what does the board say?") and "[Image: whiteboard.jpg (media/" in said
    assert slack.downloads == [shared["id"]]
    assert [p.read_bytes() for p in (gateway.home / "media" / "main").rglob("*.jpg")] == [photo]

    big = slack.add_file(b"x" * 10, name="movie.mp4", mimetype="video/mp4", size=CAP * 4)
    slack.push(file_share_event("a big one", [big], channel="D0B"))
    slack.wait(lambda: len(slack.final_texts("D0B")) >= 2)
    refusal, answer = slack.final_texts("D0B")[:2]
    assert "“movie.mp4” is 256 KB; the limit is 64 KB" in refusal
    assert answer.startswith("echo: a big one")
    assert big["id"] not in slack.downloads  # refused before the download

    program = slack.add_file(samples.exe(), name="cat.jpg", mimetype="image/jpeg")
    slack.push(file_share_event("look", [program], channel="D0C"))
    slack.wait(lambda: len(slack.final_texts("D0C")) >= 2)
    refusal, answer = slack.final_texts("D0C")[:2]
    assert "“cat.jpg” is a program; I do not accept those." in refusal
    assert answer.startswith("echo: look")
    assert not list((gateway.home / "media").rglob("*.exe"))


def test_a_file_over_the_events_api_is_downloaded_with_the_bot_token(
    gateway_factory: GatewayFactory, slack: FakeSlack, fake_openai: FakeOpenAI
) -> None:
    gateway = start(gateway_factory, slack, socket_mode=False)
    notes = slack.add_file(b"milk, eggs, bread\n", name="list.txt", mimetype="text/plain")
    body = json.dumps(event_callback(file_share_event("shopping?", [notes], channel="D0E")))
    headers = _signed(body.encode())
    response = httpx.post(f"{gateway.url}/webhooks/slack/events", content=body, headers=headers)
    assert response.status_code == 200, response.text
    slack.wait(lambda: slack.final_texts("D0E"))
    said = user_texts(request_saying(fake_openai, "shopping?"))[-1]
    assert "milk, eggs, bread" in said and "[Document: list.txt (media/" in said
    assert slack.downloads == [notes["id"]]


def test_send_file_uploads_a_photo_into_the_conversation_once(
    gateway_factory: GatewayFactory, slack: FakeSlack, fake_openai: FakeOpenAI
) -> None:
    workspace = gateway_factory.home / "workspaces" / "main"
    workspace.mkdir(parents=True, exist_ok=True)
    chart = samples.png(120, 80)
    (workspace / "chart.png").write_bytes(chart)
    args = json.dumps({"path": "chart.png", "caption": "This week's chart"})
    fake_openai.script(ToolCalls(ToolCall("send_file", args)), Text("Here is the chart."))
    start(gateway_factory, slack)
    slack.push(dm_event("send me the chart", user=OWNER, channel="D0OWN"))
    slack.wait(lambda: slack.uploads)
    time.sleep(0.5)  # a second upload, were one coming
    [sent] = slack.uploads
    assert (sent.channel, sent.name, sent.data) == ("D0OWN", "chart.png", chart)
    assert sent.comment == "This week's chart"
    assert slack.final_texts("D0OWN") == ["Here is the chart."]
    [ticket] = slack.calls("files.getUploadURLExternal")
    assert (ticket.args["filename"], ticket.args["length"], ticket.token) == (
        "chart.png",
        str(len(chart)),
        BOT_TOKEN,
    )


def test_a_restart_mid_upload_sends_the_file_once(
    gateway_factory: GatewayFactory, slack: FakeSlack, fake_openai: FakeOpenAI
) -> None:
    workspace = gateway_factory.home / "workspaces" / "main"
    workspace.mkdir(parents=True, exist_ok=True)
    photo = samples.png(30, 20)
    (workspace / "photo.png").write_bytes(photo)
    call = ToolCall("send_file", json.dumps({"path": "photo.png"}))
    fake_openai.script(ToolCalls(call), Text("The photo follows."))
    slack.hold_uploads()
    first = start(gateway_factory, slack)
    slack.push(dm_event("the photo please", user=OWNER, channel="D0RS"))
    slack.wait(lambda: slack.holding_uploads == 1)
    assert first.proc is not None
    first.proc.kill()
    first.proc.wait(timeout=10)
    asked = len(turns_asking(fake_openai, "the photo please"))
    slack.hold_uploads(False)

    start(gateway_factory, slack, account=None)
    slack.wait(lambda: slack.uploads, timeout=20)
    time.sleep(0.5)
    [sent] = slack.uploads
    assert (sent.channel, sent.data) == ("D0RS", photo)
    assert slack.final_texts("D0RS") == ["The photo follows."]  # the text once, then the file
    # Delivered from the transcript: the model was not asked again.
    assert len(turns_asking(fake_openai, "the photo please")) == asked
