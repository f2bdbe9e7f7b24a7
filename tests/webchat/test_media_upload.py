"""The web chat's files over HTTP against a real gateway: an upload (the token as a Bearer
header) is stored by content under a generated name and goes with `chat.send` to the model as
an image part; the stored file is served only to an authenticated client of that session, as
what its content is, never sniffed or run; refused files get the store's clear reason."""

import asyncio
import base64
from pathlib import Path

import httpx
import pytest

from tests.conftest import GatewayFactory
from tests.fakes.openai_server import FakeOpenAI, image_urls, user_texts
from tests.gateway_process import TOKEN, Gateway
from tests.media import samples
from tests.wsclient import ProtocolClient

pytestmark = pytest.mark.e2e

MAIN = "agent:main:main"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def upload(
    gateway: Gateway, data: bytes, name: str, mime: str, headers: dict[str, str] = AUTH
) -> httpx.Response:
    return httpx.post(
        f"{gateway.url}/chat/media",
        params={"session": MAIN},
        files={"file": (name, data, mime)},
        headers=headers,
    )


def served_only_to_its_session(gateway: Gateway, media: dict[str, str], photo: bytes) -> None:
    url = f"{gateway.url}{media['url']}"
    shown = httpx.get(url, params={"session": MAIN}, headers=AUTH)
    assert shown.status_code == 200 and shown.content == photo
    assert shown.headers["Content-Type"] == "image/png"
    assert shown.headers["X-Content-Type-Options"] == "nosniff"
    assert shown.headers["Content-Disposition"].startswith("inline")
    assert "sandbox" in shown.headers["Content-Security-Policy"]
    assert httpx.get(url, params={"session": MAIN}).status_code == 403
    wrong = {"Authorization": "Bearer not-the-token"}
    assert httpx.get(url, params={"session": MAIN}, headers=wrong).status_code == 403
    other = httpx.get(url, params={"session": "agent:main:other"}, headers=AUTH)
    assert other.status_code == 404
    outside = httpx.get(f"{gateway.url}/chat/media/main/../../openclaw.sqlite3", headers=AUTH)
    assert outside.status_code == 404


async def test_an_uploaded_image_goes_to_the_model_and_is_served_only_to_its_session(
    gateway_factory: GatewayFactory, fake_openai: FakeOpenAI
) -> None:
    gateway = gateway_factory(OPENCLAW_MAX_ATTACHMENT_BYTES=str(64 * 1024))
    photo = samples.png(40, 30)
    created = upload(gateway, photo, "../../etc/passwd.png", "image/png")
    assert created.status_code == 201, created.text
    media = created.json()
    assert media["mime"] == "image/png" and media["kind"] == "image"
    assert media["name"] == "passwd.png"  # a display name only
    stored = gateway.home / Path(media["path"])
    assert stored.read_bytes() == photo and "passwd" not in stored.name

    async with gateway.connect() as ws:
        client = ProtocolClient(ws)
        end, _ = await client.chat("what colour is it?", session=MAIN, media=[media["path"]])
        assert end["event"] == "chat.final"
        bad = await client.request(
            "chat.send", {"text": "x", "session": "agent:main:other", "media": [media["path"]]}
        )
        assert bad["ok"] is False and bad["error"]["code"] == "bad_params"
    [body] = [r.body for r in fake_openai.requests if r.path.endswith("/chat/completions")]
    assert image_urls(body) == ["data:image/png;base64," + base64.b64encode(photo).decode()]
    said = user_texts(body)[-1]
    assert said.startswith("what colour is it?") and "[Image: passwd.png (media/main/" in said

    await asyncio.to_thread(served_only_to_its_session, gateway, media, photo)


def test_uploads_are_refused_without_the_token_or_over_the_cap_or_mislabelled(
    gateway_factory: GatewayFactory,
) -> None:
    gateway = gateway_factory(OPENCLAW_MAX_ATTACHMENT_BYTES=str(64 * 1024))
    assert upload(gateway, samples.png(), "a.png", "image/png", headers={}).status_code == 403
    big = upload(gateway, b"x" * (80 * 1024), "movie.mp4", "video/mp4")
    assert big.status_code == 422 and "the limit is 64 KB" in big.json()["error"]
    program = upload(gateway, samples.exe(), "cat.jpg", "image/jpeg")
    assert program.status_code == 422
    assert program.json()["error"] == "“cat.jpg” is a program; I do not accept those."
    huge = httpx.post(
        f"{gateway.url}/chat/media",
        params={"session": MAIN},
        content=b"x" * (1024 * 1024),
        headers={**AUTH, "Content-Type": "multipart/form-data; boundary=x"},
    )
    assert huge.status_code == 413  # refused while the body arrives, past the cap
    assert not list((gateway.home / "media").rglob("*.exe"))
