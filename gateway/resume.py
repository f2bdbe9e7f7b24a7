"""After a restart: finish what the journal accepted but never delivered. An answer already in
the transcript is delivered from where it stopped; a turn that never finished (or that a
shutdown cut: its answer is marked aborted) runs again. Platform entries are resumed by their
connection (`PlatformConnection.resume`), web chat entries here."""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings
from django.utils import timezone

from agents import services
from agents.transcripts import read_entries_async
from gateway import journal, runs
from gateway.answers import answer_of
from gateway.httpapi import hook_answers, wake
from gateway.httpapi.main_chat import follow_main_chat
from gateway.httpapi.origins import WAKE_SENDER, origin_of
from gateway.messages import ReplyTarget
from gateway.models import InboundRecord

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Pending:
    """The undelivered messages of one run (several when `collect` merged them)."""

    channel: str
    account_id: str
    session_key: str
    run_id: str
    texts: tuple[str, ...]
    target: ReplyTarget
    reply_message_id: str
    delivered_chunks: int
    records: tuple[int, ...] = ()
    media: tuple[dict[str, Any], ...] = ()  # each record's files (`InboundRecord.media`)
    senders: tuple[str, ...] = ()  # each record's sender
    recipient: journal.Recipient | None = None  # a hook's: the chat its answer goes to
    due: datetime | None = None  # a held wake event's time to be answered, if still to come


def pending_runs() -> list[Pending]:
    now = timezone.now()
    since = now - timedelta(hours=settings.OPENCLAW_RESUME_HOURS)
    records = (
        InboundRecord.objects.filter(status=InboundRecord.Status.ACCEPTED, received_at__gte=since)
        .exclude(session_key="")
        .order_by("received_at", "pk")
    )
    runs: dict[str, list[InboundRecord]] = {}
    for record in records:
        if _recipient(record) is not None:  # a hook's delivery: its own, to its own chat
            runs[f"record:{record.pk}"] = [record]
        else:
            runs.setdefault(record.run_id or f"record:{record.pk}", []).append(record)
    return [
        Pending(
            channel=group[0].channel,
            account_id=group[0].account_id,
            session_key=group[0].session_key,
            run_id=group[0].run_id,
            texts=tuple(r.text for r in group),
            target=ReplyTarget(group[-1].chat_id, group[-1].thread_id, group[-1].message_id),
            reply_message_id=group[0].reply_message_id,
            delivered_chunks=group[0].delivered_chunks,
            records=tuple(r.pk for r in group),
            media=tuple(r.media or {} for r in group),
            senders=tuple(r.sender_id for r in group),
            recipient=_recipient(group[0]),
            due=group[0].received_at if group[0].received_at > now else None,
        )
        for group in runs.values()
    ]


def _recipient(record: InboundRecord) -> journal.Recipient | None:
    if record.channel != journal.WEB:
        return None
    return journal.recipient_of(record.chat_id, record.thread_id)


async def transcript_answer(pending: Pending) -> str | None:
    try:
        session = await database_sync_to_async(services.find_session)(pending.session_key)
    except services.NotFound:
        return None
    return answer_of(await read_entries_async(Path(session.transcript)), pending.run_id)


async def resume_web(pending: Pending) -> None:
    """At start: close the web chat entries whose answer reached the transcript, run the others
    again (the answer lands in the transcript, where a reconnecting client reads it). A hook's
    answer for a chat is delivered there (`gateway.httpapi.hook_answers.resume`); a wake event
    held for a heartbeat still to come waits for it again (`gateway.httpapi.wake`)."""
    if pending.recipient is not None:
        await hook_answers.resume(pending, pending.recipient)
        return
    if pending.due is not None:  # a wake event held for a heartbeat still to come
        wake.rearm(pending.account_id, pending.due, pending.records, pending.run_id, pending.texts)
        return
    if await transcript_answer(pending) is not None:
        await database_sync_to_async(journal.mark_records_delivered)(pending.records)
        return
    try:
        session = await database_sync_to_async(services.find_session)(pending.session_key)
    except services.NotFound:
        logger.warning("Session %s is gone; cannot answer its journal entries", pending.session_key)
        return
    senders = pending.senders or ("",) * len(pending.records)
    if WAKE_SENDER in senders:  # its answer reaches the owner's chat too, as it would have
        await follow_main_chat(pending.account_id)
    for record, text, sender in zip(pending.records, pending.texts, senders, strict=True):
        origin = origin_of(sender)
        if origin is None:  # typed in the web chat: it may be a chat command
            accepted = await runs.accept_message(session, text, records=(record,))
        else:  # the HTTP API or a hook: never a command, and the origin it had
            accepted = await runs.submit_chat(
                session, text, records=(record,), sender=sender, origin=origin
            )
        await database_sync_to_async(journal.set_run)(record, accepted.run)
