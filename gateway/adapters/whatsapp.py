"""WhatsApp Cloud API: webhook payloads → `InboundMessage`s, replies through the Graph API's
`/{phone_number_id}/messages` with httpx, files both ways (whatsapp_media's types and limits);
our Markdown in WhatsApp's own markup is whatsapp_text's `to_whatsapp`.
"""

import hashlib
import hmac
from collections.abc import AsyncIterator, Mapping
from typing import Any

import httpx
from django.conf import settings

from agents.media.outbound import OutgoingFile
from agents.media.store import check_declared
from gateway.adapters.base import Adapter, AdapterError, read_outgoing, split_text
from gateway.adapters.whatsapp_media import (
    DOCUMENT,
    attachment_of,
    caption_of,
    may_carry_token,
    media_message,
    media_type,
)
from gateway.adapters.whatsapp_text import to_whatsapp
from gateway.connections import PlatformConnection
from gateway.messages import Attachment, InboundMessage, ReplyTarget
from gateway.platforms import Listener, Platform
from openclaw.perf import offload

TIMEOUT = httpx.Timeout(20.0, connect=10.0)
FILE_TIMEOUT = httpx.Timeout(120.0, connect=10.0)  # a whole upload or download
DEFAULT_RETRY_AFTER = 2.0  # seconds, when a rate-limit answer names no Retry-After
# Graph error codes (https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes)
RATE_LIMITED = {4, 80007, 130429, 131048, 131056}
TRANSIENT = {1, 2, 131000, 131016}
BAD_TOKEN = 190
# What a sender hears when they send content we cannot read yet ("<kind> is not supported yet").
MEDIA_KINDS = {
    "image": "image",
    "audio": "audio",
    "video": "video",
    "document": "document",
    "sticker": "sticker",
    "location": "location",
    "contacts": "contact card",
    "order": "order",
}
IGNORED_KINDS = {"reaction", "system", "request_welcome"}  # nothing to answer


def signature_ok(app_secret: str, body: bytes, header: str | None) -> bool:
    """`X-Hub-Signature-256: sha256=<hex>` is HMAC-SHA256 of the raw body with the app secret."""
    if not app_secret or not header or not header.startswith("sha256="):
        return False
    expected = hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header.removeprefix("sha256=").strip().lower())


def parse_webhook(account_id: str, payload: Mapping[str, Any]) -> list[tuple[str, InboundMessage]]:
    """Every message of a `messages` webhook, paired with the phone number id that received it
    ("" when the payload does not say). Status callbacks, reactions and system notices yield
    nothing; an image, document, audio, voice note, video or sticker becomes a message with
    its file as an attachment and its caption as text; other content (locations, contact
    cards, ...) a message with `unsupported` set so the sender hears why."""
    found: list[tuple[str, InboundMessage]] = []
    for entry in _dicts(payload.get("entry")):
        for change in _dicts(entry.get("changes")):
            value = change.get("value")
            if change.get("field") != "messages" or not isinstance(value, dict):
                continue
            metadata = value.get("metadata")
            number = str(metadata.get("phone_number_id", "")) if isinstance(metadata, dict) else ""
            names = _contact_names(value.get("contacts"))
            for raw in _dicts(value.get("messages")):
                message = _message(account_id, raw, names)
                if message is not None:
                    found.append((number, message))
    return found


def _dicts(value: object) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _contact_names(contacts: object) -> dict[str, str]:
    names = {}
    for contact in _dicts(contacts):
        profile = contact.get("profile")
        if isinstance(profile, dict):
            names[str(contact.get("wa_id", ""))] = str(profile.get("name", ""))
    return names


def _string(raw: Mapping[str, Any], key: str) -> str:
    """A field Meta always sends as a string; anything else counts as missing."""
    value = raw.get(key)
    return value if isinstance(value, str) else ""


