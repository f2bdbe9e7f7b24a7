"""gateway.media_inbound.receive: each file stored and described, or refused with a reason the
sender reads; the journal entry then holds the turn's text and the stored files."""

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from channels.db import database_sync_to_async
from django.test import override_settings

from gateway.adapters.base import AdapterError
from gateway.media_inbound import Fetch, receive, resumed
from gateway.messages import Attachment
from gateway.models import InboundRecord
from tests.agents.tool_context import make_ctx
from tests.media import samples

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def home(tmp_path: Path) -> Iterator[Path]:
    with override_settings(OPENCLAW_HOME=tmp_path, OPENCLAW_TRANSCRIBE_MODEL=""):
        yield tmp_path


def fetcher(files: dict[str, bytes]) -> Fetch:
    """An adapter's `fetch` serving `files` by ref; any other ref fails as Telegram's would."""

    async def fetch(attachment: Attachment) -> AsyncIterator[bytes]:
        if attachment.ref not in files:
            raise AdapterError("getFile: Bad Request: invalid file_id", permanent=True)
        yield files[attachment.ref]

    return fetch


def record() -> int:
    row = InboundRecord.objects.create(
        channel="telegram", account_id="default", message_id="1:1", chat_id="1", sender_id="1"
    )
    return row.pk


async def test_files_are_stored_described_and_journaled() -> None:
    pk = await database_sync_to_async(record)()
    photo = Attachment("p", "photo.jpg", "image/jpeg", None, "photo")
    gone = Attachment("x", "old.pdf", "application/pdf", None, "document")
    received = await receive(
        pk, "look", [photo, gone], "main", "auto", fetcher({"p": samples.jpeg()})
    )
    assert received.refusals == ("I could not download “old.pdf”; please send it again.",)
    assert received.text.startswith("look\n\n[Image: photo.jpg (media/main/")
    assert "could not be downloaded" in received.text and received.image_input == "auto"
    row = await InboundRecord.objects.aget(pk=pk)
    assert row.text == received.text and row.media["received"] is True
    assert [m["name"] for m in row.media["stored"]] == ["photo.jpg"]


async def test_nothing_taken_and_no_text_leaves_no_turn() -> None:
    pk = await database_sync_to_async(record)()
    attachment = Attachment("e", "tool.exe", "", None, "document")
    received = await receive(pk, "", [attachment], "main", "auto", fetcher({"e": samples.exe()}))
    assert not received.runs and "is a program" in received.refusals[0]


async def test_images_are_not_offered_when_the_agent_turned_them_off() -> None:
    pk = await database_sync_to_async(record)()
    photo = Attachment("p", "photo.jpg", "image/jpeg", None, "photo")
    received = await receive(pk, "", [photo], "main", "off", fetcher({"p": samples.jpeg()}))
    assert received.runs and received.image_input == ""


async def test_a_resumed_entry_reuses_what_was_stored(home: Path) -> None:
    stored: dict[str, object] = {"path": "media/main/2026-12-08/a.jpg", "mime": "image/jpeg"}
    stored |= {"kind": "image", "size": 3, "sha256": "ab", "name": "a.jpg"}
    media = {"received": True, "stored": [stored], "image_input": "on"}
    session = make_ctx(home).session
    again = await resumed(0, "text", media, session, fetcher({}))
    assert (again.text, again.media, again.image_input) == ("text", (stored,), "on")


async def test_a_file_the_disk_cannot_take_is_refused_and_the_text_still_runs(home: Path) -> None:
    (home / "media").write_text("not a folder")  # the store cannot make its day folder
    pk = await database_sync_to_async(record)()
    photo = Attachment("p", "photo.jpg", "image/jpeg", None, "photo")
    received = await receive(pk, "look", [photo], "main", "auto", fetcher({"p": samples.jpeg()}))
    assert received.refusals == ("I could not store “photo.jpg”; please send it again.",)
    assert received.runs and received.text.startswith("look\n\n[A file was sent but not stored")
    row = await InboundRecord.objects.aget(pk=pk)
    assert row.text == received.text and row.media["received"] is True
