"""Platform-neutral messages: what a platform adapter hands the router, and where a reply goes."""

from dataclasses import dataclass

from gateway.policy import InboundFacts


@dataclass(frozen=True, slots=True)
class ReplyTarget:
    """Where a reply goes: the chat the message came from (and its thread or topic)."""

    chat_id: str
    thread_id: str = ""
    reply_to: str = ""


@dataclass(frozen=True, slots=True)
class InboundMessage:
    channel: str  # "slack" | "telegram" | "whatsapp"
    account: str  # ChannelAccount.account_id
    chat_id: str
    sender_id: str
    message_id: str  # unique per account: the journal's deduplication key
    text: str
    sender_name: str = ""
    thread_id: str = ""  # Slack thread_ts, Telegram topic id
    is_group: bool = False
    mentioned: bool = False
    reply_to_bot: bool = False
    unsupported: str = ""  # kind of content we cannot handle yet ("image", "voice", ...)

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
