"""The gateway socket in-process: a page on another origin cannot drive it (even with a staff
session cookie or the token), and `chat.send` is rate limited per identity."""

import asyncio
from collections.abc import AsyncIterator

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import User
from django.test import Client, override_settings

from agents.services import ensure_default_agent
from gateway.consumers import CLOSE_UNAUTHORISED
from gateway.ratelimit import clear_limits
from openclaw.asgi import build_application
from tests.fakes.openai_server import FakeOpenAI
from tests.wsclient import ProtocolClient

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.services]


class CommunicatorSocket:
    def __init__(self, communicator: WebsocketCommunicator) -> None:
        self.communicator = communicator

    async def send(self, message: str) -> None:
        await self.communicator.send_to(text_data=message)

    async def recv(self) -> str:
        return str(await self.communicator.receive_from(timeout=10))


EVIL = (b"origin", b"https://evil.example")
OURS = (b"origin", b"http://127.0.0.1:8000")


def _session_cookie(*, is_staff: bool) -> tuple[bytes, bytes]:
    user = User.objects.create_user(
        "staff" if is_staff else "someone", password="pw", is_staff=is_staff
    )
    client = Client()
    client.force_login(user)
    return (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())


async def _connect(
    path: str, headers: list[tuple[bytes, bytes]]
) -> tuple[WebsocketCommunicator, bool, int | None]:
    # The origin check compares Origin with Host: a browser sends both.
    headers = [(b"host", b"127.0.0.1:8000"), *headers]
    communicator = WebsocketCommunicator(build_application(), path, headers=headers)
    connected, code = await communicator.connect()
    return communicator, connected, code


async def test_staff_cookie_from_another_origin_is_refused_at_handshake() -> None:
    cookie = await database_sync_to_async(_session_cookie)(is_staff=True)
    communicator, connected, _ = await _connect("/ws/gateway/", [EVIL, cookie])
    assert not connected
    await communicator.disconnect()


async def test_token_from_another_origin_is_refused_too() -> None:
    communicator, connected, _ = await _connect("/ws/gateway/?token=test-gateway-token", [EVIL])
    assert not connected
    await communicator.disconnect()


async def test_staff_cookie_on_our_origin_is_accepted() -> None:
    cookie = await database_sync_to_async(_session_cookie)(is_staff=True)
    communicator, connected, _ = await _connect("/ws/gateway/", [OURS, cookie])
    assert connected
    res = await ProtocolClient(CommunicatorSocket(communicator)).request("health")
    assert res["ok"] is True
    await communicator.disconnect()


@pytest.mark.parametrize(
    ("staff", "origin"), [(False, True), (True, False)], ids=["non-staff", "no-origin"]
)
async def test_cookie_without_staff_or_origin_is_closed_4401(staff: bool, origin: bool) -> None:
    cookie = await database_sync_to_async(_session_cookie)(is_staff=staff)
    headers = [cookie, OURS] if origin else [cookie]
    communicator, connected, _ = await _connect("/ws/gateway/", headers)
    assert connected  # accepted, then closed with the application code
    closed = await communicator.receive_output(timeout=5)
    assert closed == {"type": "websocket.close", "code": CLOSE_UNAUTHORISED}
    await communicator.disconnect()


@pytest.fixture
async def token_client(
    running_runtime: None, fake_openai: FakeOpenAI
) -> AsyncIterator[ProtocolClient]:
    await database_sync_to_async(ensure_default_agent)()
    await clear_limits()
    with override_settings(
        OPENAI_BASE_URL=fake_openai.base_url,
        OPENCLAW_MODEL="gpt-fake",
        OPENCLAW_WS_RATE_LIMIT="2/second",
    ):
        communicator, connected, _ = await _connect("/ws/gateway/?token=test-gateway-token", [])
        assert connected
        yield ProtocolClient(CommunicatorSocket(communicator))
        await communicator.disconnect()


async def test_chat_send_is_rate_limited_then_recovers(token_client: ProtocolClient) -> None:
    first = await token_client.request("chat.send", {"text": "one"})
    second = await token_client.request("chat.send", {"text": "two"})
    third = await token_client.request("chat.send", {"text": "three"})
    assert first["ok"] and second["ok"]
    assert third["ok"] is False and third["error"]["code"] == "rate_limited"
    assert "try again in 1 second" in third["error"]["message"]
    health = await token_client.request("health")
    assert health["ok"]  # only chat.send counts, and the socket stays usable
    await asyncio.sleep(1.1)
    fourth = await token_client.request("chat.send", {"text": "four"})
    assert fourth["ok"], fourth
