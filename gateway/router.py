"""The router: journal (dedupe) → access policy → rate limits → session key → the session's lane.

`route` is what every platform does with an inbound message, whether it came over a webhook, a
Socket Mode connection or long polling. It returns once the message is journaled, so platforms
are acknowledged only after that.
"""

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

from channels.db import database_sync_to_async
from django.conf import settings
from django.db import IntegrityError, transaction

from agents import services
from agents.services import SessionRef
from gateway import runs
from gateway.messages import InboundMessage
from gateway.models import ChannelAccount, InboundRecord
from gateway.pairing import admit
from gateway.policy import Deliver, Ignore
from gateway.ratelimit import check_inbound

logger = logging.getLogger(__name__)

Outcome = Literal["accepted", "duplicate", "replied", "ignored", "unknown_account"]
UNSUPPORTED = "Sorry, I can only read text messages for now ({kind} is not supported yet)."
TOO_LONG = "That message is too long for me ({size:,} characters; the limit is {limit:,})."


@dataclass(frozen=True, slots=True)
class Routed:
    outcome: Outcome
    run: str = ""
    session: str = ""
    reply: str | None = None  # what to answer at once (pairing code, refusal, limit)
    record: int | None = None


@dataclass(frozen=True, slots=True)
class _Admitted:
    record: int
    account: ChannelAccount
    session: SessionRef | None
    reply: str | None


def session_key(agent_slug: str, message: InboundMessage, kind: str) -> str:
    if kind == "main":
        return services.main_session_key(agent_slug)
    if kind == "group":
        return f"agent:{agent_slug}:{message.channel}:group:{message.chat_id}"
    return f"agent:{agent_slug}:{message.channel}:dm:{message.sender_id}"


def _journal_and_admit(message: InboundMessage) -> _Admitted | Routed:
    account = (
        ChannelAccount.objects.select_related("agent")
        .filter(channel=message.channel, account_id=message.account, enabled=True)
        .first()
    )
    if account is None:
        return Routed("unknown_account")
    # The entry commits with its admission (session key): a crash in between must not leave
    # an entry the resume cannot place, which a redelivery would then take for a duplicate.
    with transaction.atomic():
        return _journal_then_admit(message, account)


def _journal_then_admit(message: InboundMessage, account: ChannelAccount) -> _Admitted | Routed:
    try:
        with transaction.atomic():
            record = InboundRecord.objects.create(
                channel=message.channel,
                account_id=message.account,
                message_id=message.message_id,
                chat_id=message.chat_id,
                sender_id=message.sender_id,
                text=message.text,
                thread_id=message.thread_id,
            )
    except IntegrityError:
        return Routed("duplicate")
    admission = admit(account, message.facts())
    decision = admission.decision
    if not isinstance(decision, Deliver):
        InboundRecord.objects.filter(pk=record.pk).update(status=InboundRecord.Status.DROPPED)
        if isinstance(decision, Ignore):
            return Routed("ignored", record=record.pk)
        return Routed("replied", reply=admission.reply, record=record.pk)
    key = session_key(account.agent.slug, message, decision.session_kind)
    session, _ = services.open_session(
        key, channel=message.channel, peer=message.chat_id, is_group=message.is_group
    )
    InboundRecord.objects.filter(pk=record.pk).update(session_key=key)
    return _Admitted(record.pk, account, session, None)


def _drop(record: int) -> None:
    InboundRecord.objects.filter(pk=record).update(status=InboundRecord.Status.DROPPED)


def _set_run(record: int, run: str) -> None:
    InboundRecord.objects.filter(pk=record).update(run_id=run)


def note_reply_message(run: str, message_id: str) -> None:
    InboundRecord.objects.filter(run_id=run).update(reply_message_id=message_id[:255])


def note_chunks(run: str, count: int) -> None:
    InboundRecord.objects.filter(run_id=run).update(delivered_chunks=count)


def mark_delivered(run: str) -> None:
    """The reply to these messages reached the platform: their journal entries are done."""
    InboundRecord.objects.filter(run_id=run).update(status=InboundRecord.Status.DELIVERED)


async def route(
    message: InboundMessage, on_session: Callable[[str], Awaitable[None]] | None = None
) -> Routed:
    """Route one message. `on_session(key)` runs once the session is known and before the
    message is queued, so the caller is listening before the first event (a command's answer
    comes at once)."""
    admitted = await database_sync_to_async(_journal_and_admit)(message)
    if isinstance(admitted, Routed):
        if admitted.outcome == "unknown_account":
            logger.warning("Message for unknown account %s:%s", message.channel, message.account)
        return admitted
    account, session = admitted.account, admitted.session
    assert session is not None  # noqa: S101  # set whenever the message is delivered
    verdict = await check_inbound(
        f"{message.channel}:{message.account}",
        message.sender_id,
        account.rate_per_sender or settings.OPENCLAW_INBOUND_RATE_PER_SENDER,
        account.rate_per_account or settings.OPENCLAW_INBOUND_RATE_PER_ACCOUNT,
    )
    if not verdict.allowed:
        await database_sync_to_async(_drop)(admitted.record)
        return Routed("replied", reply=verdict.message, record=admitted.record)
    if message.unsupported:
        await database_sync_to_async(_drop)(admitted.record)
        reply = UNSUPPORTED.format(kind=message.unsupported)
        return Routed("replied", reply=reply, record=admitted.record)
    limit = settings.OPENCLAW_MAX_MESSAGE_CHARS
    if len(message.text) > limit:
        await database_sync_to_async(_drop)(admitted.record)
        reply = TOO_LONG.format(size=len(message.text), limit=limit)
        return Routed("replied", reply=reply, record=admitted.record)
    if on_session is not None:
        await on_session(session.key)
    # In a group, the model must know who says what: the name goes in the message's stamp.
    sender = (message.sender_name or message.sender_id) if message.is_group else ""
    accepted = await runs.accept_message(
        session, message.text, channel=message.channel, sender=sender
    )
    await database_sync_to_async(_set_run)(admitted.record, accepted.run)
    return Routed("accepted", accepted.run, session.key, record=admitted.record)
