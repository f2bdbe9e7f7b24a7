"""Telegram: the adapter (replies as HTML, edits in place, typing, files both ways) and
`PLATFORM`. The Bot API client is telegram_api, update parsing telegram_updates, Markdown → HTML
telegram_html, and polling or webhook registration telegram_listener.
"""

from collections.abc import AsyncIterator, Mapping
from typing import Any

from agents.media.outbound import OutgoingFile
from gateway.adapters.base import Adapter, AdapterError, read_outgoing
from gateway.adapters.telegram_api import BotApi
from gateway.adapters.telegram_html import render
from gateway.adapters.telegram_listener import listener
from gateway.adapters.telegram_updates import BotIdentity
from gateway.messages import Attachment, ReplyTarget
from gateway.platforms import Platform
from openclaw.perf import offload

CAPTION_CHARS = 1024  # Telegram's limit for a caption
PHOTO_BYTES = 10 * 1024 * 1024  # sendPhoto's limit; a bigger image goes as a document
PHOTO_TYPES = frozenset({"image/jpeg", "image/png", "image/webp"})
UPLOAD_BYTES = 50 * 1024 * 1024  # what a bot may upload at all


class TelegramAdapter(Adapter):
    """One bot token. Replies go out as Telegram HTML; failures are the `BotApi`'s
    `AdapterError`s, and a 400 "can't parse entities" is `FormattingRejected`."""

    channel = "telegram"
    max_chars = 4096
    can_edit = True

    def __init__(self, account_id: str, credentials: Mapping[str, str], options: Mapping[str, Any]):
        super().__init__(account_id, credentials, options)
        self.api = BotApi(self.credentials.get("bot_token", ""))

    async def identity(self) -> BotIdentity:
        return await self.api.identity()

    async def send(self, target: ReplyTarget, text: str, *, formatted: bool = True) -> str:
        payload = _address(target) | _text(text, formatted)
        reply_to = target.reply_to.rpartition(":")[2]
        if reply_to.isdigit() and target.chat_id.startswith("-"):  # groups: answer the message
            reply = {"message_id": int(reply_to), "allow_sending_without_reply": True}
            payload["reply_parameters"] = reply
        result = await self.api.call("sendMessage", payload)
        return str(result["message_id"])

    async def edit(
        self, target: ReplyTarget, message_id: str, text: str, *, formatted: bool = True
    ) -> None:
        edited = {"message_id": int(message_id.rpartition(":")[2])}
        payload = _address(ReplyTarget(target.chat_id)) | edited | _text(text, formatted)
        try:
            await self.api.call("editMessageText", payload)
        except AdapterError as error:
            if "message is not modified" not in str(error):
                raise

    async def fetch(self, attachment: Attachment) -> AsyncIterator[bytes]:
        """getFile, then the download from /file/bot<token>/<file_path>, streamed."""
        async for chunk in self.api.download(attachment.ref):
            yield chunk

    async def send_file(self, target: ReplyTarget, file: OutgoingFile) -> str:
        """sendPhoto for a JPEG, PNG or WebP image up to 10 MB, sendVoice for an Ogg voice note,
        sendDocument for everything else; the caption goes as plain text, cut to Telegram's 1,024
        characters (a caption the HTML parser refused would fail the whole upload)."""
        too_big = f"{file.name} is over Telegram's 50 MB upload limit"
        data = await offload.files(read_outgoing, file, UPLOAD_BYTES, too_big)
        size = len(data)
        if file.mime in PHOTO_TYPES and size <= PHOTO_BYTES:
            method, field = "sendPhoto", "photo"
        elif file.mime == "audio/ogg":
            method, field = "sendVoice", "voice"
        else:
            method, field = "sendDocument", "document"
        fields = _address(target)
        if file.caption:
            fields["caption"] = file.caption[:CAPTION_CHARS]
        result = await self.api.upload(method, fields, field, (file.name, data, file.mime))
        return str(result["message_id"])

    async def typing(self, target: ReplyTarget) -> None:
        await self.api.call("sendChatAction", _address(target) | {"action": "typing"})

    async def close(self) -> None:
        await self.api.close()


def _address(target: ReplyTarget) -> dict[str, Any]:
    chat = target.chat_id
    address: dict[str, Any] = {"chat_id": int(chat) if chat.lstrip("-").isdigit() else chat}
    if target.thread_id.isdigit():
        address["message_thread_id"] = int(target.thread_id)
    return address


def _text(text: str, formatted: bool) -> dict[str, Any]:
    return {"text": render(text), "parse_mode": "HTML"} if formatted else {"text": text}


PLATFORM = Platform(
    channel="telegram", adapter=TelegramAdapter, required=("bot_token",), listener=listener
)