def _message(account_id: str, raw: dict[str, Any], names: dict[str, str]) -> InboundMessage | None:
    sender, message_id, kind = _string(raw, "from"), _string(raw, "id"), _string(raw, "type")
    if not sender or not message_id or kind in IGNORED_KINDS:
        return None
    text, unsupported = _text_of(raw), ""
    attachment = attachment_of(raw)
    if attachment is not None:
        text = caption_of(raw)
    elif not text:
        unsupported = MEDIA_KINDS.get(kind, "this kind of message")
        if kind == "audio" and isinstance(raw.get("audio"), dict) and raw["audio"].get("voice"):
            unsupported = "voice message"
    return InboundMessage(
        channel="whatsapp",
        account=account_id,
        chat_id=sender,  # replies go to the sender's wa_id
        sender_id=sender,
        message_id=message_id,
        text=text,
        sender_name=names.get(sender, ""),
        unsupported=unsupported,
        attachments=(attachment,) if attachment is not None else (),
    )


def _text_of(raw: dict[str, Any]) -> str:
    """The text of a text message, or of a tapped button / list row (they read as text)."""
    kind = _string(raw, "type")
    body = raw.get(kind) if kind else None
    if not isinstance(body, dict):
        return ""
    if kind == "text":
        return _string(body, "body")
    if kind == "button":
        return _string(body, "text")
    if kind == "interactive":
        reply = body.get("button_reply") or body.get("list_reply")
        return _string(reply, "title") if isinstance(reply, dict) else ""
    return ""


class WhatsAppAdapter(Adapter):
    """One WhatsApp business phone number. No edits: answers go out as chunks when final."""

    channel = "whatsapp"
    max_chars = 4096  # WhatsApp's limit on a text message body
    can_edit = False

    def __init__(self, account_id: str, credentials: Mapping[str, str], options: Mapping[str, Any]):
        super().__init__(account_id, credentials, options)
        # Named accounts may use the phone number id itself as their account id.
        fallback = account_id if account_id.isdigit() else ""
        self.phone_number_id = str(self.options.get("phone_number_id") or fallback)
        self._client: httpx.AsyncClient | None = None

    def split(self, text: str) -> list[str]:
        """Chunks whose WhatsApp rendering fits: inline code grows by four backticks."""
        limit = self.max_chars
        chunks = split_text(text, limit)
        while limit > 256 and any(len(to_whatsapp(c)) > self.max_chars for c in chunks):
            limit = limit * 9 // 10
            chunks = split_text(text, limit)
        return chunks

    async def send(self, target: ReplyTarget, text: str, *, formatted: bool = True) -> str:
        body = to_whatsapp(text, formatted=formatted)
        answer = await self._post(
            {
                "messaging_product": "whatsapp",
                "recipient_type": "individual",
                "to": target.chat_id,
                "type": "text",
                "text": {"preview_url": False, "body": body},
            }
        )
        return _message_id(answer)

    async def typing(self, target: ReplyTarget) -> None:
        """Mark the inbound message read (blue ticks) and show the typing indicator."""
        if target.reply_to:
            await self._post(
                {
                    "messaging_product": "whatsapp",
                    "status": "read",
                    "message_id": target.reply_to,
                    "typing_indicator": {"type": "text"},
                }
            )

    async def fetch(self, attachment: Attachment) -> AsyncIterator[bytes]:
        """GET /<media-id> for the file's URL and size (a size over the cap is refused before
        the download), then the URL itself with the token, streamed."""
        info = _answer(await self._send("GET", attachment.ref))
        url, size = info.get("url"), info.get("file_size")
        if not isinstance(url, str) or not url:
            raise AdapterError("WhatsApp media: no URL in the answer", permanent=True)
        check_declared(size if isinstance(size, int) else None, attachment.name)
        if not may_carry_token(url):
            raise AdapterError("WhatsApp media URL is not on a Meta host", permanent=True)
        try:
            async with self._http().stream("GET", url, timeout=FILE_TIMEOUT) as response:
                if not response.is_success:
                    await response.aread()
                    raise _error(response.status_code, _answer(response), None)
                async for chunk in response.aiter_bytes():
                    yield chunk
        except httpx.HTTPError as exc:
            error = f"WhatsApp media download: {type(exc).__name__}"
            raise AdapterError(error, permanent=False) from None

    async def send_file(self, target: ReplyTarget, file: OutgoingFile) -> str:
        """Upload to /<phone-number-id>/media, then send a media message with its id: an image
        (JPEG, PNG up to 5 MB), video (MP4, 3GPP) or audio up to 16 MB, else a document up to
        100 MB, with the caption where WhatsApp takes one (not on audio)."""
        too_big = f"{file.name} is over WhatsApp's 100 MB limit"
        data = await offload.files(read_outgoing, file, DOCUMENT.max_bytes, too_big)
        kind = media_type(file, len(data))
        if kind is None:
            raise AdapterError(too_big, permanent=True)
        form = {"messaging_product": "whatsapp", "type": file.mime}
        upload = self._send(
            "POST",
            f"{self._number()}/media",
            data=form,
            files={"file": (file.name, data, file.mime)},
            timeout=FILE_TIMEOUT,
        )
        media_id = _answer(await upload).get("id")
        if not isinstance(media_id, str) or not media_id:
            raise AdapterError("WhatsApp media upload: no id in the answer", permanent=False)
        return _message_id(await self._post(media_message(target.chat_id, kind, media_id, file)))

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def _number(self) -> str:
        if not self.phone_number_id:
            raise AdapterError(
                "no phone number id: set WHATSAPP_PHONE_NUMBER_ID or the account's "
                'options {"phone_number_id": ...}',
                permanent=True,
            )
        return self.phone_number_id

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                base_url=settings.WHATSAPP_API_URL.rstrip("/") + "/",
                headers={"Authorization": f"Bearer {self.credentials.get('access_token', '')}"},
                timeout=TIMEOUT,
            )
        return self._client

    async def _post(self, payload: dict[str, Any]) -> dict[str, Any]:
        return _answer(await self._send("POST", f"{self._number()}/messages", json=payload))

    async def _send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """One Graph API request; a failure is the `AdapterError` its answer calls for."""
        try:
            response = await self._http().request(method, url, **kwargs)
        except httpx.HTTPError as exc:
            raise AdapterError(
                f"WhatsApp unreachable: {type(exc).__name__}", permanent=False
            ) from exc
        if response.is_success:
            return response
        raise _error(response.status_code, _answer(response), response.headers.get("Retry-After"))


