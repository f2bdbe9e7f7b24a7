"""Platform-neutral messages: what a platform adapter hands the router, and where a reply goes."""

from dataclasses import asdict, dataclass
from typing import Any

from gateway.policy import InboundFacts


@dataclass(frozen=True, slots=True)
class ReplyTarget:
    """Where a reply goes: the chat the message came from (and its thread or topic)."""

    chat_id: str
    thread_id: str = ""
    reply_to: str = ""


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file that came with a message, as the platform describes it, not yet downloaded.

    `ref` is what the account's adapter needs to fetch it (`Adapter.fetch`): a Telegram
    file_id, a Slack `url_private`, a WhatsApp media id. `name`, `mime` and `size` are the
    sender's claims (any may be empty/None): the store checks the size before and while
    downloading and detects the type from the content; `name` is only ever shown, never used
    as a path. `kind` is the platform's word for it ("photo", "voice", "document", ...)."""

    ref: str
    name: str = ""
    mime: str = ""
    size: int | None = None
    kind: str = ""

    def as_dict(self) -> dict[str, Any]:
        """The JSON form the journal keeps, to fetch it again after a crash."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Attachment":
        size = data.get("size")
        return cls(
            ref=str(data.get("ref", "")),
            name=str(data.get("name", "")),
            mime=str(data.get("mime", "")),
            size=size if isinstance(size, int) else None,
            kind=str(data.get("kind", "")),
        )


@dataclass(frozen=True, slots=True)
class InboundMessage:
    channel: str  # "slack" | "telegram" | "whatsapp"
    account: str  # ChannelAccount.account_id
    chat_id: str
    sender_id: str
    message_id: str  # unique per account: the journal's deduplication key
    text: str  # the message's text, or a file's caption
    sender_name: str = ""
    thread_id: str = ""  # Slack thread_ts, Telegram topic id
    is_group: bool = False
    mentioned: bool = False
    reply_to_bot: bool = False
    unsupported: str = ""  # kind of content we cannot take ("location", "poll", ...)
    attachments: tuple[Attachment, ...] = ()  # files to fetch with the account's adapter

    def facts(self) -> InboundFacts:
        return InboundFacts(
            channel=self.channel,
            account_id=self.account,
            sender_id=self.sender_id,
            chat_id=self.chat_id,
            is_group=self.is_group,
            mentioned=self.mentioned,
            reply_to_bot=self.reply_to_bot,
            text=self.text,
            sender_name=self.sender_name,
        )

    def target(self) -> ReplyTarget:
        return ReplyTarget(self.chat_id, self.thread_id, self.message_id)
