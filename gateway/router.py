"""The one front door: every inbound message (the web chat and the CLI, Slack, Telegram,
WhatsApp, webhooks, the HTTP API and hooks, scheduled jobs) goes journal → policy → rate
limits → session key → lane.

`route` returns once the message is journaled and queued, so platforms are acknowledged only
after that. Each step is one function below; what differs between sources is only how a
message is written down, who may send it and which limits apply.
"""

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from weakref import WeakValueDictionary

from django.conf import settings
from django.db import transaction

from agents import services
from agents.scheduled_jobs import DueJob
from agents.services import SessionRef
from agents.turn_events import EventSink
from gateway import chat_commands, group_buffer, journal, runs
from gateway.bindings import agent_for
from gateway.media_inbound import Fetch, Received, image_mode, receive
from gateway.messages import InboundMessage
from gateway.models import ChannelAccount
from gateway.pairing import admit
from gateway.policy import Deliver, Ignore
from gateway.ratelimit import check_inbound, check_ws_message
from openclaw.perf import offload

logger = logging.getLogger(__name__)

Outcome = Literal["accepted", "duplicate", "replied", "ignored", "unknown_account"]
UNSUPPORTED = "Sorry, I can only read text and files ({kind} is not supported yet)."
TOO_LONG = "That message is too long for me ({size:,} characters; the limit is {limit:,})."


@dataclass(frozen=True, slots=True)
class WebMessage:
    """A `chat.send` from an authorised gateway socket (the web chat, `manage.py chat`): the
    socket's owner chose the session; `key` is the client's idempotency key."""

    session_key: str
    text: str
    key: str
    sender: str
    scope: dict[str, Any]  # the socket's ASGI scope: whose rate budget it spends
    media: tuple[dict[str, Any], ...] = ()  # uploaded files (`Media` dicts), in the text already
    image_input: str = ""  # the agent's image mode for them ("" when none is shown)


@dataclass(frozen=True, slots=True)
class ScheduledMessage:
    """A claimed scheduled job's turn (a reminder or a heartbeat), its events going to `sink`."""

    job: DueJob
    text: str
    sink: EventSink


@dataclass(frozen=True, slots=True)
class ApiMessage:
    """A message another program sent over HTTP (`channel` "api": the OpenAI-compatible API;
    "hook": `/hooks/*`): the caller chose the session; `key` is its idempotency key; `sender`
    the caller (its rate budget); `origin` marks text no person typed here (see `Said`);
    `recipient`: the chat a hook delivers the answer to (its entry stays open until then);
    `due`: a later time to answer it (a held wake event: journaled and admitted now, never
    queued here; `gateway.httpapi.wake` runs its entry then, `Routed.disposition` "held")."""

    session_key: str
    text: str
    key: str
    sender: str
    channel: Literal["api", "hook"]
    origin: str = ""
    recipient: journal.Recipient | None = None
    due: datetime | None = None


Arrival = InboundMessage | WebMessage | ScheduledMessage | ApiMessage
# Arrivals whose caller chose the session and is told at once when it is not taken.
_CALLER_CHOSEN = (WebMessage, ApiMessage)


@dataclass(frozen=True, slots=True)
class Routed:
    outcome: Outcome
    run: str = ""
    session: str = ""
    reply: str | None = None  # what to answer at once (pairing code, refusal, limit)
    record: int | None = None
    disposition: str = ""  # how the lane took it: queued, merged, steered, interrupted, command


@dataclass(frozen=True, slots=True)
class _Admitted:
    """Journaled and admitted: the entry, and the session that answers it."""

    entry: journal.Entry
    session: SessionRef
    account: ChannelAccount | None = None  # platform messages only


def session_key(agent_slug: str, message: InboundMessage, kind: str) -> str:
    """The session a message belongs to: the agent's main one (its owner's direct messages),
    one per direct-message sender, one per group, and one per thread or forum topic of a group
    (its answers go back into that thread, never another's)."""
    if kind == "main":
        return services.main_session_key(agent_slug)
    if kind == "group":
        group = f"agent:{agent_slug}:{message.channel}:group:{message.chat_id}"
        return f"{group}:thread:{message.thread_id}" if message.thread_id else group
    return f"agent:{agent_slug}:{message.channel}:dm:{message.sender_id}"


# One web chat writer per session at a time, so a resend racing its original sees its run.
_web_locks: WeakValueDictionary[str, asyncio.Lock] = WeakValueDictionary()


