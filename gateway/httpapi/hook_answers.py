"""A hook's answer sent to its recipient (`/hooks/agent` with `deliver`). The recipient is kept
in the hook's journal entry (`journal.Recipient`); the answer is sent when the hook's run ends,
through the account's running connection, chunk by chunk, each chunk noted in the entry, which
closes once all of it arrived. A restart that cut the turn or the sending resumes it (`resume`,
called by `gateway.resume`): the rest of an answer already in the transcript is sent, else the
turn runs again with the hook's origin and its answer is sent when it ends; never twice."""

import asyncio
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from channels.db import database_sync_to_async

from agents import services
from gateway import journal, runs
from gateway.adapters.base import AdapterError
from gateway.httpapi.listener import RunEvent, SessionEvents, finished_answer
from gateway.httpapi.origins import origin_of
from gateway.httpapi.submit import run_deadline
from gateway.messages import ReplyTarget
from gateway.state import runtime

if TYPE_CHECKING:  # gateway.resume imports this module, and gateway.connections the resume
    from gateway.connections import PlatformConnection
    from gateway.resume import Pending

logger = logging.getLogger(__name__)

_delivering: set[asyncio.Task[None]] = set()  # kept referenced until they end


@dataclass(frozen=True, slots=True)
class Destination:
    connection: "PlatformConnection"
    target: ReplyTarget

    def __str__(self) -> str:
        return f"{self.connection.channel}:{self.connection.account_id} chat {self.target.chat_id}"

    @property
    def recipient(self) -> journal.Recipient:
        conn, target = self.connection, self.target
        return journal.Recipient(conn.channel, conn.account_id, target.chat_id, target.thread_id)


def _running(channel: str, account: str) -> "PlatformConnection | None":
    """The account's running connection, as `gateway.connections.running` finds it (which
    this module cannot import): every connection the runtime holds is a `PlatformConnection`."""
    return cast("PlatformConnection | None", runtime.connection(channel, account))


def deliver_when_done(
    listener: SessionEvents, run: str, to: Destination, seconds: float, record: int
) -> None:
    """Send the run's answer to `to` once the run ends (a task of its own), closing the
    journal entry `record` once it arrived; closes `listener`."""
    task = asyncio.create_task(
        _guarded(listener, run, to, seconds, record), name=f"hook-delivery:{run}"
    )
    _delivering.add(task)
    task.add_done_callback(_delivering.discard)


async def _guarded(
    listener: SessionEvents, run: str, to: Destination, seconds: float, record: int
) -> None:
    """`_deliver` in a task of its own: nobody else would hear of its failure."""
    try:
        await _deliver(listener, run, to, seconds, record)
    except Exception:
        logger.exception("Delivering hook run %s to %s failed", run, to)


async def _deliver(
    listener: SessionEvents, run: str, to: Destination, seconds: float, record: int
) -> None:
    last: RunEvent | None = None
    try:
        async for run_event in listener.events(run, seconds):
            last = run_event
    except TimeoutError:  # its entry stays open: the next start delivers or runs it again
        logger.warning("Hook run %s did not end in time; nothing delivered to %s", run, to)
        return
    finally:
        await listener.close()
    if last is not None:
        await _send(last, to, record)


async def _send(ended: RunEvent, to: Destination, record: int, delivered: int = 0) -> None:
    """Send what is left of a run's answer (`delivered` chunks arrived before), each chunk
    noted in the journal entry, then close it. A failed run sends nothing and is closed; one
    a shutdown cut stays open (the next start runs it again)."""
    event, data = ended
    if event != "chat.final":
        if data.get("code") == "restarting":
            return
        logger.warning("Hook run %s failed; nothing delivered to %s", data.get("run"), to)
        await database_sync_to_async(journal.mark_records_delivered)((record,))
        return
    text = str(data.get("text", ""))  # "": NO_REPLY, nothing to say
    chunks = to.connection.adapter.split(text) if text else []
    try:
        for index, chunk in enumerate(chunks):
            if index >= delivered:
                await to.connection.reply_now(to.target, chunk)
                await database_sync_to_async(journal.note_record_chunks)(record, index + 1)
    except AdapterError as error:  # its entry stays open: the next start sends the rest
        logger.warning("Delivering hook run %s to %s failed: %s", data.get("run"), to, error)
        return
    await database_sync_to_async(journal.mark_records_delivered)((record,))


async def resume(pending: "Pending", recipient: journal.Recipient) -> None:
    """At start: a hook's answer that never reached its recipient. Sent from where it stopped
    if the transcript holds it, else the turn runs again (with the hook's origin) and its
    answer is delivered when it ends. Waits for a later start while the account is not
    running."""
    (record,) = pending.records
    connection = _running(recipient.channel, recipient.account)
    if connection is None:
        logger.warning("No running %s account %r", recipient.channel, recipient.account)
        return
    to = Destination(connection, ReplyTarget(recipient.chat, recipient.thread))
    ended = await finished_answer(pending.session_key, pending.run_id)
    if ended is not None:
        await _send(ended, to, record, pending.delivered_chunks)
        return
    try:
        session = await database_sync_to_async(services.find_session)(pending.session_key)
    except services.NotFound:
        logger.warning("Session %s is gone; hook entry %s stays", pending.session_key, record)
        return
    (sender,) = pending.senders
    listener = SessionEvents()
    await listener.follow(session.key)
    try:
        accepted = await runs.submit_chat(
            session,
            pending.texts[0],
            channel="hook",
            sender=sender,
            origin=origin_of(sender) or "hook",
        )
    except BaseException:
        await listener.close()
        raise
    await database_sync_to_async(journal.set_run)(record, accepted.run)
    deliver_when_done(listener, accepted.run, to, run_deadline(), record)
