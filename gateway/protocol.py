"""The gateway WebSocket protocol (docs/protocol.md): frame types, parsing and parameter checks.

Pure: no I/O. A frame that cannot be served raises `ProtocolError`, which becomes an error `res`.
"""

import json
from dataclasses import dataclass
from typing import Any, Literal, NotRequired, TypedDict

ErrorCode = Literal[
    "bad_frame",
    "unknown_method",
    "bad_params",
    "too_large",
    "not_found",
    "unavailable",
    "rate_limited",
    "forbidden",
    "internal",
]


class ErrorBody(TypedDict):
    code: str
    message: str


class ResponseFrame(TypedDict):
    type: Literal["res"]
    id: str | None
    ok: bool
    result: NotRequired[dict[str, Any]]
    error: NotRequired[ErrorBody]


class EventFrame(TypedDict):
    type: Literal["event"]
    event: str
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Request:
    id: str
    method: str
    params: dict[str, Any]


class ProtocolError(Exception):
    def __init__(self, code: ErrorCode, message: str, request_id: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.request_id = request_id


def parse_request(raw: str | None, *, max_bytes: int) -> Request:
    if raw is None:
        raise ProtocolError("bad_frame", "Binary frames are not supported; send JSON text.")
    if len(raw) > max_bytes or len(raw.encode("utf-8")) > max_bytes:
        raise ProtocolError("too_large", f"Frame exceeds {max_bytes} bytes.")
    try:
        frame = json.loads(raw)
    except ValueError:
        raise ProtocolError("bad_frame", "Frame is not valid JSON.") from None
    if not isinstance(frame, dict):
        raise ProtocolError("bad_frame", "Frame must be a JSON object.")
    request_id = frame.get("id")
    if not isinstance(request_id, str) or not request_id or len(request_id) > 128:
        raise ProtocolError("bad_frame", "Frame needs a string `id` of 1-128 characters.")
    if frame.get("type") != "req":
        raise ProtocolError("bad_frame", 'Frame `type` must be "req".', request_id)
    method = frame.get("method")
    if not isinstance(method, str) or not method:
        raise ProtocolError("bad_frame", "Frame needs a string `method`.", request_id)
    params = frame.get("params", {})
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise ProtocolError("bad_params", "`params` must be an object.", request_id)
    return Request(request_id, method, params)


def ok(request_id: str, result: dict[str, Any]) -> ResponseFrame:
    return {"type": "res", "id": request_id, "ok": True, "result": result}


def error(request_id: str | None, code: str, message: str) -> ResponseFrame:
    return {
        "type": "res",
        "id": request_id,
        "ok": False,
        "error": {"code": code, "message": message},
    }


def event(name: str, data: dict[str, Any]) -> EventFrame:
    return {"type": "event", "event": name, "data": data}


def optional_str(params: dict[str, Any], name: str, *, max_len: int = 255) -> str | None:
    value = params.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ProtocolError("bad_params", f"Parameter `{name}` must be a string.")
    if len(value) > max_len:
        raise ProtocolError("too_large", f"Parameter `{name}` exceeds {max_len} characters.")
    return value or None


def require_str(params: dict[str, Any], name: str, *, max_len: int = 255) -> str:
    value = optional_str(params, name, max_len=max_len)
    if value is None or not value.strip():
        raise ProtocolError("bad_params", f"Missing or empty parameter `{name}`.")
    return value


def int_param(params: dict[str, Any], name: str, *, default: int, low: int, high: int) -> int:
    value = params.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ProtocolError("bad_params", f"Parameter `{name}` must be an integer {low}..{high}.")
    return int(value)