async def route(
    arrival: Arrival,
    on_session: Callable[[str], Awaitable[None]] | None = None,
    fetch: Fetch | None = None,
) -> Routed:
    """Route one message. `on_session(key)` runs once the session is known and before the
    message is queued, so the caller is listening before the first event (a command's answer
    comes at once). `fetch` downloads a platform message's attachments (its adapter's
    `fetch`): they are stored and described in the turn's text (`gateway.media_inbound`), and
    refusals come back in `Routed.reply` while the text still runs. Raises `services.NotFound`
    for a session whose agent is unknown or disabled and `LanesClosed` while the gateway stops
    (a web chat entry is then removed: the client was told it was not taken; any other stays
    for the next start)."""
    if isinstance(arrival, _CALLER_CHOSEN):
        lock = _web_locks.setdefault(arrival.session_key, asyncio.Lock())
        async with lock:
            return await _route(arrival, on_session)
    return await _route(arrival, on_session, fetch)


async def _route(
    arrival: Arrival,
    on_session: Callable[[str], Awaitable[None]] | None,
    fetch: Fetch | None = None,
) -> Routed:
    admitted = await offload.database(_journal_and_admit, arrival, runs.new_run_id())
    if isinstance(admitted, Routed):
        return admitted
    entry, session = admitted.entry, admitted.session
    if not entry.created:  # a web chat or API resend: follow the session, the original answers it
        if on_session is not None:
            await on_session(session.key)
        return Routed("duplicate", entry.run, session.key, record=entry.record)
    refusal = await _limits(arrival, admitted)
    if refusal is not None:
        refused = journal.forget if isinstance(arrival, _CALLER_CHOSEN) else journal.drop
        await offload.database(refused, entry.record)
        return Routed("replied", session=session.key, reply=refusal, record=entry.record)
    if on_session is not None:
        await on_session(session.key)
    if isinstance(arrival, ApiMessage) and arrival.due is not None:
        return Routed("accepted", entry.run, session.key, record=entry.record, disposition="held")
    received: Received | None = None
    told: str | None = None  # files refused: the sender hears why, the text still runs
    if isinstance(arrival, InboundMessage) and arrival.attachments:
        received = await _receive(arrival, session, entry.record, fetch)
        told = "\n".join(received.refusals) or None
        if not received.runs:  # nothing was taken and there is no text: nothing to answer
            await offload.database(journal.drop, entry.record)
            return Routed("replied", session=session.key, reply=told, record=entry.record)
        arrival = dataclasses.replace(arrival, text=received.text)
    try:
        accepted = await _to_lane(arrival, admitted, received)
    except BaseException:
        if isinstance(arrival, _CALLER_CHOSEN):
            await asyncio.shield(offload.database(journal.forget, entry.record))
        raise
    if accepted.run != entry.run:  # folded into a queued turn, or answered as a command
        await offload.database(journal.set_run, entry.record, accepted.run)
    return Routed(
        "accepted",
        accepted.run,
        session.key,
        reply=told,
        record=entry.record,
        disposition=accepted.disposition,
    )


async def _receive(
    message: InboundMessage, session: SessionRef, record: int, fetch: Fetch | None
) -> Received:
    """The message's files fetched, stored and described (`gateway.media_inbound`)."""
    if fetch is None:
        refusal = f"Sorry, I cannot take files on {message.channel}."
        return Received(message.text, refusals=(refusal,))
    mode = await offload.database(image_mode, session.agent.slug)
    return await receive(record, message.text, message.attachments, session.agent.slug, mode, fetch)


def _journal_and_admit(arrival: Arrival, run: str) -> _Admitted | Routed:
    """Journal → policy → session key, in one database thread hop."""
    if isinstance(arrival, WebMessage):
        session, _ = services.open_session(arrival.session_key)
        entry = journal.record_web(session, arrival.key, arrival.text, arrival.sender, run)
        return _Admitted(entry, session)
    if isinstance(arrival, ApiMessage):  # journaled as web chat entries are (same dedupe)
        session, _ = services.open_session(arrival.session_key, channel=arrival.channel)
        entry = journal.record_web(
            session, arrival.key, arrival.text, arrival.sender, run, arrival.recipient, arrival.due
        )
        return _Admitted(entry, session)
    if isinstance(arrival, ScheduledMessage):
        job = arrival.job
        session, _ = services.open_session(
            job.session_key,
            channel=job.channel,
            peer=job.chat_id,
            is_group=":group:" in job.session_key,
        )
        entry = journal.record_scheduled(job, session, arrival.text, run)
        if not entry.created:
            return Routed("duplicate", session=session.key)
        return _Admitted(entry, session)
    account = (
        ChannelAccount.objects.select_related("agent")
        .filter(channel=arrival.channel, account_id=arrival.account, enabled=True)
        .first()
    )
    if account is None:
        logger.warning("Message for unknown account %s:%s", arrival.channel, arrival.account)
        return Routed("unknown_account")
    # The entry commits with its admission (session key): a crash in between must not leave
    # an entry the resume cannot place, which a redelivery would then take for a duplicate.
    with transaction.atomic():
        return _admit_platform(arrival, account, run)


