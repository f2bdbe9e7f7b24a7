"""Which agent answers a platform message: the most specific binding of its channel account
(thread > group > peer), else the account's own agent.

`winner` is the pure rule, table-tested; `agent_for` reads the account's candidate bindings
(one query) and applies it. Synchronous: the router calls it in the database thread.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from agents.models import Agent
from gateway.messages import InboundMessage
from gateway.models import Binding, ChannelAccount


@dataclass(frozen=True, slots=True)
class Where:
    """Where a message was said: its sender, its chat and thread, and whether a group."""

    sender: str
    chat: str
    thread: str = ""
    is_group: bool = False

    @classmethod
    def of(cls, message: InboundMessage) -> "Where":
        return cls(message.sender_id, message.chat_id, message.thread_id, message.is_group)


def specificity(binding: Binding, where: Where) -> int:
    """How specifically `binding` names `where`: 3 its thread, 2 its group, 1 its sender's
    direct messages, 0 not at all. Peer bindings never apply in groups (a group stays one
    conversation, whoever speaks)."""
    if where.is_group:
        if binding.peer or binding.group != where.chat:
            return 0
        if not binding.thread:
            return 2
        return 3 if binding.thread == where.thread else 0
    if binding.peer and binding.peer == where.sender:
        return 1
    return 0


def winner(bindings: Iterable[Binding], where: Where) -> Binding | None:
    """The most specific binding naming `where`, or None (the account's agent answers)."""
    best: Binding | None = None
    best_rank = 0
    for binding in bindings:
        rank = specificity(binding, where)
        if rank > best_rank:
            best, best_rank = binding, rank
    return best


def agent_for(account: ChannelAccount, message: InboundMessage) -> Agent:
    """The agent answering `message` on `account` (the account's `agent` must be loaded)."""
    where = Where.of(message)
    if where.is_group:
        candidates = Binding.objects.filter(account=account, peer="", group=where.chat)
    else:
        candidates = Binding.objects.filter(account=account, peer=where.sender)
    found = winner(candidates.select_related("agent"), where)
    return found.agent if found is not None else account.agent
