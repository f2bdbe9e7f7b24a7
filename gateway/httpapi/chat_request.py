"""What a chat completion request asks for (pure): the agent its `model` names, the caller's new
message (its last `user` message: earlier messages are ignored, the session's transcript holds
the history), the session it continues, and whether to stream. Bad input is a `BadRequest`,
answered in OpenAI's error shape."""

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

MODEL_PREFIX = "openclaw:"
DEFAULT_SESSION = "default"
MAIN_SESSION = "main"  # X-OpenClaw-Session: main is the agent's main session (the web chat's)
# A session name as given when it is made of these; any other name maps to a stable hash of it.
_SLUG = re.compile(r"^[-a-zA-Z0-9_]+$")  # as Agent.slug
_PLAIN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@:+=-]{0,95}$")


class BadRequest(Exception):
    """A request the API cannot take: `message` says why; `param` names the field at fault."""

    def __init__(
        self, message: str, *, param: str | None = None, code: str | None = None, status: int = 400
    ) -> None:
        super().__init__(message)
        self.message, self.param, self.code, self.status = message, param, code, status


@dataclass(frozen=True, slots=True)
class ChatRequest:
    agent: str  # the agent's slug
    text: str  # the caller's new message
    session: str  # the session name ("" for the caller's default session)
    stream: bool
    include_usage: bool  # stream_options.include_usage: a last chunk with the usage


def agent_of(model: object, default: str) -> str:
    """The agent a `model` names: `openclaw:<slug>` or the bare slug (none: the default agent)."""
    if model is None or model == "":
        return default
    if not isinstance(model, str):
        raise BadRequest("`model` must be a string such as 'openclaw:main'.", param="model")
    slug = model.removeprefix(MODEL_PREFIX).strip()
    if not _SLUG.match(slug):
        raise BadRequest(
            f"The model {model!r} does not exist; use 'openclaw:<agent>' (GET /v1/models).",
            param="model",
            code="model_not_found",
            status=404,
        )
    return slug


def model_id(slug: str) -> str:
    return MODEL_PREFIX + slug


def _text_of(content: object) -> str:
    """A message's text: a string, or the text parts of a list of content parts."""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise BadRequest(
            "A message's `content` must be a string or a list of parts.", param="messages"
        )
    texts = []
    for part in content:
        if not isinstance(part, Mapping) or part.get("type") != "text":
            kind = part.get("type") if isinstance(part, Mapping) else type(part).__name__
            raise BadRequest(
                f"Only text content is supported here, not {kind!r}.", param="messages"
            )
        text = part.get("text")
        if not isinstance(text, str):
            raise BadRequest("A text part needs a string `text`.", param="messages")
        texts.append(text)
    return "\n".join(texts)


def user_text(messages: object) -> str:
    """The text of the last `user` message (the caller's new message)."""
    if not isinstance(messages, list) or not messages:
        raise BadRequest("`messages` must be a non-empty list.", param="messages")
    for message in reversed(messages):
        if isinstance(message, Mapping) and message.get("role") == "user":
            text = _text_of(message.get("content")).strip()
            if not text:
                raise BadRequest("The last user message is empty.", param="messages")
            return text
    raise BadRequest("`messages` holds no message with role 'user'.", param="messages")


def session_name(name: str) -> str:
    """A caller's session name, kept when plain, else a stable hash (any string names one
    session, and session keys stay short and printable)."""
    name = name.strip()
    if not name or _PLAIN_NAME.match(name):
        return name
    return "h-" + hashlib.sha256(name.encode("utf-8")).hexdigest()[:24]


def session_key(agent: str, kind: str, name: str) -> str:
    """The session of a caller: `agent:<slug>:<kind>:<name>` (`kind` "api" or "hook"), the
    caller's default one when it names none; the name `main` over the API is the agent's main
    session."""
    if kind == "api" and name == MAIN_SESSION:
        return f"agent:{agent}:main"
    return f"agent:{agent}:{kind}:{session_name(name) or DEFAULT_SESSION}"


def parse_chat(
    body: Any, *, header_session: str, default_agent: str, max_chars: int
) -> ChatRequest:
    """A chat completion request; raises `BadRequest`. The `X-OpenClaw-Session` header wins
    over the `user` field."""
    if not isinstance(body, dict):
        raise BadRequest("The body must be a JSON object.")
    agent = agent_of(body.get("model"), default_agent)
    text = user_text(body.get("messages"))
    if len(text) > max_chars:
        raise BadRequest(
            f"The message is {len(text):,} characters; the limit is {max_chars:,}.",
            param="messages",
            code="message_too_long",
        )
    user = body.get("user")
    if user is not None and not isinstance(user, str):
        raise BadRequest("`user` must be a string.", param="user")
    n = body.get("n", 1)
    if n not in (None, 1):
        raise BadRequest("Only one choice per request (`n` = 1).", param="n")
    stream = body.get("stream", False)
    if not isinstance(stream, bool) and stream is not None:
        raise BadRequest("`stream` must be true or false.", param="stream")
    options = body.get("stream_options") or {}
    include_usage = isinstance(options, dict) and options.get("include_usage") is True
    return ChatRequest(
        agent=agent,
        text=text,
        session=header_session.strip() or (user or ""),
        stream=bool(stream),
        include_usage=include_usage,
    )
