"""Who may upload to and read from the web chat's media endpoint when signed in to the admin:
staff with the session permissions, and for an upload only from the gateway's own origin (a
page elsewhere cannot ride the cookie); a plain user or staff without the permission may not."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import AsyncClient, override_settings

from agents.services import ensure_default_agent
from tests.media import samples

pytestmark = pytest.mark.django_db(transaction=True)
MAIN = "agent:main:main"


@pytest.fixture(autouse=True)
def home(tmp_path: Path) -> Iterator[Path]:
    with override_settings(OPENCLAW_HOME=tmp_path, OPENCLAW_WORKSPACES=tmp_path / "workspaces"):
        ensure_default_agent()
        yield tmp_path


def _user(name: str, *, staff: bool, perms: tuple[str, ...] = ()) -> AsyncClient:
    user = get_user_model().objects.create_user(name, password="x", is_staff=staff)
    for codename in perms:
        user.user_permissions.add(
            Permission.objects.get(codename=codename, content_type__app_label="agents")
        )
    client = AsyncClient()
    client.force_login(user)
    return client


async def _upload(client: AsyncClient, origin: str | None) -> int:
    headers = {"Origin": origin} if origin else {}
    response = await client.post(
        f"/chat/media?session={MAIN}",
        {"file": SimpleUploadedFile("a.png", samples.png(), "image/png")},
        headers=headers,
    )
    return int(response.status_code)


async def test_staff_with_the_permissions_upload_from_our_origin_only() -> None:
    both = ("view_session", "change_session")
    staff = await sync_to_async(_user)("ops", staff=True, perms=both)
    assert await _upload(staff, "http://testserver") == 201
    assert await _upload(staff, "https://evil.example") == 403
    assert await _upload(staff, None) == 403  # a cookie alone is not enough to write
    viewer = await sync_to_async(_user)("viewer", staff=True, perms=("view_session",))
    assert await _upload(viewer, "http://testserver") == 403
    plain = await sync_to_async(_user)("visitor", staff=False, perms=both)
    assert await _upload(plain, "http://testserver") == 403


async def test_reading_a_file_needs_view_session() -> None:
    writer = await sync_to_async(_user)("ops", staff=True, perms=("view_session", "change_session"))
    response = await writer.post(
        f"/chat/media?session={MAIN}",
        {"file": SimpleUploadedFile("a.png", samples.png(), "image/png")},
        headers={"Origin": "http://testserver"},
    )
    url = response.json()["url"] + f"?session={MAIN}"
    assert (await writer.get(url)).status_code == 200
    nobody = await sync_to_async(_user)("nobody", staff=True)
    assert (await nobody.get(url)).status_code == 403
    assert (await AsyncClient().get(url)).status_code == 403
