"""The inbound journal: the only code that writes `InboundRecord` rows. Every message the
router accepts is written down here before anything answers it (deduplicated by channel,
account and message id), and closed once its answer was delivered, so a restart answers what a
crash or a shutdown left open and a redelivered message never runs twice. Plain synchronous
functions: the router and the connections call them in the database thread."""

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import IntegrityError, connection, transaction

from agents.scheduled_jobs import DueJob
from agents.services import SessionRef
from gateway.messages import InboundMessage
from gateway.models import ChannelAccount, InboundRecord
from openclaw.perf import rows

WEB = ChannelAccount.Channel.WEB.value
# Scheduled turns (reminders, heartbeats): their records are closed at the next start, never
# run again (the job was claimed before it ran: a crash never runs it twice).
SCHEDULE = "schedule"


@dataclass(frozen=True, slots=True)
class Recipient:
    """The platform chat a hook's answer is delivered to (`/hooks/agent` with `deliver`). Its
    journal entry keeps it (`chat_id` `<channel>:<account>:<chat>`, `thread_id`; a web chat
    entry's `chat_id` is its session key), so a restart still delivers the answer, once."""

    channel: str
    account: str
    chat: str
    thread: str = ""


def recipient_of(chat_id: str, thread_id: str) -> Recipient | None:
    """The recipient a web-side entry (`record_web`) keeps, or None (answered in its session)."""
    parts = chat_id.split(":", 2)
    if len(parts) < 3 or parts[0] == WEB or parts[0] not in ChannelAccount.Channel.values:
        return None
    return Recipient(parts[0], parts[1], parts[2], thread_id)


@dataclass(frozen=True, slots=True)
class Entry:
    """A journal entry: its record, the run expected to answer it, and whether this call wrote
    it (False: the message was journaled before, and `run` is the one that answers it)."""

    record: int
    run: str
    created: bool


def journal_message_id(session_key: str, key: str) -> str:
    """The journal's message id of a web chat message: unique per session and client key."""
    return hashlib.sha256(session_key.encode("utf-8")).hexdigest()[:16] + ":" + key


def _insert(values: dict[str, Any]) -> int:
    record: int = rows.insert(InboundRecord, values)
    return record


def _insert_once(values: dict[str, str], media: dict[str, Any] | None = None) -> Entry:
    """A new entry, or `created=False` when its message was journaled before (a savepoint, so
    a duplicate does not break the caller's transaction)."""
    try:
        with transaction.atomic():
            if media is None:
                return Entry(_insert(values), values["run_id"], created=True)
            row = InboundRecord.objects.create(**values, media=media)
            return Entry(row.pk, values["run_id"], created=True)
    except IntegrityError:
        return Entry(0, "", created=False)


def record_platform(message: InboundMessage, run: str) -> Entry:
    """A platform message; `created` is False for a redelivery (nothing else is written)."""
    values = {
        "channel": message.channel,
        "account_id": message.account,
        "message_id": message.message_id,
        "chat_id": message.chat_id,
        "sender_id": message.sender_id,
        "text": message.text,
        "thread_id": message.thread_id,
        "run_id": run,
    }
    if message.attachments:
        claimed = [a.as_dict() for a in message.attachments]
        return _insert_once(values, media={"claimed": claimed})
    return _insert_once(values)


def record_web(
    session: SessionRef,
    key: str,
    text: str,
    sender: str,
    run: str,
    recipient: Recipient | None = None,
    due: datetime | None = None,
) -> Entry:
    """A web chat message (or an HTTP API or hook message), deduplicated per session by the
    client's idempotency `key`; `recipient`: the chat its answer is delivered to (a hook's);
    `due`: when it is to be answered, if later (a wake event held for the next heartbeat: its
    entry is received then, and a start before that time holds it again)."""
    fields = {"channel": WEB, "account_id": session.agent.slug}
    message_id = journal_message_id(session.key, key)
    chat, thread = session.key, ""
    if recipient is not None:
        chat = f"{recipient.channel}:{recipient.account}:{recipient.chat}"
        thread = recipient.thread
    values: dict[str, Any] = {
        **fields,
        "message_id": message_id,
        "chat_id": chat,
        "thread_id": thread,
        "sender_id": sender[:255],
        "session_key": session.key,
        "text": text,
        "run_id": run,
    }
    if due is not None:
        values["received_at"] = due
    try:
        return Entry(_insert(values), run, created=True)
    except IntegrityError:
        known = InboundRecord.objects.get(**fields, message_id=message_id)
        return Entry(known.pk, known.run_id, created=False)


