"""build_turns: transcript entries grouped into turns a person can read."""

import pytest

from agents.transcript_view import build_turns
from agents.transcripts import Entry, make_entry
from tests.admin.conftest import final, tool_round


def _user(text: str) -> Entry:
    return make_entry("message", role="user", content=text)


def _shape(entries: list[Entry]) -> list[list[str]]:
    return [[item.kind for item in turn.items] for turn in build_turns(entries)]


@pytest.mark.parametrize(
    ("entries", "shape"),
    [
        ([], []),
        ([_user("a"), final("r", "b")], [["user", "assistant"]]),
        (  # messages collected into one turn stay together
            [_user("a"), _user("b"), final("r", "c"), _user("d"), final("s", "e")],
            [["user", "user", "assistant"], ["user", "assistant"]],
        ),
        (  # a tool call and its result are one folded item
            [_user("a"), *tool_round("r", "c1", "read_file", "{}", "x"), final("r", "b")],
            [["user", "tool", "assistant"]],
        ),
        (  # session start context opens the first turn
            [make_entry("context", content="notes"), _user("a"), final("r", "b")],
            [["context", "user", "assistant"]],
        ),
        (
            [_user("a"), make_entry("error", content="boom", meta={"code": "timeout"}), _user("b")],
            [["user", "error"], ["user"]],
        ),
        (  # an entry type this viewer does not know is still shown
            [make_entry("session", meta={"version": 2})],
            [["notice"]],
        ),
    ],
)
def test_turn_shapes(entries: list[Entry], shape: list[list[str]]) -> None:
    assert _shape(entries) == shape


def test_tool_result_joins_its_call_and_failures_are_flagged() -> None:
    entries = [
        _user("go"),
        *tool_round("r", "c1", "exec", '{"command":"ls"}', "a.txt"),
    ]
    entries[-1]["meta"]["ok"] = False
    (turn,) = build_turns(entries)
    tool = turn.items[1]
    assert tool.title == "exec" and tool.result == "a.txt"
    assert tool.text == '{\n  "command": "ls"\n}'
    assert tool.flags == ("failed",)


def test_a_call_without_a_result_says_so() -> None:
    call = {"id": "c9", "type": "function", "function": {"name": "web_fetch", "arguments": "{"}}
    entries = [
        _user("go"),
        make_entry("message", role="assistant", content="Let me look.", tool_calls=[call]),
        make_entry("message", role="assistant", content="", stop_reason="aborted"),
    ]
    (turn,) = build_turns(entries)
    kinds = [(i.kind, i.flags) for i in turn.items]
    assert kinds == [
        ("user", ()),
        ("assistant", ()),
        ("tool", ("no result recorded",)),
        ("assistant", ("aborted",)),
    ]
    assert turn.items[2].text == "{"  # unparsable arguments are shown as sent


def test_usage_per_turn_sums_the_turns_reported_usage() -> None:
    entries = [_user("a"), final("r", "b", prompt=100, completion=5, cached=60), _user("c")]
    first, second = build_turns(entries)
    assert first.usage == {"prompt_tokens": 100, "completion_tokens": 5, "cached_tokens": 60}
    assert first.has_usage and not second.has_usage


def test_flags_for_skipped_and_truncated_messages() -> None:
    entry = make_entry(
        "message", role="user", content="x", meta={"skipped": "queue full", "truncated_chars": 1200}
    )
    (turn,) = build_turns([entry])
    assert turn.items[0].flags == ("not answered: queue full", "1,200 characters not kept")


def test_a_message_no_person_typed_shows_where_it_came_from() -> None:
    entry = make_entry(
        "message", role="user", content="remember milk", meta={"origin": "sessions_send from a"}
    )
    (turn,) = build_turns([entry])
    assert turn.items[0].flags == ("from sessions_send from a",)
