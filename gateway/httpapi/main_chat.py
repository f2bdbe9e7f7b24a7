"""The platform chat an agent's main session last heard from (its owner's, for an account that
maps its owner to the main session): where a hook with `channel: "last"` delivers, and where a
wake event's answer goes besides the web chat."""

from channels.db import database_sync_to_async

from agents import services
from gateway.job_runner import LOCAL_CHANNELS
from gateway.messages import ReplyTarget
from gateway.models import InboundRecord
from gateway.state import runtime


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


async def follow_main_chat(agent: str) -> None:
    """Let the platform chat the agent's main session last heard from (its owner's, mapped to
    the main session) receive that session's answers, as a heartbeat's report does: a wake
    event's answer reaches the owner there as well as in the web chat."""
    found = await database_sync_to_async(last_chat)(agent)
    if found is None:
        return
    platform, account, chat, thread = found
    connection = runtime.connection(platform, account)
    if connection is not None:
        await connection.follow(services.main_session_key(agent), ReplyTarget(chat, thread))
