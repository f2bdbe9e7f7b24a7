"""Gateway WebSocket methods: each validates its params, calls one service, returns a result.

Handlers raise `ProtocolError` for anything the client should hear about. The gateway token
may call every method; a staff user signed in to the admin needs, for each method, the same
Django permission the admin asks for the same thing (`PERMISSIONS`).
"""

import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Protocol

from channels.db import database_sync_to_async
from django.conf import settings

import openclaw
from agents import services
from agents.media.types import Media
from agents.services import NotFound
from agents.transcripts import Entry, read_entries_async
from gateway import approvals, inflight, router, webchat_media
from gateway.lanes import LanesClosed
from gateway.protocol import ProtocolError, int_param, optional_str, require_str
from gateway.ratelimit import socket_identity
from gateway.state import runtime

Result = dict[str, Any]


class Connection(Protocol):
    scope: dict[str, Any]  # the ASGI scope: who is connected (token holder or staff user)

    async def subscribe(self, session_key: str) -> None: ...


Handler = Callable[[Connection, dict[str, Any]], Awaitable[Result]]


async def health(conn: Connection, params: dict[str, Any]) -> Result:
    return {"status": "ok", "version": openclaw.__version__, "runtime": runtime.state}


async def chat_send(conn: Connection, params: dict[str, Any]) -> Result:
    text = optional_str(params, "text", max_len=settings.OPENCLAW_MAX_MESSAGE_CHARS) or ""
    key = optional_str(params, "session")
    agent = optional_str(params, "agent", max_len=64)
    idempotency_key = optional_str(params, "idempotencyKey", max_len=128)
    session_key = key or services.main_session_key(agent)
    media, image_input = await _uploads(session_key, params.get("media"))
    if not text.strip() and not media:  # files alone are a message; nothing at all is not
        raise ProtocolError("bad_params", "Missing or empty parameter `text`.")
    message = router.WebMessage(
        session_key=session_key,
        text=await webchat_media.turn_text(text, media) if media else text,
        key=idempotency_key or uuid.uuid4().hex,
        sender=_sender(conn.scope),
        scope=conn.scope,
        media=tuple(m.as_dict() for m in media),
        image_input=image_input,
    )
    try:
        routed = await router.route(message, on_session=conn.subscribe)
    except NotFound as exc:
        raise ProtocolError("not_found", str(exc)) from None
    except LanesClosed as exc:
        raise ProtocolError("unavailable", str(exc)) from None
    if routed.outcome == "replied":
        raise ProtocolError("rate_limited", routed.reply or "Too many messages.")
    queued = routed.disposition or routed.outcome  # "duplicate": the original's run answers it
    return {"run": routed.run, "session": routed.session, "queued": queued}


async def _uploads(session_key: str, paths: object) -> tuple[list[Media], str]:
    """The files a `chat.send` names (`media`: paths its session's uploads answered), and the
    agent's image mode for them."""
    if paths is None or paths == []:
        return [], ""
    limit = webchat_media.MAX_FILES_PER_MESSAGE
    if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
        raise ProtocolError("bad_params", "Parameter `media` must be a list of upload paths.")
    if len(paths) > limit:
        raise ProtocolError("bad_params", f"At most {limit} files go with one message.")
    try:
        media = webchat_media.take(session_key, paths)
        mode = await database_sync_to_async(webchat_media.image_input_for)(session_key, media)
    except webchat_media.UnknownUpload as exc:
        raise ProtocolError("bad_params", str(exc)) from None
    except NotFound as exc:
        raise ProtocolError("not_found", str(exc)) from None
    return media, mode


async def chat_attach(conn: Connection, params: dict[str, Any]) -> Result:
    """Subscribe to a session and return its answer in flight, if any (for reconnects)."""
    key = require_str(params, "session")
    await conn.subscribe(key)  # first: events after this reach the socket; `seq` dedupes
    return {"session": key, "live": inflight.snapshot(key)}


def _sender(scope: dict[str, Any]) -> str:
    user = scope.get("user")
    return str(user.get_username()) if user is not None and user.is_authenticated else "token"


