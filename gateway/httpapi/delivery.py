"""Where a hook's answer goes: the platform chat it names (`channel`, `to`), or the one the
agent's main session last heard from (`channel: "last"`), through the account's running
connection. The sending itself is `gateway.httpapi.hook_answers`."""

from channels.db import database_sync_to_async

from agents import services
from gateway.connections import running
from gateway.httpapi.chat_request import BadRequest
from gateway.httpapi.hook_answers import Destination
from gateway.job_runner import LOCAL_CHANNELS
from gateway.messages import ReplyTarget
from gateway.models import InboundRecord
from gateway.platforms import MODULES


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
