"""Telegram updates with files: each file kind becomes one Attachment (a photo: its largest
size) with the caption as the message's text."""

from typing import Any

import pytest

from gateway.adapters.telegram_updates import BotIdentity, parse_update
from gateway.messages import Attachment

BOT = BotIdentity(123, "openclaw_bot")


def parse(**fields: Any) -> Any:
    message = {"message_id": 7, "chat": {"id": 42, "type": "private"}, "from": {"id": 42}}
    return parse_update({"update_id": 1, "message": message | fields}, "default", BOT)


def test_a_photo_is_its_largest_size_with_the_caption() -> None:
    sizes = [
        {"file_id": "small", "width": 90, "height": 60, "file_size": 900},
        {"file_id": "large", "width": 1280, "height": 853, "file_size": 90_000},
        {"file_id": "medium", "width": 320, "height": 213, "file_size": 9_000},
    ]
    message = parse(photo=sizes, caption="what is this?")
    assert message.text == "what is this?" and message.unsupported == ""
    assert message.attachments == (Attachment("large", "photo.jpg", "image/jpeg", 90_000, "photo"),)


@pytest.mark.parametrize(
    ("kind", "item", "expected"),
    [
        (
            "document",
            {"file_id": "d", "file_name": "report.pdf", "mime_type": "application/pdf"},
            Attachment("d", "report.pdf", "application/pdf", None, "document"),
        ),
        (
            "voice",
            {"file_id": "v", "duration": 3, "mime_type": "audio/ogg", "file_size": 5000},
            Attachment("v", "voice.ogg", "audio/ogg", 5000, "voice"),
        ),
        (
            "audio",
            {"file_id": "a", "file_name": "song.mp3", "mime_type": "audio/mpeg"},
            Attachment("a", "song.mp3", "audio/mpeg", None, "audio"),
        ),
        (
            "video_note",
            {"file_id": "n", "length": 240, "duration": 2},
            Attachment("n", "video_note.mp4", "video/mp4", None, "video_note"),
        ),
    ],
)
def test_each_file_kind_is_an_attachment(
    kind: str, item: dict[str, Any], expected: Attachment
) -> None:
    message = parse(**{kind: item})
    assert message.text == "" and message.unsupported == ""
    assert message.attachments == (expected,)


def test_a_malformed_file_is_refused_politely() -> None:
    message = parse(document={"file_name": "no id"})
    assert message.attachments == () and message.unsupported == "document"
