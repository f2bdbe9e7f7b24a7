"""POST /hooks/agent and /hooks/wake: authorise (the hooks token, in a header) → parse → route
the hook's text like any chat message (journaled: a retry with the same `Idempotency-Key` is
answered with the first request's run and runs nothing) → 200 once it is queued. The text is
marked as the hook's (`origin`), never shown as the owner's own words."""

import json
import uuid
from collections.abc import Awaitable, Callable

from channels.db import database_sync_to_async
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from agents import services
from gateway import router
from gateway.httpapi import wake
from gateway.httpapi.auth import hook_authorised, token_in_url
from gateway.httpapi.chat_request import BadRequest, session_key
from gateway.httpapi.completions import IDEMPOTENCY_HEADER, run_deadline
from gateway.httpapi.delivery import (
    Destination,
    deliver_when_done,
    destination,
    follow_main_chat,
)
from gateway.httpapi.hook_request import parse_agent_hook, parse_wake_hook
from gateway.httpapi.listener import SessionEvents
from gateway.lanes import LanesClosed
from gateway.state import runtime
from gateway.webhooks import MAX_BODY_BYTES, body_too_large


def _error(status: int, message: str, **extra: object) -> JsonResponse:
    return JsonResponse({"ok": False, "error": message, **extra}, status=status)


def _refusal(request: HttpRequest) -> HttpResponse | None:
    """Why this request is not taken before its body is read, or None."""
    if token_in_url(request):
        return _error(400, "Send the hooks token in a header, never in the URL.")
    if not hook_authorised(request):
        return _error(401, "Send the hooks token as `Authorization: Bearer <token>`.")
    if body_too_large(request):
        return _error(413, f"The body is over {MAX_BODY_BYTES:,} bytes.")
    if runtime.state != "running":
        return _error(503, "The gateway is not running; try again.")
    return None


def _body(request: HttpRequest) -> object:
    try:
        return json.loads(request.body)
    except (ValueError, RecursionError):
        raise BadRequest("The body is not JSON.") from None


async def _route(
    message: router.ApiMessage, on_session: Callable[[str], Awaitable[None]] | None = None
) -> router.Routed | HttpResponse:
    try:
        routed = await router.route(message, on_session=on_session)
    except services.NotFound as missing:
        return _error(404, str(missing))
    except LanesClosed:
        return _error(503, "The gateway is shutting down; try again.")
    if routed.outcome not in ("accepted", "duplicate"):
        return _error(429, routed.reply or "Not taken.")
    return routed


def _taken(routed: router.Routed, **extra: object) -> JsonResponse:
    duplicate = routed.outcome == "duplicate"
    return JsonResponse(
        {"ok": True, "run": routed.run, "session": routed.session, "duplicate": duplicate, **extra}
    )


def _key(request: HttpRequest) -> str:
    return request.headers.get(IDEMPOTENCY_HEADER, "").strip()[:128] or uuid.uuid4().hex


@csrf_exempt
@require_POST
async def agent_hook(request: HttpRequest) -> HttpResponse:
    """A turn in the hook's session; with `deliver`, its answer goes to a chat when it ends."""
    if (refusal := _refusal(request)) is not None:
        return refusal
    try:
        hook = parse_agent_hook(
            _body(request),
            default_agent=settings.OPENCLAW_DEFAULT_AGENT,
            max_chars=settings.OPENCLAW_MAX_MESSAGE_CHARS,
        )
        to: Destination | None = None
        if hook.deliver:
            to = await destination(hook.agent, hook.channel, hook.to)
    except BadRequest as bad:
        return _error(bad.status, bad.message, param=bad.param)
    caller = hook.name or "agent"
    message = router.ApiMessage(
        session_key(hook.agent, "hook", hook.session),
        hook.message,
        _key(request),
        sender=f"hook:{caller}",
        channel="hook",
        origin=f"hook: {hook.name}" if hook.name else "hook",
    )
    listener = SessionEvents() if to is not None else None
    try:
        routed = await _route(message, listener.follow if listener is not None else None)
    except BaseException:
        if listener is not None:
            await listener.close()
        raise
    if isinstance(routed, HttpResponse) or to is None or routed.outcome != "accepted":
        if listener is not None:  # a retry: the first request's run delivers, once
            await listener.close()
        return routed if isinstance(routed, HttpResponse) else _taken(routed)
    assert listener is not None  # noqa: S101  # made with `to`
    deliver_when_done(listener, routed.run, to, run_deadline())
    return _taken(routed, deliver=str(to))


@csrf_exempt
@require_POST
async def wake_hook(request: HttpRequest) -> HttpResponse:
    """A system event for the agent's main session: answered there at once (`mode: now`, the
    default) or at the time its heartbeat next runs (`mode: next-heartbeat`)."""
    if (refusal := _refusal(request)) is not None:
        return refusal
    try:
        event = parse_wake_hook(
            _body(request),
            default_agent=settings.OPENCLAW_DEFAULT_AGENT,
            max_chars=settings.OPENCLAW_MAX_MESSAGE_CHARS,
        )
    except BadRequest as bad:
        return _error(bad.status, bad.message, param=bad.param)
    key = _key(request)
    if event.mode == "now":
        await follow_main_chat(event.agent)
        routed = await _route(wake.message(event.agent, key, event.text))
        return routed if isinstance(routed, HttpResponse) else _taken(routed, mode=event.mode)
    try:
        due = await database_sync_to_async(wake.next_heartbeat)(event.agent)
    except services.NotFound as missing:
        return _error(404, str(missing))
    except wake.HeartbeatOff:
        return _error(
            409,
            f"The heartbeat of agent {event.agent!r} is off, so nothing would answer at the next "
            "one: send mode 'now', or switch its heartbeat on in the admin.",
        )
    due, duplicate = wake.hold(event.agent, key, event.text, due)
    session = services.main_session_key(event.agent)
    return JsonResponse(
        {
            "ok": True,
            "session": session,
            "duplicate": duplicate,
            "mode": event.mode,
            "due": due.isoformat(),
        }
    )
