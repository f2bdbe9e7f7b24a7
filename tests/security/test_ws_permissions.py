"""Staff on the gateway WebSocket need the Django permissions the admin asks for the same thing:
a staff user without them, on our own origin, can neither read a session, nor write into one,
nor decide an exec approval; the gateway token can."""

import pytest
from channels.db import database_sync_to_async
from django.contrib.auth.models import Permission, User
from django.test import Client

from agents.services import ensure_default_agent
from gateway.approvals import request_exec_approval
from tests.security.test_websocket import OURS, CommunicatorSocket, _connect
from tests.wsclient import ProtocolClient

pytestmark = [pytest.mark.django_db(transaction=True)]


def _staff_cookie(username: str, *perms: str) -> tuple[bytes, bytes]:
    user = User.objects.create_user(username, password="pw", is_staff=True)
    for perm in perms:
        app, codename = perm.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app, codename=codename)
        )
    client = Client()
    client.force_login(user)
    return (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())


async def _client(*headers: tuple[bytes, bytes], path: str = "/ws/gateway/") -> ProtocolClient:
    communicator, connected, _ = await _connect(path, list(headers))
    assert connected
    return ProtocolClient(CommunicatorSocket(communicator))


def _approval() -> int:
    ensure_default_agent()
    return request_exec_approval(run_id="r1", session_key="agent:main:main", command="ls").id


async def test_staff_without_permissions_reaches_nothing(running_runtime: None) -> None:
    cookie = await database_sync_to_async(_staff_cookie)("nobody")
    approval = await database_sync_to_async(_approval)()
    client = await _client(OURS, cookie)
    assert (await client.request("health"))["ok"] is True
    for method, params in [
        ("sessions.list", {}),
        ("sessions.history", {"session": "agent:main:main"}),
        ("chat.attach", {"session": "agent:main:main"}),
        ("chat.send", {"text": "show me the owner's chat"}),
        ("sessions.reset", {"session": "agent:main:main"}),
        ("exec.decide", {"approval": approval, "approve": True}),
    ]:
        answer = await client.request(method, params)
        assert answer["error"]["code"] == "forbidden", (method, answer)


async def test_staff_may_do_what_their_permissions_allow(running_runtime: None) -> None:
    cookie = await database_sync_to_async(_staff_cookie)("reader", "agents.view_session")
    approval = await database_sync_to_async(_approval)()
    client = await _client(OURS, cookie)
    history = await client.request("sessions.history", {"session": "agent:main:main"})
    assert history["ok"] is True
    decided = await client.request("exec.decide", {"approval": approval, "approve": True})
    assert decided["error"]["code"] == "forbidden"

    token = await _client(path="/ws/gateway/?token=test-gateway-token")
    decided = await token.request("exec.decide", {"approval": approval, "approve": True})
    assert decided["result"]["status"] == "approved"