def _answer(response: httpx.Response) -> dict[str, Any]:
    """A Graph answer's JSON object ({} for anything else)."""
    try:
        answer = response.json()
    except ValueError:
        return {}
    return answer if isinstance(answer, dict) else {}


def _message_id(answer: dict[str, Any]) -> str:
    messages = answer.get("messages")
    if isinstance(messages, list) and messages and isinstance(messages[0], dict):
        return str(messages[0].get("id", ""))
    return ""


def _error(status: int, answer: dict[str, Any], retry_after: str | None) -> AdapterError:
    """A Graph API failure as an `AdapterError` whose flags say whether retrying can help."""
    error = answer.get("error")
    if not isinstance(error, dict):
        error = {}
    code = error.get("code") if isinstance(error.get("code"), int) else 0
    detail = str(error.get("message", "")).strip()[:200]
    message = f"WhatsApp API error (HTTP {status}, code {code}){': ' + detail if detail else ''}"
    if status == 429 or code in RATE_LIMITED:
        return AdapterError(message, permanent=False, retry_after=_seconds(retry_after))
    if status == 401 or code == BAD_TOKEN:
        return AdapterError(f"access token rejected: {message}", permanent=True)
    if status >= 500 or code in TRANSIENT:
        return AdapterError(message, permanent=False)
    return AdapterError(message, permanent=True)  # recipient not allowed (131030), bad request


def _seconds(header: str | None) -> float:
    try:
        return max(0.0, float(header)) if header else DEFAULT_RETRY_AFTER
    except ValueError:  # an HTTP date: not worth parsing for a few seconds' difference
        return DEFAULT_RETRY_AFTER


def _listener(conn: PlatformConnection) -> Listener | None:
    return None  # webhook-only: Meta pushes to /webhooks/whatsapp/


PLATFORM = Platform(
    channel="whatsapp",
    adapter=WhatsAppAdapter,
    required=("access_token", "app_secret", "verify_token"),
    listener=_listener,
)
