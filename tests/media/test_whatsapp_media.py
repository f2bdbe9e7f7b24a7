"""WhatsApp's media types and limits for what we send, and where the access token may go."""

from pathlib import Path

import pytest
from django.test import override_settings

from agents.media.outbound import OutgoingFile
from agents.media.types import kind_of
from gateway.adapters.whatsapp_media import may_carry_token, media_message, media_type

MB = 1024 * 1024


def _file(mime: str, caption: str = "") -> OutgoingFile:
    return OutgoingFile(Path("/x"), mime, kind_of(mime), "x.bin", caption)


@pytest.mark.parametrize(
    ("mime", "size", "sent_as"),
    [
        ("image/jpeg", 5 * MB, "image"),
        ("image/png", 1000, "image"),
        ("image/jpeg", 5 * MB + 1, "document"),  # over the image limit: still delivered
        ("image/webp", 1000, "document"),  # not an image type WhatsApp sends
        ("audio/ogg", 16 * MB, "audio"),
        ("video/mp4", 16 * MB + 1, "document"),
        ("application/pdf", 100 * MB, "document"),
        ("application/pdf", 100 * MB + 1, None),
    ],
)
def test_each_file_goes_as_the_type_whatsapp_takes_at_its_size(
    mime: str, size: int, sent_as: str | None
) -> None:
    found = media_type(_file(mime), size)
    assert (found.name if found else None) == sent_as


def test_captions_only_where_whatsapp_takes_them() -> None:
    audio = media_type(_file("audio/mpeg", "hi"), 10)
    image = media_type(_file("image/png", "hi"), 10)
    assert audio is not None and image is not None
    assert "caption" not in media_message("1", audio, "m1", _file("audio/mpeg", "hi"))["audio"]
    assert media_message("1", image, "m2", _file("image/png", "x" * 2000))["image"] == {
        "id": "m2",
        "caption": "x" * 1024,
    }


@override_settings(WHATSAPP_API_URL="https://graph.facebook.com/v21.0")
@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1", True),
        ("https://graph.facebook.com/v21.0/1", True),
        ("http://lookaside.fbsbx.com/x", False),
        ("https://fbsbx.com.evil.example/x", False),
        ("https://evil.example/?fbsbx.com", False),
    ],
)
def test_the_access_token_goes_only_to_meta(url: str, ok: bool) -> None:
    assert may_carry_token(url) is ok
