"""POST /hooks/agent and /hooks/wake: authorise (the hooks token, in a header) → parse → route
the hook's text like any chat message (journaled: a retry with the same `Idempotency-Key` is
answered with the first request's run and runs nothing) → 200 once it is queued. The text is
marked as the hook's (`origin`), never shown as the owner's own words."""

import json
from typing import Any

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
from gateway.httpapi.delivery import destination
from gateway.httpapi.hook_answers import deliver_when_done
from gateway.httpapi.hook_request import parse_agent_hook, parse_wake_hook
from gateway.httpapi.listener import SessionEvents
from gateway.httpapi.main_chat import follow_main_chat
from gateway.httpapi.origins import hook_sender, origin_of
from gateway.httpapi.submit import (
    Refused,
    idempotency_key,
    refusal_before_routing,
    run_deadline,
    submit,
)
from gateway.webhooks import MAX_BODY_BYTES, body_too_large


def _error(status: int, message: str, **extra: object) -> JsonResponse:
    return JsonResponse({"ok": False, "error": message, **extra}, status=status)


def _body(request: HttpRequest) -> Any:
    """The JSON body, or the answer refusing the request before it is read (token, size)."""
    if token_in_url(request):
        return _error(400, "Send the hooks token in a header, never in the URL.")
    if not hook_authorised(request):
        return _error(401, "Send the hooks token as `Authorization: Bearer <token>`.")
    if body_too_large(request):
        return _error(413, f"The body is over {MAX_BODY_BYTES:,} bytes.")
    if (refused := refusal_before_routing()) is not None:
        return _error(refused.status, refused.message)
    try:
        return json.loads(request.body)
    except (ValueError, RecursionError):
        return _error(400, "The body is not JSON.")


def _answer(routed: router.Routed | Refused, **extra: object) -> JsonResponse:
    if isinstance(routed, Refused):
        return _error(routed.status, routed.message)
    duplicate = routed.outcome == "duplicate"
    return JsonResponse(
        {"ok": True, "run": routed.run, "session": routed.session, "duplicate": duplicate, **extra}
    )


@csrf_exempt
@require_POST
async def agent_hook(request: HttpRequest) -> HttpResponse:
    """A turn in the hook's session; with `deliver`, its answer goes to a chat when it ends."""
    body = _body(request)
    if isinstance(body, HttpResponse):
        return body
    try:
        hook = parse_agent_hook(
            body,
            default_agent=settings.OPENCLAW_DEFAULT_AGENT,
            max_chars=settings.OPENCLAW_MAX_MESSAGE_CHARS,
        )
        to = await destination(hook.agent, hook.channel, hook.to) if hook.deliver else None
    except BadRequest as bad:
        return _error(bad.status, bad.message, param=bad.param)
    message = router.ApiMessage(
        session_key(hook.agent, "hook", hook.session),
        hook.message,
        idempotency_key(request),
        sender=hook_sender(hook.name),
        channel="hook",
        origin=origin_of(hook_sender(hook.name)) or "hook",
        recipient=to.recipient if to is not None else None,
    )
    if to is None:
        return _answer(await submit(message))
    listener = SessionEvents()
    routed = await submit(message, listener)
    if isinstance(routed, Refused) or routed.outcome != "accepted":
        await listener.close()  # a retry: the first request's run delivers, once
        return _answer(routed)
    assert routed.record is not None  # noqa: S101  # set for every accepted message
    deliver_when_done(listener, routed.run, to, run_deadline(), routed.record)
    return _answer(routed, deliver=str(to))


@csrf_exempt
@require_POST
async def wake_hook(request: HttpRequest) -> HttpResponse:
    """A system event for the agent's main session: answered there at once (`mode: now`, the
    default) or at the time its heartbeat next runs (`mode: next-heartbeat`)."""
    body = _body(request)
    if isinstance(body, HttpResponse):
        return body
    try:
        event = parse_wake_hook(
            body,
            default_agent=settings.OPENCLAW_DEFAULT_AGENT,
            max_chars=settings.OPENCLAW_MAX_MESSAGE_CHARS,
        )
    except BadRequest as bad:
        return _error(bad.status, bad.message, param=bad.param)
    key = idempotency_key(request)
    if event.mode == "now":
        await follow_main_chat(event.agent)
        return _answer(await submit(wake.message(event.agent, key, event.text)), mode=event.mode)
    try:
        due = await database_sync_to_async(wake.next_due)(event.agent)
    except services.NotFound as missing:
        return _error(404, str(missing))
    except wake.HeartbeatOff:
        return _error(
            409,
            f"The heartbeat of agent {event.agent!r} is off, so nothing would answer at the next "
            "one: send mode 'now', or switch its heartbeat on in the admin.",
        )
    routed = await submit(wake.message(event.agent, key, event.text, due))
    if not isinstance(routed, Refused) and routed.outcome == "accepted":
        assert routed.record is not None  # noqa: S101  # set for every accepted message
        wake.hold(event.agent, due, wake.Held(routed.record, routed.run, event.text))
    return _answer(routed, mode=event.mode, due=due.isoformat())
