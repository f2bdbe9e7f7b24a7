"""The web chat's stored media from the attacker's seat, end to end (a real gateway, the fake
Telegram Bot API, the fake model): a photo the owner sent in their own Telegram chat is stored
and named in the main session's transcript. Without the gateway token (none, a wrong one, one
in the URL, the hooks token), or as a staff user without the session permission, nothing is
served and nothing can be uploaded; asked for under another session's key, or by a path that
climbs out of the media folder (encoded so no client tidies it away), it is not found."""

import http.client
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import GatewayFactory
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.telegram_server import FakeTelegram
from tests.gateway_process import ROOT, TOKEN, Gateway, base_env
from tests.media import samples
from tests.telegram_e2e import configure, polling_gateway, telegram_env, texts

pytestmark = pytest.mark.e2e

OWNER, STRANGER, MEMBER = 5400, 5401, 5402
GROUP = -100940
HOOKS_TOKEN = "hooks-token-webchat-media"
MAIN = "agent:main:main"
PHOTO = samples.png(36, 28)
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def gateway(
    migrated_home: Path,
    tmp_path_factory: pytest.TempPathFactory,
    fake: FakeTelegram,
    model: FakeOpenAI,
) -> Iterator[Gateway]:
    factory = GatewayFactory(migrated_home, tmp_path_factory.mktemp("webchat-media"), model)
    env = telegram_env(fake, OPENCLAW_HOOKS_TOKEN=HOOKS_TOKEN)
    configure(
        factory.home,
        env,
        "from gateway.models import ChannelAccount\n"
        "ChannelAccount.objects.filter(channel='telegram').update("
        f"owner_ids=['{OWNER}'], allow_from=['{STRANGER}'], group_allowlist=['{GROUP}'],"
        " group_sender_allowlist=[])\n",
    )
    with polling_gateway(factory, fake, env) as gateway:
        yield gateway


@pytest.fixture(scope="module")
def owner_photo(gateway: Gateway, fake: FakeTelegram) -> str:
    """The media path of the owner's photo (main session), and the stranger's and the group's
    sessions exist too."""
    fake.push_update(fake.photo(OWNER, caption="my passport", data=PHOTO))
    fake.push_update(fake.text(STRANGER, "hello"))
    fake.push_update(fake.text(GROUP, "@openclaw_bot hello", sender=MEMBER))
    fake.wait_for(lambda: all(texts(fake, chat) for chat in (OWNER, STRANGER, GROUP)), 20)
    [stored] = (gateway.home / "media" / "main").rglob("*.png")
    return stored.relative_to(gateway.home).as_posix()


def staff_cookie(gateway: Gateway, username: str, *perms: str) -> str:
    """A signed-in staff user's session cookie, made in the gateway's database."""
    code = (
        "from django.contrib.auth.models import Permission, User\n"
        "from django.test import Client\n"
        f"user = User.objects.create_user({username!r}, password='pw-long-enough-1', is_staff=True)\n"
        f"for perm in {list(perms)!r}:\n"
        "    app, codename = perm.split('.')\n"
        "    user.user_permissions.add(Permission.objects.get(content_type__app_label=app, codename=codename))\n"
        "client = Client()\n"
        "client.force_login(user)\n"
        "print(client.cookies['sessionid'].value)\n"
    )
    done = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=base_env(gateway.home),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout.strip().splitlines()[-1]


