"""OpenAI's wire shapes (pure): a chat completion, its streamed chunks, usage, models and errors,
built from our turn's events, so the official `openai` clients read them unchanged."""

import json
from collections.abc import Mapping
from typing import Any

from django.http import JsonResponse

from gateway.httpapi.chat_request import model_id

DONE = b"data: [DONE]\n\n"
# Our turn's stop reasons (agents.loop) as OpenAI's finish reasons.
_FINISH = {"length": "length", "tool_calls": "stop"}


def completion_id(run: str) -> str:
    return f"chatcmpl-{run}"


def finish_reason(stop_reason: str) -> str:
    return _FINISH.get(stop_reason, "stop")


def usage_of(usage: Mapping[str, Any] | None) -> dict[str, Any]:
    """Our usage (agents.transcripts.Usage) in OpenAI's shape; cache reads are its cached tokens."""
    usage = usage or {}
    shaped: dict[str, Any] = {
        "prompt_tokens": int(usage.get("prompt_tokens", 0)),
        "completion_tokens": int(usage.get("completion_tokens", 0)),
        "total_tokens": int(usage.get("total_tokens", 0)),
    }
    shaped["prompt_tokens_details"] = {"cached_tokens": int(usage.get("cached_tokens", 0))}
    return shaped


def completion(
    run: str, model: str, created: int, text: str, stop_reason: str, usage: Mapping[str, Any]
) -> dict[str, Any]:
    """A whole (not streamed) chat completion."""
    return {
        "id": completion_id(run),
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text, "refusal": None},
                "finish_reason": finish_reason(stop_reason),
                "logprobs": None,
            }
        ],
        "usage": usage_of(usage),
    }


def chunk(
    run: str,
    model: str,
    created: int,
    delta: dict[str, Any] | None,
    finish: str | None = None,
    usage: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A streamed chunk: a `delta` (None: the usage chunk, which has no choices)."""
    body: dict[str, Any] = {
        "id": completion_id(run),
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "choices": []
        if delta is None
        else [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
    }
    if delta is None:
        body["usage"] = usage_of(usage)
    return body


def event(data: Mapping[str, Any]) -> bytes:
    """One server-sent event carrying `data` as JSON."""
    return b"data: " + json.dumps(data, ensure_ascii=False).encode("utf-8") + b"\n\n"


def error_body(
    message: str, kind: str, code: str | None = None, param: str | None = None
) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


def error(
    status: int,
    message: str,
    kind: str = "invalid_request_error",
    code: str | None = None,
    param: str | None = None,
) -> JsonResponse:
    """An error answer in OpenAI's shape (the `openai` clients raise it as their APIError)."""
    response = JsonResponse(error_body(message, kind, code, param), status=status)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="openclaw"'
    return response


def model_entry(slug: str, created: int) -> dict[str, Any]:
    return {"id": model_id(slug), "object": "model", "created": created, "owned_by": "openclaw"}