def _admit_platform(
    message: InboundMessage, account: ChannelAccount, run: str
) -> _Admitted | Routed:
    entry = journal.record_platform(message, run)
    if not entry.created:
        return Routed("duplicate")
    admission = admit(account, message.facts())
    decision = admission.decision
    if not isinstance(decision, Deliver):
        journal.drop(entry.record)
        if isinstance(decision, Ignore):
            if decision.overheard:  # context for when the bot is addressed in that conversation
                key = session_key(agent_for(account, message).slug, message, "group")
                group_buffer.keep(key, message.sender_name or message.sender_id, message.text)
            return Routed("ignored", record=entry.record)
        return Routed("replied", reply=admission.reply, record=entry.record)
    # The agent of the most specific binding (thread > group > peer), else the account's.
    key = session_key(agent_for(account, message).slug, message, decision.session_kind)
    session, _ = services.open_session(
        key, channel=message.channel, peer=message.chat_id, is_group=message.is_group
    )
    journal.set_session(entry.record, key)
    return _Admitted(entry, session, account)


async def _limits(arrival: Arrival, admitted: _Admitted) -> str | None:
    """Rate limits and what the gateway cannot take: the refusal to answer, or None."""
    if isinstance(arrival, ScheduledMessage):
        return None
    if isinstance(arrival, WebMessage):
        verdict = await check_ws_message(arrival.scope)
    elif isinstance(arrival, ApiMessage):  # the same budget as a gateway socket, per caller
        rate = settings.OPENCLAW_WS_RATE_LIMIT
        verdict = await check_inbound(arrival.channel, arrival.sender, rate, None)
    else:
        account = admitted.account
        assert account is not None  # noqa: S101  # set for every platform message
        verdict = await check_inbound(
            f"{arrival.channel}:{arrival.account}",
            arrival.sender_id,
            account.rate_per_sender or settings.OPENCLAW_INBOUND_RATE_PER_SENDER,
            account.rate_per_account or settings.OPENCLAW_INBOUND_RATE_PER_ACCOUNT,
        )
    if not verdict.allowed:
        return verdict.message
    if isinstance(arrival, InboundMessage) and arrival.unsupported:
        return UNSUPPORTED.format(kind=arrival.unsupported)
    limit = settings.OPENCLAW_MAX_MESSAGE_CHARS
    if len(arrival.text) > limit:
        return TOO_LONG.format(size=len(arrival.text), limit=limit)
    return None


async def _to_lane(
    arrival: Arrival, admitted: _Admitted, received: Received | None = None
) -> runs.Submitted:
    """The session's lane (or, for a chat command, its answer at once); `received`: the files
    that came with a platform message (its text is already the turn's text)."""
    entry, session = admitted.entry, admitted.session
    if isinstance(arrival, ScheduledMessage):
        job = arrival.job
        origin = f"{job.purpose} (scheduled job #{job.pk})"
        return runs.submit_scheduled(
            session, arrival.text, arrival.sink, entry.run, entry.record, origin
        )
    if isinstance(arrival, WebMessage):
        return await runs.accept_message(
            session,
            arrival.text,
            records=(entry.record,),
            run_id=entry.run,
            media=arrival.media,
            image_input=arrival.image_input,
        )
    if isinstance(arrival, ApiMessage):  # text for the model: no chat commands over HTTP
        return await runs.submit_chat(
            session,
            arrival.text,
            channel=arrival.channel,
            # A hook's delivery closes its entry once the answer reached the chat.
            records=() if arrival.recipient is not None else (entry.record,),
            run_id=entry.run,
            origin=arrival.origin,
        )
    # In a group, the model must know who says what: the name goes in the message's stamp.
    sender = (arrival.sender_name or arrival.sender_id) if arrival.is_group else ""
    owners = admitted.account.owner_ids if admitted.account is not None else ()
    text = arrival.text
    if arrival.is_group and chat_commands.parse(text) is None:  # with what was said before it
        text = group_buffer.given_with(session.key, text)
    return await runs.accept_message(
        session,
        text,
        channel=arrival.channel,
        run_id=entry.run,
        sender=sender,
        from_owner=arrival.sender_id in (owners or ()),
        media=received.media if received is not None else (),
        image_input=received.image_input if received is not None else "",
    )