def raw_get(gateway: Gateway, target: str, headers: dict[str, str]) -> tuple[int, bytes]:
    """A GET whose request target is sent exactly as written (no client normalises `..`)."""
    connection = http.client.HTTPConnection("127.0.0.1", gateway.port, timeout=10)
    try:
        connection.request("GET", target, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def test_the_owner_sees_its_photo(gateway: Gateway, owner_photo: str) -> None:
    """The control: the token holder gets the photo in the session that received it."""
    url = f"{gateway.url}/chat/{owner_photo}"
    shown = httpx.get(url, params={"session": MAIN}, headers=AUTH)
    assert shown.status_code == 200 and shown.content == PHOTO


def test_without_the_gateway_token_nothing_is_served_or_uploaded(
    gateway: Gateway, owner_photo: str
) -> None:
    url = f"{gateway.url}/chat/{owner_photo}"
    refused = [
        {},
        {"Authorization": "Bearer not-the-token"},
        {"Authorization": f"Bearer {HOOKS_TOKEN}"},
        {"X-OpenClaw-Token": TOKEN},
        {"Authorization": f"Basic {TOKEN}"},
        {"Cookie": "sessionid=forged-session-id"},
    ]
    for headers in refused:
        got = httpx.get(url, params={"session": MAIN}, headers=headers)
        assert got.status_code == 403 and PHOTO not in got.content, headers
        sent = httpx.post(
            f"{gateway.url}/chat/media",
            params={"session": MAIN},
            files={"file": ("x.png", samples.png(), "image/png")},
            headers=headers,
        )
        assert sent.status_code == 403, headers
    for query in ({"session": MAIN, "token": TOKEN}, {"session": MAIN, "access_token": TOKEN}):
        assert httpx.get(url, params=query).status_code == 403
    assert len(list((gateway.home / "media" / "main").rglob("*.png"))) == 1  # nothing stored


def test_a_staff_user_without_the_session_permission_gets_nothing(
    gateway: Gateway, owner_photo: str
) -> None:
    url = f"{gateway.url}/chat/{owner_photo}"
    nobody = {"Cookie": f"sessionid={staff_cookie(gateway, 'nobody')}"}
    got = httpx.get(url, params={"session": MAIN}, headers=nobody)
    assert got.status_code == 403 and PHOTO not in got.content
    # Allowed to look but not to change sessions: no upload either.
    reader = {"Cookie": f"sessionid={staff_cookie(gateway, 'reader', 'agents.view_session')}"}
    sent = httpx.post(
        f"{gateway.url}/chat/media",
        params={"session": MAIN},
        files={"file": ("x.png", samples.png(), "image/png")},
        headers={**reader, "Origin": gateway.url},
    )
    assert sent.status_code == 403
    assert httpx.get(url, params={"session": MAIN}, headers=reader).content == PHOTO  # control


def test_another_sessions_key_or_a_path_out_gets_not_found(
    gateway: Gateway, owner_photo: str
) -> None:
    """The owner's photo belongs to the main session: not served for the stranger's or the
    group's session, a made-up one or another agent's; paths climbing out of the media
    folder (encoded, and sent as written) find nothing."""
    url = f"{gateway.url}/chat/{owner_photo}"
    others = [
        f"agent:main:telegram:dm:{STRANGER}",
        f"agent:main:telegram:group:{GROUP}",
        "agent:main:api:default",
        "agent:other:main",
        "",
        "main",
    ]
    for session in others:
        got = httpx.get(url, params={"session": session}, headers=AUTH)
        assert got.status_code == 404 and PHOTO not in got.content, session
    assert httpx.get(url, headers=AUTH).status_code == 404  # no session at all
    name = owner_photo.removeprefix("media/main/")
    secrets = ["openclaw.sqlite3", "gateway.token", "secrets.env"]
    targets = [f"/chat/media/main/%2e%2e/%2e%2e/{s}?session={MAIN}" for s in secrets]
    targets += [f"/chat/media/main/..%2f..%2f{s}?session={MAIN}" for s in secrets]
    targets += [f"/chat/media/main/../../{s}?session={MAIN}" for s in secrets]
    targets += [f"/chat/media/main/{name}/..%2f..%2f..%2fgateway.token?session={MAIN}"]
    targets += [f"/chat/media/other/../main/{name}?session={MAIN}"]
    targets += [f"/chat/media/%2fetc%2fpasswd?session={MAIN}"]
    stored_token = gateway.home / "gateway.token"
    token = stored_token.read_bytes() if stored_token.exists() else b""
    for target in targets:
        status, body = raw_get(gateway, target, AUTH)
        assert status in (400, 404), (target, status)
        assert b"SQLite format 3" not in body and TOKEN.encode() not in body
        assert not token or token not in body


def test_a_path_a_stranger_typed_into_their_chat_is_no_way_out(
    gateway: Gateway, fake: FakeTelegram, owner_photo: str
) -> None:
    """A file is served for a session whose transcript names its path: a stranger who types
    a path climbing out of the media folder into their own chat gets it named there, and it
    still leads nowhere."""
    planted = "media/main/../../openclaw.sqlite3"
    fake.push_update(fake.text(STRANGER, f"look at {planted} please"))
    fake.wait_for(lambda: any(planted in t for t in texts(fake, STRANGER)), timeout=20)
    session = f"agent:main:telegram:dm:{STRANGER}"
    for target in (
        f"/chat/media/main/..%2f..%2fopenclaw.sqlite3?session={session}",
        f"/chat/media/main/%2e%2e/%2e%2e/openclaw.sqlite3?session={session}",
    ):
        status, body = raw_get(gateway, target, AUTH)
        assert status in (400, 404), (target, status)
        assert b"SQLite format 3" not in body
