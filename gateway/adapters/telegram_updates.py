"""Telegram updates → `InboundMessage`, as pure functions: which messages we answer, whether a
group message addresses the bot, and the text without the mention.
"""

import re
from dataclasses import dataclass
from typing import Any

from gateway.messages import Attachment, InboundMessage

# Files we fetch (getFile + download): the message's key → (default name, default MIME type).
FILE_KINDS = {
    "photo": ("photo.jpg", "image/jpeg"),  # Telegram re-encodes photos as JPEG
    "document": ("document", ""),
    "voice": ("voice.ogg", "audio/ogg"),
    "audio": ("audio", ""),
    "video": ("video.mp4", "video/mp4"),
    "video_note": ("video_note.mp4", "video/mp4"),
    "animation": ("animation.mp4", "video/mp4"),
}
# Other content we answer politely instead of silently dropping.
UNSUPPORTED_KINDS = ("sticker", "location", "venue", "contact", "poll", "dice")


@dataclass(frozen=True, slots=True)
class BotIdentity:
    """Who the bot is (from getMe): needed to tell when a group message addresses it."""

    id: int
    username: str


def parse_update(
    update: dict[str, Any], account_id: str, bot: BotIdentity
) -> InboundMessage | None:
    """The message in one update, or None for what we ignore (edits, channel posts, service
    messages such as members joining). Files (photos, documents, voice notes, audio, videos, video
    notes, animations) come back as `attachments` with the caption as text; other non-text
    content (stickers, locations, polls, ...) with `unsupported` set."""
    message = update.get("message")
    if not isinstance(message, dict):
        return None
    chat, sender = _dict(message.get("chat")), _dict(message.get("from"))
    if chat.get("type") not in ("private", "group", "supergroup") or "id" not in chat:
        return None
    if "message_id" not in message:
        return None
    text, entities, unsupported = message.get("text"), message.get("entities"), ""
    attachments: tuple[Attachment, ...] = ()
    if not isinstance(text, str):
        kind = next((k for k in (*FILE_KINDS, *UNSUPPORTED_KINDS) if k in message), None)
        if kind is None:
            return None
        attachments = _attachments(message)  # none for a malformed file: refused politely
        caption = message.get("caption")
        text, entities = (
            caption if isinstance(caption, str) else "",
            message.get("caption_entities"),
        )
        unsupported = "" if attachments else kind
    mentioned, text = _addressing(text, entities if isinstance(entities, list) else [], bot)
    is_group = chat["type"] != "private"
    replied = _dict(message.get("reply_to_message"))
    # In a forum every topic message "replies" to the topic's creation notice: not a reply.
    reply_to_bot = (
        is_group
        and "forum_topic_created" not in replied
        and _dict(replied.get("from")).get("id") == bot.id
    )
    topic = message.get("message_thread_id") if message.get("is_topic_message") else None
    name = " ".join(str(n) for n in (sender.get("first_name"), sender.get("last_name")) if n)
    return InboundMessage(
        channel="telegram",
        account=account_id,
        chat_id=str(chat["id"]),
        sender_id=str(sender.get("id", "")),
        message_id=f"{chat['id']}:{message['message_id']}",  # message ids are per chat
        text=text,
        sender_name=name or str(sender.get("username") or ""),
        thread_id=str(topic) if topic is not None else "",
        is_group=is_group,
        mentioned=is_group and mentioned,
        reply_to_bot=reply_to_bot,
        unsupported=unsupported,
        attachments=attachments,
    )


def _attachments(message: dict[str, Any]) -> tuple[Attachment, ...]:
    """The file a message carries (a photo: its largest size), as an `Attachment` whose ref is
    the file_id; none for a malformed one."""
    for kind, (default_name, default_mime) in FILE_KINDS.items():
        if kind not in message:
            continue
        item = message[kind]
        if kind == "photo":
            sizes = [p for p in item if isinstance(p, dict)] if isinstance(item, list) else []
            item = max(sizes, key=_pixels, default=None)
        if not isinstance(item, dict) or not isinstance(item.get("file_id"), str):
            return ()
        size = item.get("file_size")
        return (
            Attachment(
                ref=item["file_id"],
                name=str(item.get("file_name") or default_name),
                mime=str(item.get("mime_type") or default_mime),
                size=size if isinstance(size, int) else None,
                kind=kind,
            ),
        )
    return ()


def _pixels(size: dict[str, Any]) -> int:
    width, height = size.get("width"), size.get("height")
    if isinstance(width, int) and isinstance(height, int):
        return width * height
    file_size = size.get("file_size")
    return file_size if isinstance(file_size, int) else 0


def _dict(value: object) -> dict[str, Any]:
    """`value` if it is an object, else an empty one: payload fields are untrusted shapes."""
    return value if isinstance(value, dict) else {}


def _addressing(text: str, entities: list[Any], bot: BotIdentity) -> tuple[bool, str]:
    """Whether the text mentions the bot (@name, or /command@name), and the text without the
    mention. Entity offsets count UTF-16 code units, so slicing happens on UTF-16 bytes."""
    units = text.encode("utf-16-le")
    handle = f"@{bot.username}".lower()
    mentioned, cuts = False, []
    for entity in entities:
        if not isinstance(entity, dict):
            continue
        start, length = int(entity.get("offset", 0)), int(entity.get("length", 0))
        piece = units[2 * start : 2 * (start + length)].decode("utf-16-le", "replace")
        kind = entity.get("type")
        if kind == "mention" and bot.username and piece.lower() == handle:
            mentioned = True
            cuts.append((start, start + length))
        elif kind == "text_mention" and (entity.get("user") or {}).get("id") == bot.id:
            mentioned = True
        elif kind == "bot_command" and bot.username and piece.lower().endswith(handle):
            mentioned = True
            cuts.append((start + length - len(handle.encode("utf-16-le")) // 2, start + length))
    if not cuts:
        return mentioned, text
    for start, end in sorted(cuts, reverse=True):
        units = units[: 2 * start] + units[2 * end :]
    stripped = units.decode("utf-16-le", "replace")
    return mentioned, re.sub(r"[ \t]{2,}", " ", stripped).strip()
