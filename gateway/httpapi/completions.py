"""POST /v1/chat/completions: authorise (the gateway token) → parse → route the caller's new
message into its session (a real turn on the session's lane) → answer with the turn's result,
whole or streamed as server-sent events of the turn's own deltas, ending with `data: [DONE]`."""

import contextlib
import json
import time
from collections.abc import AsyncIterator

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from gateway import router
from gateway.httpapi import openai_shapes as shapes
from gateway.httpapi.auth import api_authorised
from gateway.httpapi.chat_request import (
    BadRequest,
    ChatRequest,
    model_id,
    parse_chat,
    session_key,
)
from gateway.httpapi.listener import RunEvent, SessionEvents, finished_answer
from gateway.httpapi.origins import API_SENDER
from gateway.httpapi.submit import (
    Refused,
    idempotency_key,
    refusal_before_routing,
    run_deadline,
    submit,
)
from gateway.webhooks import MAX_BODY_BYTES, body_too_large

SESSION_HEADER = "X-OpenClaw-Session"
# A failed turn is not retried by the `openai` clients (each retry would be a new turn).
NO_RETRY = {"x-should-retry": "false"}


def _parse(request: HttpRequest) -> ChatRequest | HttpResponse:
    """The request, or the answer refusing it (token, size, body)."""
    if not api_authorised(request):
        message = "Send the gateway token as `Authorization: Bearer <token>`."
        return shapes.error(401, message, code="invalid_api_key")
    if body_too_large(request):
        message = f"The body is over {MAX_BODY_BYTES:,} bytes."
        return shapes.error(413, message, code="body_too_large")
    try:
        return parse_chat(
            json.loads(request.body),
            header_session=request.headers.get(SESSION_HEADER, ""),
            default_agent=settings.OPENCLAW_DEFAULT_AGENT,
            max_chars=settings.OPENCLAW_MAX_MESSAGE_CHARS,
        )
    except (ValueError, RecursionError):
        return shapes.error(400, "The body is not JSON.")
    except BadRequest as bad:
        return shapes.error(bad.status, bad.message, code=bad.code, param=bad.param)


def _refused(refused: Refused, model: str) -> HttpResponse:
    if refused.status == 404:
        message = f"The model {model!r} does not exist."
        return shapes.error(404, message, code=refused.code, param="model")
    kind = "rate_limit_exceeded" if refused.status == 429 else "server_error"
    return shapes.error(refused.status, refused.message, kind, code=refused.code)


@csrf_exempt
@require_POST
async def chat_completions(request: HttpRequest) -> HttpResponseBase:
    asked = _parse(request)
    if isinstance(asked, HttpResponse):
        return asked
    model = model_id(asked.agent)
    if (refused := refusal_before_routing()) is not None:
        return _refused(refused, model)
    key = session_key(asked.agent, "api", asked.session)
    message = router.ApiMessage(
        key, asked.text, idempotency_key(request), sender=API_SENDER, channel="api"
    )
    listener = SessionEvents()
    routed = await submit(message, listener)
    if isinstance(routed, Refused):
        return _refused(routed, model)
    answer = Answer(listener, routed, model, int(time.time()))
    headers = {SESSION_HEADER: routed.session}
    if not asked.stream:
        return await answer.whole(headers)
    return StreamingHttpResponse(
        answer.stream(include_usage=asked.include_usage),
        content_type="text/event-stream",
        headers={**headers, "Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


class Answer:
    """The answer to one routed request: its run's events, whole or as a stream."""

    def __init__(self, listener: SessionEvents, routed: router.Routed, model: str, created: int):
        self.listener, self.routed, self.model, self.created = listener, routed, model, created

    async def _events(self) -> AsyncIterator[RunEvent]:
        """The run's events; for a retried request whose run already ended, its end as the
        transcript holds it."""
        if self.routed.outcome == "duplicate":
            ended = await finished_answer(self.routed.session, self.routed.run)
            if ended is not None:
                yield ended
                return
        async for run_event in self.listener.events(self.routed.run, run_deadline()):
            yield run_event

    async def whole(self, headers: dict[str, str]) -> HttpResponse:
        last: RunEvent = ("chat.error", {"message": "The run did not end in time."})
        try:
            # Past the deadline, `last` is what came (if nothing: "did not end in time").
            with contextlib.suppress(TimeoutError):
                async for run_event in self._events():
                    last = run_event
        finally:
            await self.listener.close()
        name, data = last
        if name == "chat.error":
            return _turn_failed(data, headers)
        text, stop_reason = str(data.get("text", "")), str(data.get("stop_reason", "stop"))
        body = shapes.completion(
            self.routed.run, self.model, self.created, text, stop_reason, data.get("usage") or {}
        )
        return JsonResponse(body, headers=headers)

    async def stream(self, *, include_usage: bool) -> AsyncIterator[bytes]:
        run, model, created = self.routed.run, self.model, self.created
        sent = ""
        try:
            yield shapes.event(
                shapes.chunk(run, model, created, {"role": "assistant", "content": ""})
            )
            async for name, data in self._events():
                if name == "chat.delta":
                    text = str(data.get("text", ""))
                    sent += text
                    yield shapes.event(shapes.chunk(run, model, created, {"content": text}))
                elif name == "chat.final":
                    whole = str(data.get("text", ""))
                    if whole.startswith(sent) and len(whole) > len(sent):  # not streamed alone
                        rest = {"content": whole[len(sent) :]}
                        yield shapes.event(shapes.chunk(run, model, created, rest))
                    finish = shapes.finish_reason(str(data.get("stop_reason", "stop")))
                    yield shapes.event(shapes.chunk(run, model, created, {}, finish))
                    if include_usage:
                        usage = data.get("usage") or {}
                        yield shapes.event(shapes.chunk(run, model, created, None, usage=usage))
                elif name == "chat.error":
                    yield shapes.event(_error_body(data))
        except TimeoutError:
            yield shapes.event(
                shapes.error_body("The run did not end in time.", "server_error", "timeout")
            )
        finally:
            await self.listener.close()
        yield shapes.DONE


def _error_body(data: dict[str, object]) -> dict[str, object]:
    message = str(data.get("message", "The run failed."))
    return shapes.error_body(message, "server_error", str(data.get("code", "")) or None)


def _turn_failed(data: dict[str, object], headers: dict[str, str]) -> HttpResponse:
    """A turn that ended in an error: the provider's message; a spent budget is a 429."""
    body = _error_body(data)
    status = 429 if data.get("code") == "budget_exhausted" else 502
    return JsonResponse(body, status=status, headers={**headers, **NO_RETRY})
