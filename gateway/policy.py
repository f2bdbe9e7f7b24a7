"""Access policy for inbound platform messages: one pure decision over frozen facts.

No ORM and no I/O: the router looks up whether the sender is approved and acts on the result.
"""

import functools
import re
from dataclasses import dataclass
from typing import Literal

DmPolicy = Literal["pairing", "allowlist", "open", "disabled"]
GroupPolicy = Literal["allowlist", "open", "disabled"]
SessionKind = Literal["dm", "main", "group"]

# Mention patterns run on untrusted text: only its head is scanned, so a huge message cannot
# make an admin's pattern expensive.
MENTION_SCAN_CHARS = 4000


@dataclass(frozen=True, slots=True)
class InboundFacts:
    """What the router knows about one inbound message, platform-neutral."""

    channel: str
    account_id: str
    sender_id: str
    chat_id: str
    is_group: bool
    mentioned: bool = False
    reply_to_bot: bool = False
    text: str = ""
    sender_name: str = ""


@dataclass(frozen=True, slots=True)
class AccountPolicy:
    """A channel account's access rules, detached from the ORM (`ChannelAccount.policy()`)."""

    channel: str
    account_id: str
    enabled: bool = True
    dm_policy: DmPolicy = "pairing"
    allow_from: frozenset[str] = frozenset()
    owner_ids: frozenset[str] = frozenset()
    group_policy: GroupPolicy = "allowlist"
    group_allowlist: frozenset[str] = frozenset()
    group_sender_allowlist: frozenset[str] = frozenset()
    require_mention: bool = True
    mention_patterns: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Deliver:
    """Hand the message to the agent, in a session of this kind."""

    session_kind: SessionKind


@dataclass(frozen=True, slots=True)
class PairingRequired:
    """An unknown direct-message sender: create or look up a pairing code; nothing reaches
    the model."""


NOT_MENTIONED = "not_mentioned"


@dataclass(frozen=True, slots=True)
class Ignore:
    """Drop silently (`reason` is for logs, and says whether the message was `overheard`)."""

    reason: str

    @property
    def overheard(self) -> bool:
        """A group message that passed every rule but was not addressed to the bot: no turn,
        but kept as context for when the bot is addressed there (`gateway.group_buffer`)."""
        return self.reason == NOT_MENTIONED


@dataclass(frozen=True, slots=True)
class Refuse:
    """Drop, and the router MAY answer `message` (rate-limited) so the sender knows why."""

    reason: str
    message: str


Decision = Deliver | PairingRequired | Ignore | Refuse

DM_DISABLED = "This assistant does not accept direct messages."
NOT_ALLOWLISTED = "You are not on this assistant's list of allowed senders."
GROUPS_DISABLED = "This assistant does not take part in group chats."
GROUP_NOT_ALLOWED = "This assistant is not enabled for this group."
SENDER_NOT_ALLOWED = "You are not on the list of people this assistant answers in this group."


@functools.lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern[str] | None:
    try:
        return re.compile(pattern, re.IGNORECASE)
    except re.error:  # validated on save; a pattern set around validation never crashes a turn
        return None


def matches_mention_pattern(text: str, patterns: tuple[str, ...]) -> bool:
    head = text[:MENTION_SCAN_CHARS]
    return any((rx := _compiled(p)) is not None and rx.search(head) for p in patterns)


def _decide_dm(inbound: InboundFacts, account: AccountPolicy, approved: bool) -> Decision:
    sender = inbound.sender_id
    if account.dm_policy == "disabled":
        return Refuse("dm_disabled", DM_DISABLED)
    kind: SessionKind = "main" if sender in account.owner_ids else "dm"
    listed = sender in account.allow_from or sender in account.owner_ids
    # An admin's earlier pairing approval stays valid under `allowlist`: that policy only stops
    # handing out new codes.
    if account.dm_policy == "open" or listed or approved:
        return Deliver(kind)
    if account.dm_policy == "allowlist":
        return Refuse("not_allowlisted", NOT_ALLOWLISTED)
    return PairingRequired()


def _decide_group(inbound: InboundFacts, account: AccountPolicy) -> Decision:
    # Whether the bot was addressed decides between a silent drop and an explained refusal:
    # the bot never speaks in a group unless spoken to.
    addressed = (
        inbound.mentioned
        or inbound.reply_to_bot
        or matches_mention_pattern(inbound.text, account.mention_patterns)
    )

    def drop(reason: str, message: str) -> Decision:
        return Refuse(reason, message) if addressed else Ignore(reason)

    if account.group_policy == "disabled":
        return drop("groups_disabled", GROUPS_DISABLED)
    if account.group_policy == "allowlist" and inbound.chat_id not in account.group_allowlist:
        return drop("group_not_allowed", GROUP_NOT_ALLOWED)
    senders = account.group_sender_allowlist
    # Replying to the bot only counts as addressing it; it never authorises the sender.
    if senders and inbound.sender_id not in senders and inbound.sender_id not in account.owner_ids:
        return drop("sender_not_allowed", SENDER_NOT_ALLOWED)
    if account.require_mention and not addressed:
        return Ignore(NOT_MENTIONED)
    return Deliver("group")


def decide(inbound: InboundFacts, account: AccountPolicy, approved: bool) -> Decision:
    """Decide what happens to one inbound message.

    `approved` says whether the sender was approved (pairing, or by hand) on this account; it
    counts for direct messages under `pairing` and `allowlist`, never in groups. Time plays
    no part here: pairing codes expire in the pairing services, not in this decision.
    """
    if not account.enabled:
        return Ignore("account_disabled")
    if (inbound.channel, inbound.account_id) != (account.channel, account.account_id):
        return Ignore("wrong_account")  # a routing bug must never borrow another account's rules
    if not inbound.sender_id:
        return Ignore("no_sender")  # platform system events carry no sender
    if inbound.is_group:
        return _decide_group(inbound, account)
    return _decide_dm(inbound, account, approved)
