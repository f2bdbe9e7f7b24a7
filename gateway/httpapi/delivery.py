"""Where a hook's answer goes: the platform chat it names (`channel`, `to`), or the one the
agent's main session last heard from (`channel: "last"`), through the account's running
connection. The sending itself is `gateway.httpapi.hook_answers`; the main session's last chat
`gateway.httpapi.main_chat`."""

from channels.db import database_sync_to_async

from gateway.connections import running
from gateway.httpapi.chat_request import BadRequest
from gateway.httpapi.hook_answers import Destination
from gateway.httpapi.main_chat import last_chat
from gateway.messages import ReplyTarget
from gateway.platforms import MODULES


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