def record_scheduled(job: DueJob, session: SessionRef, text: str, run: str) -> Entry:
    """A scheduled turn: one entry per job and due time (a second claim of it is a duplicate)."""
    values = {
        "channel": SCHEDULE,
        "account_id": job.agent_slug,
        "message_id": f"job:{job.pk}:{job.due.isoformat()}",
        "chat_id": session.key,
        "sender_id": job.purpose,
        "session_key": session.key,
        "text": text,
        "run_id": run,
    }
    return _insert_once(values)


def note_received(record: int, text: str, stored: list[dict[str, Any]], image_input: str) -> None:
    """The files of a message were fetched and stored (gateway.media_inbound): from now on the
    entry's text is the turn's text and a resume reuses the stored files."""
    media = {"received": True, "stored": stored, "image_input": image_input}
    InboundRecord.objects.filter(pk=record).update(text=text, media=media)


def set_session(record: int, session_key: str) -> None:
    InboundRecord.objects.filter(pk=record).update(session_key=session_key)


def set_run(record: int, run: str) -> None:
    """The message was folded into another run (or answered as a command)."""
    InboundRecord.objects.filter(pk=record).update(run_id=run)


def drop(record: int) -> None:
    """Refused after it was written down (policy, rate limit, size): never answered by a run."""
    InboundRecord.objects.filter(pk=record).update(status=InboundRecord.Status.DROPPED)


def forget(record: int) -> None:
    """The sender was told the message was not taken (web chat): a retry is a new message."""
    InboundRecord.objects.filter(pk=record).delete()


def note_reply_message(run: str, message_id: str) -> None:
    """The platform message the run's answer is streamed into (edited in place)."""
    InboundRecord.objects.filter(run_id=run).update(reply_message_id=message_id[:255])


def note_chunks(run: str, count: int) -> None:
    """How many chunks of the answer reached the platform: a resumed delivery goes on after."""
    InboundRecord.objects.filter(run_id=run).update(delivered_chunks=count)


def note_record_chunks(record: int, count: int) -> None:
    """How many chunks of a hook's answer reached its recipient (see `Recipient`)."""
    InboundRecord.objects.filter(pk=record).update(delivered_chunks=count)


def mark_delivered(run: str) -> None:
    """The reply to these messages reached the platform: their journal entries are done."""
    InboundRecord.objects.filter(run_id=run).update(status=InboundRecord.Status.DELIVERED)


def rebind(old_run: str, new_run: str, session_key: str) -> None:
    """A resumed turn runs again under a new run id."""
    records = InboundRecord.objects.filter(session_key=session_key, status="accepted")
    records.filter(run_id=old_run).update(run_id=new_run)


def mark_records_delivered(records: Sequence[int]) -> None:
    """These journal entries are answered (web chat: the answer is in the transcript)."""
    if not records:
        return
    table = rows.table(InboundRecord)
    marks = ", ".join(["%s"] * len(records))
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET status = %s WHERE id IN ({marks})",  # noqa: S608  # params
            [InboundRecord.Status.DELIVERED.value, *records],
        )


def close_scheduled(records: Sequence[int]) -> None:
    """Scheduled turns a crash or a shutdown cut: their jobs moved on when claimed."""
    InboundRecord.objects.filter(pk__in=records).update(status=InboundRecord.Status.DROPPED)


def prune_finished(before: datetime) -> int:
    """Delete the entries answered or dropped before `before`; entries still waiting for
    delivery stay whatever their age. Returns how many were deleted."""
    finished = (InboundRecord.Status.DELIVERED, InboundRecord.Status.DROPPED)
    deleted, _ = InboundRecord.objects.filter(received_at__lt=before, status__in=finished).delete()
    return deleted
