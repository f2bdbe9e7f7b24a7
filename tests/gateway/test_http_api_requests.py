"""The HTTP API's and the hooks' request parsing, wire shapes and token checks (pure), as tables."""

import re
from typing import Any

import pytest
from django.test import RequestFactory, override_settings
from hypothesis import given
from hypothesis import strategies as st

from gateway.httpapi import openai_shapes as shapes
from gateway.httpapi.auth import api_authorised, hook_authorised, token_in_url
from gateway.httpapi.chat_request import (
    BadRequest,
    agent_of,
    parse_chat,
    session_key,
    session_name,
    user_text,
)
from gateway.httpapi.hook_request import parse_agent_hook, parse_wake_hook
from openclaw.redact import redact_text


@pytest.mark.parametrize(
    ("model", "slug"),
    [
        ("openclaw:main", "main"),
        ("main", "main"),
        ("openclaw:ops-2", "ops-2"),
        (None, "dflt"),
        ("", "dflt"),
    ],
)
def test_the_model_names_the_agent(model: object, slug: str) -> None:
    assert agent_of(model, "dflt") == slug


@pytest.mark.parametrize(
    ("model", "status"), [("openclaw:", 404), ("a:b", 404), ("x y", 404), (5, 400)]
)
def test_a_model_naming_no_agent_is_refused(model: object, status: int) -> None:
    with pytest.raises(BadRequest) as raised:
        agent_of(model, "dflt")
    assert raised.value.status == status and raised.value.param == "model"


@pytest.mark.parametrize(
    ("messages", "text"),
    [
        ([{"role": "user", "content": "hi"}], "hi"),
        (
            [
                {"role": "user", "content": "old"},
                {"role": "assistant", "content": "a"},
                {"role": "user", "content": " new "},
            ],
            "new",
        ),
        ([{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}], "q"),
        (
            [
                {
                    "role": "user",
                    "content": [{"type": "text", "text": "one"}, {"type": "text", "text": "two"}],
                }
            ],
            "one\ntwo",
        ),
    ],
)
def test_only_the_last_user_message_is_taken(messages: list[dict[str, Any]], text: str) -> None:
    assert user_text(messages) == text


@pytest.mark.parametrize(
    ("messages", "says"),
    [
        ([], "non-empty list"),
        ("hi", "non-empty list"),
        ([{"role": "system", "content": "s"}], "no message with role 'user'"),
        ([{"role": "user", "content": "  "}], "empty"),
        (
            [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}],
            "Only text content",
        ),
        ([{"role": "user", "content": 7}], "string or a list"),
    ],
)
def test_messages_without_a_usable_user_message_are_refused(messages: object, says: str) -> None:
    with pytest.raises(BadRequest, match=says):
        user_text(messages)


@pytest.mark.parametrize(
    ("kind", "name", "key"),
    [
        ("api", "", "agent:main:api:default"),
        ("api", "ada", "agent:main:api:ada"),
        ("api", "ada@example.com", "agent:main:api:ada@example.com"),
        ("api", "main", "agent:main:main"),
        ("hook", "main", "agent:main:hook:main"),  # hooks never name the main session
        ("hook", "hook:email:msg-1", "agent:main:hook:hook:email:msg-1"),
        ("hook", "", "agent:main:hook:default"),
    ],
)
def test_session_keys(kind: str, name: str, key: str) -> None:
    assert session_key("main", kind, name) == key


@given(st.text(max_size=300))
def test_any_session_name_maps_to_one_short_printable_name(name: str) -> None:
    mapped = session_name(name)
    assert mapped == session_name(name)
    assert mapped == "" or re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._@:+=-]{0,95}", mapped)


def _chat(**body: Any) -> dict[str, Any]:
    return {"model": "openclaw:main", "messages": [{"role": "user", "content": "hi"}], **body}


def test_the_session_header_wins_over_the_user_field() -> None:
    asked = parse_chat(_chat(user="u1"), header_session="h1", default_agent="main", max_chars=99)
    assert asked.session == "h1"
    asked = parse_chat(_chat(user="u1"), header_session="", default_agent="main", max_chars=99)
    assert asked.session == "u1" and not asked.stream and not asked.include_usage
    asked = parse_chat(
        _chat(stream=True, stream_options={"include_usage": True}),
        header_session="",
        default_agent="main",
        max_chars=99,
    )
    assert asked.stream and asked.include_usage


