"""A hook's answer delivered to a chat: the platform chat it names (`channel`, `to`), or the one
the agent's main session last heard from (`channel: "last"`). The answer is sent once, when the
hook's run ends, through the account's running connection (chunked to the platform's limit)."""

import asyncio
import logging
from dataclasses import dataclass

from channels.db import database_sync_to_async

from agents import services
from gateway.adapters.base import AdapterError
from gateway.connections import PlatformConnection, running
from gateway.httpapi.chat_request import BadRequest
from gateway.httpapi.listener import RunEvent, SessionEvents
from gateway.job_runner import LOCAL_CHANNELS
from gateway.messages import ReplyTarget
from gateway.models import InboundRecord
from gateway.platforms import MODULES

logger = logging.getLogger(__name__)

_delivering: set[asyncio.Task[None]] = set()  # kept referenced until they end


@dataclass(frozen=True, slots=True)
class Destination:
    connection: PlatformConnection
    target: ReplyTarget

    def __str__(self) -> str:
        return f"{self.connection.channel}:{self.connection.account_id} chat {self.target.chat_id}"


def last_chat(agent: str) -> tuple[str, str, str, str] | None:
    """(channel, account, chat, thread) the agent's main session last heard from on a platform."""
    record = (
        InboundRecord.objects.filter(session_key=services.main_session_key(agent))
        .exclude(channel__in=LOCAL_CHANNELS)
        .order_by("-received_at", "-pk")
        .first()
    )
    if record is None:
        return None
    return record.channel, record.account_id, record.chat_id, record.thread_id


async def destination(agent: str, channel: str, to: str) -> Destination:
    """Where to deliver; raises `BadRequest` for a channel that is unknown or not running."""
    thread = ""
    if channel == "last":
        found = await database_sync_to_async(last_chat)(agent)
        if found is None:
            raise BadRequest(
                "The agent's main session has no chat to deliver to yet; name `channel` and `to`.",
                param="channel",
            )
        platform, account, chat, thread = found
        if to and to != chat:
            chat, thread = to, ""
    else:
        platform, _, account = channel.partition(":")
        account, chat = account or "default", to
    if platform not in MODULES:
        known = ", ".join(sorted(MODULES))
        raise BadRequest(
            f"Unknown channel {platform!r}; one of {known} or 'last'.", param="channel"
        )
    connection = running(platform, account)
    if connection is None:
        raise BadRequest(f"No running {platform} account {account!r}.", param="channel", status=409)
    return Destination(connection, ReplyTarget(chat, thread))


async def follow_main_chat(agent: str) -> None:
    """Let the platform chat the agent's main session last heard from (its owner's, mapped to
    the main session) receive that session's answers, as a heartbeat's report does: a wake
    event's answer reaches the owner there as well as in the web chat."""
    found = await database_sync_to_async(last_chat)(agent)
    if found is None:
        return
    platform, account, chat, thread = found
    connection = running(platform, account)
    if connection is not None:
        await connection.follow(services.main_session_key(agent), ReplyTarget(chat, thread))


def deliver_when_done(listener: SessionEvents, run: str, to: Destination, seconds: float) -> None:
    """Send the run's answer to `to` once the run ends (a task of its own); closes `listener`."""
    task = asyncio.create_task(_guarded(listener, run, to, seconds), name=f"hook-delivery:{run}")
    _delivering.add(task)
    task.add_done_callback(_delivering.discard)


async def _guarded(listener: SessionEvents, run: str, to: Destination, seconds: float) -> None:
    """`_deliver` in a task of its own: nobody else would hear of its failure."""
    try:
        await _deliver(listener, run, to, seconds)
    except Exception:
        logger.exception("Delivering hook run %s to %s failed", run, to)


async def _deliver(listener: SessionEvents, run: str, to: Destination, seconds: float) -> None:
    last: RunEvent | None = None
    try:
        async for run_event in listener.events(run, seconds):
            last = run_event
    except TimeoutError:
        logger.warning("Hook run %s did not end in time; nothing delivered to %s", run, to)
        return
    finally:
        await listener.close()
    if last is None or last[0] != "chat.final":
        logger.warning("Hook run %s failed; nothing delivered to %s", run, to)
        return
    text = str(last[1].get("text", ""))
    if not text:  # NO_REPLY: nothing to say
        return
    try:
        await to.connection.reply_now(to.target, text)
    except AdapterError as error:
        logger.warning("Delivering hook run %s to %s failed: %s", run, to, error)
