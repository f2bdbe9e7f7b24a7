"""WhatsApp Cloud API media both ways: the media of a webhook message as an `Attachment` (its
media id), the download (GET /<media-id> for a short-lived URL, then that URL, both with the
access token), and the upload (POST /<phone-number-id>/media, multipart) with the media
message that sends it, within WhatsApp's limits per type.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

from agents.media.outbound import OutgoingFile
from gateway.messages import Attachment

MB = 1024 * 1024
CAPTION_CHARS = 1024  # WhatsApp's limit for a media caption
# Message types that carry a file we fetch → the name shown when the sender gave none.
FILE_KINDS = {
    "image": "image.jpg",
    "document": "document",
    "audio": "audio",
    "video": "video.mp4",
    "sticker": "sticker.webp",
}


@dataclass(frozen=True, slots=True)
class MediaType:
    """One of WhatsApp's media message types: the MIME types it takes, its size limit, and
    whether it carries a caption (audio and stickers do not)."""

    name: str
    mimes: frozenset[str]
    max_bytes: int
    caption: bool


# https://developers.facebook.com/docs/whatsapp/cloud-api/reference/media#supported-media-types
IMAGE = MediaType("image", frozenset({"image/jpeg", "image/png"}), 5 * MB, True)
VIDEO = MediaType("video", frozenset({"video/mp4", "video/3gpp"}), 16 * MB, True)
AUDIO = MediaType(
    "audio",
    frozenset({"audio/aac", "audio/amr", "audio/mpeg", "audio/mp4", "audio/ogg"}),
    16 * MB,
    False,
)
DOCUMENT = MediaType("document", frozenset(), 100 * MB, True)  # any type


def attachment_of(raw: Mapping[str, Any]) -> Attachment | None:
    """The file of an image, document, audio (voice note), video or sticker message, with its
    media id as `ref`; None for other messages or a malformed one."""
    kind = raw.get("type")
    body = raw.get(kind) if isinstance(kind, str) and kind in FILE_KINDS else None
    if not isinstance(body, Mapping) or not isinstance(body.get("id"), str) or not body["id"]:
        return None
    assert isinstance(kind, str)  # noqa: S101  # a FILE_KINDS key, checked above
    filename = body.get("filename")
    mime = body.get("mime_type")
    voice = kind == "audio" and body.get("voice") is True
    return Attachment(
        ref=body["id"],
        name=filename if isinstance(filename, str) and filename else FILE_KINDS[kind],
        # "audio/ogg; codecs=opus": the type without its parameters is the claim we check
        mime=mime.partition(";")[0].strip() if isinstance(mime, str) else "",
        kind="voice" if voice else kind,
    )


def caption_of(raw: Mapping[str, Any]) -> str:
    """The caption of an image, video or document message ("" for none)."""
    kind = raw.get("type")
    body = raw.get(kind) if isinstance(kind, str) else None
    caption = body.get("caption") if isinstance(body, Mapping) else None
    return caption if isinstance(caption, str) else ""


def may_carry_token(url: str) -> bool:
    """Whether the access token may go with a download from `url`: Meta's media hosts over
    HTTPS, or the host WHATSAPP_API_URL names (tests point it at a fake)."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    api = urlsplit(settings.WHATSAPP_API_URL)
    if host and host == (api.hostname or "").lower() and parts.scheme == api.scheme:
        return True
    meta = ("fbsbx.com", "facebook.com", "fbcdn.net", "whatsapp.net")
    return parts.scheme == "https" and any(host == d or host.endswith("." + d) for d in meta)


def media_type(file: OutgoingFile, size: int) -> MediaType | None:
    """The message type `file` goes out as: an image, video or audio when WhatsApp takes its
    type at its size, else a document; None when even a document is too large."""
    for candidate in (IMAGE, VIDEO, AUDIO):
        if file.mime in candidate.mimes and size <= candidate.max_bytes:
            return candidate
    return DOCUMENT if size <= DOCUMENT.max_bytes else None


def media_message(to: str, kind: MediaType, media_id: str, file: OutgoingFile) -> dict[str, Any]:
    """The /messages body that sends an uploaded file, with its caption where WhatsApp takes
    one, and a document's file name."""
    content: dict[str, Any] = {"id": media_id}
    if kind.caption and file.caption:
        content["caption"] = file.caption[:CAPTION_CHARS]
    if kind is DOCUMENT:
        content["filename"] = file.name
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": kind.name,
        kind.name: content,
    }
