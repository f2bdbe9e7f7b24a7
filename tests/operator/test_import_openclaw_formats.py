"""The pure parts of the OpenClaw import: session keys in our form, model references as
provider-qualified ids, transcript branches and time stamps."""

import json
from pathlib import Path
from typing import Any

import pytest

from gateway.operator.openclaw_import.agents_map import map_model
from gateway.operator.openclaw_import.channels_map import accounts
from gateway.operator.openclaw_import.source import env_reference
from gateway.operator.openclaw_import.transcript_format import branch, convert, iso
from gateway.operator.openclaw_import.transcripts_map import our_key


@pytest.mark.parametrize(
    ("key", "meta", "expected"),
    [
        ("agent:main:main", {}, ("agent:pip:main", "web", "", False)),
        ("agent:main:telegram:dm:42", {}, ("agent:pip:telegram:dm:42", "telegram", "42", False)),
        (
            "agent:main:telegram:alerts:dm:42",
            {},
            ("agent:pip:telegram:dm:42", "telegram", "42", False),
        ),
        (
            "agent:main:dm:42",
            {"lastChannel": "slack"},
            ("agent:pip:slack:dm:42", "slack", "42", False),
        ),
        (
            "agent:main:telegram:group:-100:topic:7",
            {},
            ("agent:pip:telegram:group:-100:thread:7", "telegram", "-100", True),
        ),
        ("agent:main:slack:channel:C1", {}, ("agent:pip:slack:group:C1", "slack", "C1", True)),
        ("cron:job-1", {}, ("agent:pip:cron:job-1", "web", "", False)),
    ],
)
def test_session_keys_in_our_form(
    key: str, meta: dict[str, str], expected: tuple[str, str, str, bool]
) -> None:
    assert our_key(key, "pip", meta) == expected


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("openai/gpt-5-mini", "openai/gpt-5-mini"),
        ("google/gemini-2.5-flash", "gemini/gemini-2.5-flash"),
        ("openrouter/meta-llama/llama-3.1-70b", "openrouter/meta-llama/llama-3.1-70b"),
        ("fast", "anthropic/claude-haiku-4-5"),
        ("minimax/MiniMax-M2.7", ""),
        ("gpt-4o", ""),
        ("openrouter/flat", ""),
    ],
)
def test_model_references_become_provider_qualified_ids(ref: str, expected: str) -> None:
    model_id, reason = map_model(ref, {"fast": "anthropic/claude-haiku-4-5"})
    assert model_id == expected
    assert bool(reason) == (not expected)


def test_env_references() -> None:
    assert env_reference("${SLACK_BOT_TOKEN}") == "SLACK_BOT_TOKEN"
    assert env_reference("${X_TOKEN:-fallback}") == "X_TOKEN"
    assert env_reference({"source": "env", "provider": "default", "id": "TG"}) == "TG"
    assert env_reference("plain-token") is None
    assert env_reference({"source": "file", "id": "/a"}) is None


def test_only_the_branch_ending_at_the_last_entry_is_kept() -> None:
    items: list[dict[str, Any]] = [
        {"id": "a", "parentId": None},
        {"id": "b", "parentId": "a"},
        {"id": "x", "parentId": "a"},
        {"id": "c", "parentId": "b"},
    ]
    assert [i["id"] for i in branch(items)] == ["a", "b", "c"]
    linear: list[dict[str, Any]] = [{"type": "message"}, {"type": "message"}]  # version 1
    assert branch(linear) == linear


def test_time_stamps_from_iso_strings_and_unix_milliseconds() -> None:
    assert iso("2026-11-02T09:00:00Z", "x") == "2026-11-02T09:00:00.000+00:00"
    assert iso(1793610000000, "x") == "2026-11-02T09:00:00.000+00:00"
    assert iso("not a time", "fallback") == "fallback"


def test_a_damaged_transcript_keeps_its_readable_lines(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    lines = [
        json.dumps({"type": "session", "id": "s", "timestamp": "2026-01-01T00:00:00Z"}),
        '{"type": "message", "id": "a", "parentId": null, "message": {"role": "user", "cont',
        json.dumps({"type": "message", "message": {"role": "user", "content": "hello"}}),
    ]
    path.write_text("\n".join(lines) + "\n")
    converted = convert(path, {})
    assert converted.unreadable_lines == 1
    assert [e.get("content") for e in converted.entries[1:]] == ["hello"]


def test_channel_accounts_share_the_root_settings_but_not_its_tokens() -> None:
    section = {
        "botToken": "1:root",
        "dmPolicy": "allowlist",
        "accounts": {"alerts": {"botToken": "2:alerts"}, "quiet": {"dmPolicy": "disabled"}},
    }
    found = accounts(section)
    assert sorted(found) == ["alerts", "default", "quiet"]
    assert found["default"]["botToken"] == "1:root"
    assert (found["alerts"]["botToken"], found["alerts"]["dmPolicy"]) == ("2:alerts", "allowlist")
    assert "botToken" not in found["quiet"] and found["quiet"]["dmPolicy"] == "disabled"
    assert sorted(accounts({"enabled": True, "accounts": {"alerts": {}}})) == ["alerts"]