async def chat_abort(conn: Connection, params: dict[str, Any]) -> Result:
    run_id = require_str(params, "run", max_len=64)
    try:
        return {"aborted": runtime.lanes.abort(run_id)}
    except LanesClosed as exc:
        raise ProtocolError("unavailable", str(exc)) from None


async def sessions_list(conn: Connection, params: dict[str, Any]) -> Result:
    agent = optional_str(params, "agent", max_len=64)
    return {"sessions": await database_sync_to_async(services.list_sessions)(agent)}


async def sessions_history(conn: Connection, params: dict[str, Any]) -> Result:
    key = require_str(params, "session")
    limit = int_param(params, "limit", default=50, low=1, high=500)
    try:
        session = await database_sync_to_async(services.find_session)(key)
    except NotFound:
        await conn.subscribe(key)
        return {"session": key, "entries": []}
    await conn.subscribe(key)
    entries = await read_entries_async(Path(session.transcript))
    shown = [e for e in entries if e["type"] in ("message", "error", "compaction") or _sent(e)]
    return {"session": key, "entries": shown[-limit:]}


def _sent(entry: Entry) -> bool:
    """A `send_file` result: the web chat shows the file it names in its answer."""
    meta = entry.get("meta") or {}
    return (
        entry["type"] == "tool_result" and meta.get("name") == "send_file" and bool(meta.get("ok"))
    )


async def sessions_reset(conn: Connection, params: dict[str, Any]) -> Result:
    key = require_str(params, "session")
    try:
        previous, _ = await database_sync_to_async(services.reset_session)(key)
    except NotFound as exc:
        raise ProtocolError("not_found", str(exc)) from None
    return {"session": key, "previous": previous}


async def exec_decide(conn: Connection, params: dict[str, Any]) -> Result:
    approval = int_param(params, "approval", default=0, low=1, high=2**62)
    approve = params.get("approve")
    if not isinstance(approve, bool):
        raise ProtocolError("bad_params", "Parameter `approve` must be true or false.")
    user = conn.scope.get("user")
    actor = user if user is not None and user.is_authenticated else "gateway-token"
    try:
        decided = await database_sync_to_async(approvals.decide_exec_approval)(
            approval, approve, actor
        )
    except approvals.ApprovalError as exc:
        raise ProtocolError("not_found", str(exc)) from None
    return {"approval": decided.pk, "status": decided.status}


# What a staff user needs, per method, exactly as in the admin: reading a session's messages is
# viewing sessions; writing into one, stopping or resetting it is changing them; deciding an
# exec approval is changing approvals. (The gateway token holder may do everything.)
PERMISSIONS: dict[str, tuple[str, ...]] = {
    "health": (),
    "chat.send": ("agents.view_session", "agents.change_session"),
    "chat.abort": ("agents.change_session",),
    "chat.attach": ("agents.view_session",),
    "sessions.list": ("agents.view_session",),
    "sessions.history": ("agents.view_session",),
    "sessions.reset": ("agents.change_session",),
    "exec.decide": ("gateway.change_execapproval",),
}


async def _may(scope: dict[str, Any], method: str) -> bool:
    if socket_identity(scope) == "token":  # the token holder, told apart once per socket
        return True
    user = scope.get("user")
    if user is None or not user.is_authenticated:
        return False
    needed = PERMISSIONS.get(method)
    if needed is None:  # a method without an entry is the token holder's only
        return False
    return bool(await database_sync_to_async(user.has_perms)(needed)) if needed else True


METHODS: dict[str, Handler] = {
    "health": health,
    "chat.send": chat_send,
    "chat.abort": chat_abort,
    "chat.attach": chat_attach,
    "sessions.list": sessions_list,
    "sessions.history": sessions_history,
    "sessions.reset": sessions_reset,
    "exec.decide": exec_decide,
}


async def dispatch(conn: Connection, method: str, params: dict[str, Any]) -> Result:
    handler = METHODS.get(method)
    if handler is None:
        raise ProtocolError("unknown_method", f"Unknown method {method!r}.")
    if not await _may(conn.scope, method):
        raise ProtocolError("forbidden", f"Your account lacks the permission {method} needs.")
    return await handler(conn, params)
