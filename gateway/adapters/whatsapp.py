"""WhatsApp Cloud API: webhook payloads → `InboundMessage`s, replies through the Graph API's
`/{phone_number_id}/messages` with httpx, and our Markdown rendered in WhatsApp's own markup.
"""

import hashlib
import hmac
import re
from collections.abc import Mapping
from typing import Any

import httpx
from django.conf import settings

from gateway.adapters.base import FENCE, Adapter, AdapterError, split_text
from gateway.connections import PlatformConnection
from gateway.messages import InboundMessage, ReplyTarget
from gateway.platforms import Listener, Platform

TIMEOUT = httpx.Timeout(20.0, connect=10.0)
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

_INLINE_CODE = re.compile(r"(`+)(?=\S)(.+?)(?<=\S)\1")
_LINK = re.compile(r"\[([^\]\n]+)\]\(([^()\s]+(?:\([^()\s]*\)[^()\s]*)*)\)")
_AUTOLINK = re.compile(r"<(https?://[^>\s]+)>")
_BARE_URL = re.compile(r"https?://[^\s<>()]+")
_HEADING = re.compile(r"^ {0,3}#{1,6}[ \t]+(.+?)[ \t#]*$", re.M)
_BULLET = re.compile(r"^([ \t]*)[*+][ \t]+", re.M)
_BOLD = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_ITALIC_STAR = re.compile(r"(?<![\w*])\*(?=[^\s*])(.+?)(?<=[^\s*])\*(?![\w*])")
_ITALIC_UNDERSCORE = re.compile(r"(?<![\w_])_(?=[^\s_])(.+?)(?<=[^\s_])_(?![\w_])")
_STRIKE = re.compile(r"~~(?=\S)(.+?)(?<=\S)~~")
_BOLD_MARK = "\x01"  # stands for WhatsApp's bold `*` until italics are converted
_HOLE = "\x02"  # brackets the index of a set-aside code span or URL


def to_whatsapp(markdown: str, *, formatted: bool = True) -> str:
    """Our Markdown in WhatsApp's markup (*bold*, _italic_, ~strike~, ```mono```, "text (url)");
    with `formatted=False`, the same text with the markup removed."""
    out: list[str] = []
    prose: list[str] = []
    in_code = False
    for line in markdown.replace(_BOLD_MARK, "").replace(_HOLE, "").splitlines():
        if FENCE.match(line):
            if prose:
                out.append(_inline("\n".join(prose), formatted))
                prose = []
            if formatted:
                out.append("```")
            in_code = not in_code
        elif in_code:
            out.append(line)
        else:
            prose.append(line)
    if in_code and formatted:
        out.append("```")  # the text left its block open: close it, or the rest renders raw
    if prose:
        out.append(_inline("\n".join(prose), formatted))
    return "\n".join(out).strip("\n")


def _inline(text: str, formatted: bool) -> str:
    held: list[str] = []

    def hold(kept: str) -> str:
        held.append(kept)
        return f"{_HOLE}{len(held) - 1}{_HOLE}"

    def link(match: re.Match[str]) -> str:
        label, url = match.group(1), match.group(2)
        return hold(url) if label.strip() == url else f"{label} ({hold(url)})"

    # Code spans and URLs are set aside first so nothing inside them is taken for markup.
    mono = "```" if formatted else ""
    text = _INLINE_CODE.sub(lambda m: hold(f"{mono}{m.group(2)}{mono}"), text)
    text = _LINK.sub(link, text)
    text = _AUTOLINK.sub(lambda m: hold(m.group(1)), text)
    text = _BARE_URL.sub(lambda m: hold(m.group(0)), text)
    bold = _BOLD_MARK if formatted else ""
    text = _HEADING.sub(lambda m: f"{bold}{m.group(1)}{bold}", text)
    text = _BULLET.sub(r"\1- ", text)
    text = _BOLD.sub(lambda m: f"{bold}{m.group(2)}{bold}", text)
    text = _ITALIC_STAR.sub(r"_\1_" if formatted else r"\1", text)
    if not formatted:
        text = _ITALIC_UNDERSCORE.sub(r"\1", text)
    text = _STRIKE.sub(r"~\1~" if formatted else r"\1", text)
    text = text.replace(_BOLD_MARK, "*")
    return re.sub(f"{_HOLE}(\\d+){_HOLE}", lambda m: held[int(m.group(1))], text)


def signature_ok(app_secret: str, body: bytes, header: str | None) -> bool:
    """`X-Hub-Signature-256: sha256=<hex>` is HMAC-SHA256 of the raw body with the app secret."""
    if not app_secret or not header or not header.startswith("sha256="):
        return False
    expected = hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header.removeprefix("sha256=").strip().lower())


def parse_webhook(account_id: str, payload: Mapping[str, Any]) -> list[tuple[str, InboundMessage]]:
    """Every message of a `messages` webhook, paired with the phone number id that received it
    ("" when the payload does not say). Status callbacks, reactions and system notices yield
    nothing; media becomes a message with `unsupported` set so the sender hears why."""
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
    if not text:
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
        messages = answer.get("messages")
        if isinstance(messages, list) and messages and isinstance(messages[0], dict):
            return str(messages[0].get("id", ""))
        return ""

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

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def _post(self, payload: dict[str, Any]) -> dict[str, Any]:
        if not self.phone_number_id:
            raise AdapterError(
                "no phone number id: set WHATSAPP_PHONE_NUMBER_ID or the account's "
                'options {"phone_number_id": ...}',
                permanent=True,
            )
        if self._client is None:
            self._client = httpx.AsyncClient(
                base_url=settings.WHATSAPP_API_URL.rstrip("/") + "/",
                headers={"Authorization": f"Bearer {self.credentials.get('access_token', '')}"},
                timeout=TIMEOUT,
            )
        try:
            response = await self._client.post(f"{self.phone_number_id}/messages", json=payload)
        except httpx.HTTPError as exc:
            raise AdapterError(
                f"WhatsApp unreachable: {type(exc).__name__}", permanent=False
            ) from exc
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        if not isinstance(answer, dict):
            answer = {}
        if response.is_success:
            return answer
        raise _error(response.status_code, answer, response.headers.get("Retry-After"))


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
