"""Telegram updates → `InboundMessage`, as pure functions: which messages we answer, whether a
group message addresses the bot, and the text without the mention.
"""

import re
from dataclasses import dataclass
from typing import Any

from gateway.messages import InboundMessage

# Non-text content we answer politely instead of silently dropping.
MEDIA_KINDS = (
    "photo", "voice", "video", "video_note", "audio", "document", "sticker", "animation",
    "location", "venue", "contact", "poll", "dice",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class BotIdentity:
    """Who the bot is (from getMe): needed to tell when a group message addresses it."""

    id: int
    username: str


def parse_update(
    update: dict[str, Any], account_id: str, bot: BotIdentity
) -> InboundMessage | None:
    """The message in one update, or None for what we ignore (edits, channel posts, service
    messages such as members joining). Non-text content comes back with `unsupported` set."""
    message = update.get("message")
    if not isinstance(message, dict):
        return None
    chat, sender = _dict(message.get("chat")), _dict(message.get("from"))
    if chat.get("type") not in ("private", "group", "supergroup") or "id" not in chat:
        return None
    if "message_id" not in message:
        return None
    text, entities, unsupported = message.get("text"), message.get("entities"), ""
    if not isinstance(text, str):
        kind = next((k for k in MEDIA_KINDS if k in message), None)
        if kind is None:
            return None
        caption = message.get("caption")
        text, entities = (
            caption if isinstance(caption, str) else "",
            message.get("caption_entities"),
        )
        unsupported = kind
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
    )


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