@pytest.mark.parametrize(
    ("body", "param"),
    [(_chat(n=2), "n"), (_chat(stream="yes"), "stream"), (_chat(user=3), "user"), ([], None)],
)
def test_unsupported_chat_requests_are_refused(body: object, param: str | None) -> None:
    with pytest.raises(BadRequest) as raised:
        parse_chat(body, header_session="", default_agent="main", max_chars=99)
    assert raised.value.param == param


def test_a_message_over_the_limit_is_refused() -> None:
    with pytest.raises(BadRequest) as raised:
        parse_chat(_chat(), header_session="", default_agent="main", max_chars=1)
    assert raised.value.code == "message_too_long"


def test_hooks_take_openclaws_field_names() -> None:
    hook = parse_agent_hook(
        {"message": "run", "agentId": "ops", "sessionKey": "hook:x", "name": " Git  Hub "},
        default_agent="main",
        max_chars=99,
    )
    assert (hook.agent, hook.session, hook.name) == ("ops", "hook:x", "Git Hub")
    assert not hook.deliver and hook.channel == "last"
    hook = parse_agent_hook(
        {"message": "run", "deliver": True, "channel": "telegram:bot2", "to": 42},
        default_agent="main",
        max_chars=99,
    )
    assert (hook.agent, hook.channel, hook.to) == ("main", "telegram:bot2", "42")


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({}, "message"),
        ({"message": "x", "deliver": "yes"}, "deliver"),
        ({"message": "x", "deliver": True, "channel": "telegram"}, "to"),
        ({"message": ["x"]}, "message"),
        ({"message": "x" * 100}, "message"),
    ],
)
def test_bad_agent_hooks_are_refused(body: dict[str, Any], param: str) -> None:
    with pytest.raises(BadRequest) as raised:
        parse_agent_hook(body, default_agent="main", max_chars=99)
    assert raised.value.param == param


def test_wake_modes() -> None:
    assert parse_wake_hook({"text": "t"}, default_agent="main", max_chars=9).mode == "now"
    event = parse_wake_hook({"text": "t", "mode": "next-heartbeat"}, default_agent="m", max_chars=9)
    assert event.mode == "next-heartbeat"
    with pytest.raises(BadRequest, match="mode"):
        parse_wake_hook({"text": "t", "mode": "later"}, default_agent="main", max_chars=9)


def test_usage_in_openais_shape() -> None:
    usage = {"prompt_tokens": 10, "completion_tokens": 3, "total_tokens": 13, "cached_tokens": 8}
    assert shapes.usage_of(usage) == {
        "prompt_tokens": 10,
        "completion_tokens": 3,
        "total_tokens": 13,
        "prompt_tokens_details": {"cached_tokens": 8},
    }
    last = shapes.chunk("r1", "openclaw:main", 1, None, usage=usage)
    assert last["choices"] == [] and last["usage"]["total_tokens"] == 13
    assert shapes.finish_reason("length") == "length" and shapes.finish_reason("no_reply") == "stop"


@override_settings(OPENCLAW_GATEWAY_TOKEN="gateway-tok", OPENCLAW_HOOKS_TOKEN="hooks-tok-123")
@pytest.mark.parametrize(
    ("headers", "path", "api", "hook", "in_url"),
    [
        ({"Authorization": "Bearer gateway-tok"}, "/", True, False, False),
        ({"Authorization": "bearer hooks-tok-123"}, "/", False, True, False),
        ({"X-OpenClaw-Token": "hooks-tok-123"}, "/", False, True, False),
        ({"X-OpenClaw-Token": "hooks-tok-12"}, "/", False, False, False),
        ({}, "/?token=hooks-tok-123", False, False, True),
        ({"Authorization": "Basic hooks-tok-123"}, "/", False, False, False),
    ],
)
def test_tokens_only_in_headers(
    headers: dict[str, str], path: str, api: bool, hook: bool, in_url: bool
) -> None:
    request = RequestFactory().post(path, headers=headers)
    assert (api_authorised(request), hook_authorised(request), token_in_url(request)) == (
        api,
        hook,
        in_url,
    )


def test_no_hooks_token_lets_no_hook_in() -> None:
    with override_settings(OPENCLAW_HOOKS_TOKEN=""):
        assert not hook_authorised(RequestFactory().post("/", headers={"X-OpenClaw-Token": ""}))


def test_the_hooks_token_is_masked_like_every_secret() -> None:
    with override_settings(OPENCLAW_HOOKS_TOKEN="hooks-secret-value-42"):
        assert "hooks-secret-value-42" not in redact_text("token=hooks-secret-value-42")
