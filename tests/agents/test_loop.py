"""The agent loop through the real gateway consumer and lanes, against the scripted fake model:
tools, failures, failover, filtering, queue modes, commands, compaction and budgets."""

import asyncio
import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from channels.db import database_sync_to_async
from django.conf import settings
from django.test import override_settings

from agents.models import Agent, Session
from tests.fakes.openai_server import (
    CutStream,
    Error,
    FakeOpenAI,
    Hang,
    Raw,
    Text,
    ToolCall,
    ToolCalls,
)
from tests.wsclient import ProtocolClient

pytestmark = [pytest.mark.django_db(transaction=True)]
MAIN = "agent:main:main"


async def configure(**fields: Any) -> None:
    await database_sync_to_async(Agent.objects.filter(slug="main").update)(**fields)


async def transcript() -> list[dict[str, Any]]:
    session = await database_sync_to_async(Session.objects.get)(key=MAIN, status="active")
    lines = session.transcript_file.read_text().splitlines()
    return [json.loads(line) for line in lines]


STAMP = re.compile(r"\[(Mon|Tue|Wed|Thu|Fri|Sat|Sun) \d{4}-\d\d-\d\d \d\d:\d\d [^\]]+\] ")


def said(content: str) -> str:
    """A user message as the model got it, without the time stamp it must start with."""
    stamped = STAMP.match(content)
    assert stamped, f"no time stamp on a user message: {content!r}"
    return content[stamped.end() :]


def user_texts(body: dict[str, Any]) -> list[str]:
    return [said(m["content"]) for m in body["messages"] if m["role"] == "user"]


def tool_events(client: ProtocolClient, run: str) -> list[tuple[str, str]]:
    return [
        (e["data"]["name"], e["data"]["status"])
        for e in client.events
        if e.get("event") == "chat.tool" and e["data"]["run"] == run
    ]


async def test_the_model_gets_the_time_from_stamped_user_messages_not_a_clock(
    client: ProtocolClient, fake_openai: FakeOpenAI
) -> None:
    await configure(timezone="Asia/Tokyo")
    fake_openai.script(Text("one"), Text("two"))
    await client.chat("first")
    await client.chat("second")
    first, second = (r.body["messages"] for r in fake_openai.requests[-2:])
    assert second[: len(first)] == first  # the whole first prompt is the second one's prefix
    system = first[0]["content"]
    assert "Now:" not in system and "Time zone: Asia/Tokyo." in system
    sent = [e for e in await transcript() if e["type"] == "message" and e["role"] == "user"]
    for entry, message in zip(sent, [m for m in second if m["role"] == "user"], strict=True):
        local = datetime.fromisoformat(entry["ts"]).astimezone(ZoneInfo("Asia/Tokyo"))
        day = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")[local.weekday()]
        assert message["content"] == f"[{day} {local:%Y-%m-%d %H:%M} JST] {entry['content']}"
        assert str(local.year) not in system


async def test_a_tool_call_then_an_answer(client: ProtocolClient, fake_openai: FakeOpenAI) -> None:
    fake_openai.script(ToolCalls(ToolCall("list_dir", "{}")), Text("You have a SOUL."))
    end, _ = await client.chat("what is in my workspace?")
    assert end["data"]["text"] == "You have a SOUL."
    run = end["data"]["run"]
    assert tool_events(client, run) == [("list_dir", "running"), ("list_dir", "done")]
    second = fake_openai.requests[-1].body["messages"]
    assert second[-2]["tool_calls"][0]["function"]["name"] == "list_dir"
    assert second[-1]["role"] == "tool"
    assert "SOUL.md" in second[-1]["content"]
    kinds = [(e["type"], e.get("role")) for e in await transcript()]
    assert kinds[-3:] == [("message", "assistant"), ("tool_result", None), ("message", "assistant")]


async def test_text_goes_out_as_read_and_an_answer_that_came_whole_in_its_final_alone(
    client: ProtocolClient, fake_openai: FakeOpenAI
) -> None:
    chunks = [
        {"role": "assistant", "content": ""},
        {"content": "All of it "},
        {"content": "at once."},
    ]
    stream = "".join(
        "data: " + json.dumps({"choices": [{"index": 0, "delta": delta}]}) + "\n\n"
        for delta in chunks
    )
    stop = {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
    fake_openai.script(Raw(stream + f"data: {json.dumps(stop)}\n\ndata: [DONE]\n\n"))
    end, deltas = await client.chat("quick?")  # the whole stream in one write: read at once
    assert deltas == [] and end["data"]["text"] == "All of it at once."
    assert end["data"]["stop_reason"] == "stop"
    # Text streamed before tool calls goes out before the tools' events (not with the final).
    fake_openai.script(
        ToolCalls(ToolCall("list_dir", "{}"), content=["Let me ", "look. "]), Text("Found it.")
    )
    sent = await client.request("chat.send", {"text": "look around"})
    run = sent["result"]["run"]
    end = await client.until_event({"chat.final"}, run)
    ours = [e for e in client.events if e["data"]["run"] == run]
    kinds = [e["event"] for e in ours]
    tools = kinds.index("chat.tool")
    assert set(kinds[:tools]) == {"chat.delta"} and kinds[tools : tools + 2] == ["chat.tool"] * 2
    assert "".join(e["data"]["text"] for e in ours[:tools]) == "Let me look. "
    assert end["data"]["text"] == "Let me look. Found it."


async def test_parallel_tool_calls_return_in_call_order(
    client: ProtocolClient, fake_openai: FakeOpenAI
) -> None:
    calls = [
        ToolCall("read_file", '{"path": "SOUL.md"}'),
        ToolCall("read_file", '{"path": "USER.md"}'),
    ]
    fake_openai.script(ToolCalls(calls), Text("read both"))
    await client.chat("read two files")
    tool_messages = [m for m in fake_openai.requests[-1].body["messages"] if m["role"] == "tool"]
    assert "SOUL.md" in tool_messages[0]["content"] or "calm" in tool_messages[0]["content"]
    assert (
        "USER.md" in tool_messages[1]["content"] or "person you help" in tool_messages[1]["content"]
    )


async def test_malformed_tool_arguments_go_back_to_the_model(
    client: ProtocolClient, fake_openai: FakeOpenAI
) -> None:
    fake_openai.script(ToolCalls(ToolCall("read_file", '{"path": ')), Text("sorry"))
    end, _ = await client.chat("read")
    assert end["data"]["text"] == "sorry"
    tool = fake_openai.requests[-1].body["messages"][-1]
    assert tool["role"] == "tool"
    assert "not valid JSON" in tool["content"]


async def test_an_unknown_tool_is_reported_to_the_model(
    client: ProtocolClient, fake_openai: FakeOpenAI
) -> None:
    fake_openai.script(ToolCalls(ToolCall("format_disk", "{}")), Text("ok"))
    await client.chat("go")
    assert "no tool named 'format_disk'" in fake_openai.requests[-1].body["messages"][-1]["content"]


async def test_rate_limited_then_success(client: ProtocolClient, fake_openai: FakeOpenAI) -> None:
    fake_openai.script(Error.rate_limit(retry_after=0.05), Text("made it"))
    with override_settings(OPENCLAW_MODEL_MAX_RETRIES=2):
        end, _ = await client.chat("hi")
    assert end["data"]["text"] == "made it"
    assert len(fake_openai.requests) == 2


async def test_server_errors_until_the_fallback_answers(
    client: ProtocolClient, fake_openai: FakeOpenAI
) -> None:
    await configure(fallback_models=["gpt-backup"])
    fake_openai.script(Error.server_error(), Text("from backup"))
    end, _ = await client.chat("hi")
    assert end["data"]["text"] == "from backup"
    assert [r.body["model"] for r in fake_openai.requests] == ["gpt-fake", "gpt-backup"]
    # The turn's tokens and cost are the model's that answered, not the failed one's.
    from agents.models import DailyUsage

    rows = await database_sync_to_async(list)(DailyUsage.objects.values_list("model", "turns"))
    assert rows == [("gpt-backup", 1)]


async def test_all_models_failing_gives_a_clear_error(
    client: ProtocolClient, fake_openai: FakeOpenAI
) -> None:
    await configure(fallback_models=["gpt-backup"])
    fake_openai.script(Error.server_error(), Error.server_error())
    end, _ = await client.chat("hi")
    assert end["event"] == "chat.error"
    assert end["data"]["code"] == "model_error"
    assert "HTTP 500" in end["data"]["message"]


async def test_a_stream_cut_mid_answer_ends_partial_and_frees_the_lane(
    client: ProtocolClient, fake_openai: FakeOpenAI
) -> None:
    fake_openai.script(CutStream("this answer will be cut short", after_chunks=2), Text("next"))
    end, deltas = await client.chat("talk")
    assert end["event"] == "chat.error"
    assert end["data"]["partial"] == "".join(deltas)
    assert end["data"]["partial"]
    assert (await transcript())[-2]["stop_reason"] == "partial"
    again, _ = await client.chat("again")
    assert again["data"]["text"] == "next"


async def test_a_model_that_never_answers_times_out_and_frees_the_lane(
    client: ProtocolClient, fake_openai: FakeOpenAI
) -> None:
    fake_openai.script(Hang(), Text("awake"))
    with override_settings(OPENCLAW_STREAM_IDLE_TIMEOUT=0.3, OPENCLAW_MODEL_TIMEOUT=0.3):
        end, _ = await client.chat("hello?")
        assert end["data"]["code"] == "timeout"
        again, _ = await client.chat("hello again")
    assert again["data"]["text"] == "awake"


async def test_no_reply_and_reasoning_are_never_delivered(
    client: ProtocolClient, fake_openai: FakeOpenAI
) -> None:
    fake_openai.script(
        Text(["NO_", "REPLY"]),
        Text("the answer", reasoning="secret chain of thought"),
        Text(["<think>inline ", "musing</think>", "visible"]),
    )
    silent, deltas = await client.chat("group chatter")
    assert silent["data"]["text"] == ""
    assert silent["data"]["stop_reason"] == "no_reply"
    assert deltas == []
    shown, deltas = await client.chat("question")
    assert shown["data"]["text"] == "the answer"
    assert "secret" not in "".join(deltas)
    thought, _ = await client.chat("question 2")
    assert thought["data"]["text"] == "visible"


async def test_tool_rounds_are_bounded_then_the_model_must_answer(
    client: ProtocolClient, fake_openai: FakeOpenAI
) -> None:
    await configure(max_tool_rounds=2)
    loop = ToolCalls(ToolCall("list_dir", "{}"))
    fake_openai.script(loop, loop, Text("enough"))
    end, _ = await client.chat("loop forever")
    assert end["data"]["text"] == "enough"
    bodies = [r.body for r in fake_openai.requests]
    assert [bool(b.get("tools")) for b in bodies] == [True, True, False]


async def test_collect_folds_messages_sent_during_a_run_into_one_turn(
    client: ProtocolClient, fake_openai: FakeOpenAI
) -> None:
    fake_openai.script(Text(["a", "b", "c"], chunk_delay=0.15), Text("both seen"))
    first = await client.request("chat.send", {"text": "one"})
    second = await client.request("chat.send", {"text": "two"})
    third = await client.request("chat.send", {"text": "three"})
    assert second["result"]["queued"] == "queued"
    assert third["result"]["queued"] == "merged"
    assert third["result"]["run"] == second["result"]["run"]
    await client.until_event({"chat.final"}, first["result"]["run"])
    end = await client.until_event({"chat.final"}, second["result"]["run"])
    assert end["data"]["text"] == "both seen"
    sent = user_texts(fake_openai.requests[-1].body)
    assert sent[-2:] == ["two", "three"]
    assert len(fake_openai.requests) == 2


async def test_folded_group_messages_keep_each_senders_name(
    client: ProtocolClient, fake_openai: FakeOpenAI
) -> None:
    from agents.services import open_session
    from gateway import runs

    fake_openai.script(Text("all seen"))
    session, _ = await database_sync_to_async(open_session)(MAIN)
    await client.request("chat.attach", {"session": MAIN})  # this socket hears the session
    said = [("one", "Ada"), ("two", "Bob"), ("three", "Cy ] x")]
    accepted = [
        await runs.accept_message(session, text, channel="telegram", sender=name)
        for text, name in said
    ]
    assert len({a.run for a in accepted}) == 1  # sent together: folded into one turn
    await client.until_event({"chat.final"}, accepted[0].run)
    sent = [m["content"] for m in fake_openai.requests[-1].body["messages"] if m["role"] == "user"]
    stamps = [re.match(r"\[[^\]]+ · ([^\]]+)\] (.*)", text) for text in sent[-3:]]
    assert [(m[2], m[1]) if m else None for m in stamps] == [
        ("one", "Ada"),
        ("two", "Bob"),
        ("three", "Cy ) x"),  # a name cannot close the stamp
    ]
    users = [e for e in await transcript() if e.get("role") == "user"]
    assert [e["meta"]["sender"] for e in users[-3:]] == ["Ada", "Bob", "Cy ] x"]


async def test_followup_answers_each_message(
    client: ProtocolClient, fake_openai: FakeOpenAI
) -> None:
    await configure(queue_mode="followup")
    fake_openai.script(Text(["a", "b"], chunk_delay=0.1), Text("2"), Text("3"))
    runs = [(await client.request("chat.send", {"text": t}))["result"]["run"] for t in "123"]
    texts = [(await client.until_event({"chat.final"}, r))["data"]["text"] for r in runs]
    assert texts == ["ab", "2", "3"]


async def test_steer_adds_to_the_running_turn_before_its_next_model_call(
    client: ProtocolClient, fake_openai: FakeOpenAI
) -> None:
    await configure(queue_mode="steer")
    fake_openai.script(ToolCalls(ToolCall("list_dir", "{}"), latency=0.3), Text("steered"))
    first = await client.request("chat.send", {"text": "look around"})
    steer = await client.request("chat.send", {"text": "only markdown files please"})
    assert steer["result"] == {
        **steer["result"],
        "queued": "steered",
        "run": first["result"]["run"],
    }
    end = await client.until_event({"chat.final"}, first["result"]["run"])
    assert end["data"]["text"] == "steered"
    users = user_texts(fake_openai.requests[-1].body)
    assert users[-1] == "only markdown files please"


async def test_interrupt_aborts_the_running_turn(
    client: ProtocolClient, fake_openai: FakeOpenAI
) -> None:
    await configure(queue_mode="interrupt")
    fake_openai.script(Hang(partial=["working "]), Text("new topic"))
    first = (await client.request("chat.send", {"text": "long job"}))["result"]["run"]
    await client.until_event({"chat.delta"}, first)
    second = await client.request("chat.send", {"text": "forget it"})
    assert second["result"]["queued"] == "interrupted"
    aborted = await client.until_event({"chat.final"}, first)
    assert aborted["data"]["stop_reason"] == "aborted"
    end = await client.until_event({"chat.final"}, second["result"]["run"])
    assert end["data"]["text"] == "new topic"


async def test_chat_commands(client: ProtocolClient, fake_openai: FakeOpenAI) -> None:
    await client.chat("hello")
    help_, _ = await client.chat("/help")
    assert help_["data"]["stop_reason"] == "command"
    assert "/reset" in help_["data"]["text"]
    status, _ = await client.chat("/status")
    assert "gpt-fake" in status["data"]["text"]
    assert "1 turns" in status["data"]["text"]
    assert "% full" in status["data"]["text"]
    switched, _ = await client.chat("/model gpt-other")
    assert "gpt-other" in switched["data"]["text"]
    await client.chat("with the other model")
    assert fake_openai.requests[-1].body["model"] == "gpt-other"
    stopped, _ = await client.chat("/stop")
    assert stopped["data"]["text"] == "Nothing is running."
    fresh, _ = await client.chat("/new")
    assert "new session" in fresh["data"]["text"]
    await client.chat("after reset")
    roles = [m["role"] for m in fake_openai.requests[-1].body["messages"]]
    assert roles == ["system", "user"]
    assert len(fake_openai.requests) == 3  # commands never reach the model


async def test_stop_command_stops_a_busy_run(
    client: ProtocolClient, fake_openai: FakeOpenAI
) -> None:
    fake_openai.script(Hang(partial=["busy "]))
    run = (await client.request("chat.send", {"text": "work"}))["result"]["run"]
    await client.until_event({"chat.delta"}, run)
    stopped, _ = await client.chat("/stop")
    assert stopped["data"]["text"] == "Stopped 1 run(s)."
    end = await client.until_event({"chat.final"}, run)
    assert end["data"]["stop_reason"] == "aborted"


def _today_log() -> str:
    logs = sorted((Path(settings.OPENCLAW_WORKSPACES) / "main" / "memory").glob("*.md"))
    return logs[-1].read_text() if logs else ""


async def test_compaction_flushes_notes_then_summarises_and_tells_the_user(
    client: ProtocolClient, fake_openai: FakeOpenAI
) -> None:
    with override_settings(OPENCLAW_MAX_MESSAGE_CHARS=5000):
        for i in range(6):
            fake_openai.script(Text(f"answer {i} " + "z" * 300))
            await client.chat(f"question {i} " + "y" * 300)
    await configure(context_window=1400, max_output_tokens=100)
    fake_openai.script(
        Text("- the user asks numbered questions"),  # memory flush
        Text("They asked questions 0-3."),  # summary
        Text("fine"),
    )
    with override_settings(OPENCLAW_COMPACTION_KEEP_TURNS=2):
        end, _ = await client.chat("question 6")
    assert end["data"]["text"] == "fine"
    notices = [e for e in client.events if e.get("event") == "chat.notice"]
    assert notices
    assert any(e["type"] == "compaction" for e in await transcript())
    assert "the user asks numbered questions" in _today_log()
    final_messages = fake_openai.requests[-1].body["messages"]
    assert "They asked questions 0-3." in final_messages[1]["content"]
    assert all("question 0" not in (m.get("content") or "") for m in final_messages[2:])
    # The summariser reads the old turns with their times, so a summary can keep dates.
    summarised = " ".join(str(m.get("content")) for m in fake_openai.requests[-2].body["messages"])
    assert STAMP.search(summarised) and re.search(r"\] question 0 ", summarised)


async def test_a_failed_flush_still_keeps_the_user_words_in_the_daily_log(
    client: ProtocolClient, fake_openai: FakeOpenAI
) -> None:
    with override_settings(OPENCLAW_MAX_MESSAGE_CHARS=5000):
        for i in range(6):
            fake_openai.script(Text(f"answer {i} " + "z" * 300))
            await client.chat(f"question {i} " + "y" * 300)
    await configure(context_window=1400, max_output_tokens=100)
    fake_openai.script(Error(400, "bad"), Text("summary"), Text("fine"))
    with override_settings(OPENCLAW_COMPACTION_KEEP_TURNS=2):
        await client.chat("question 6")
    assert "question 0 " + "y" * 300 in _today_log()


async def test_context_length_from_the_provider_compacts_and_retries(
    client: ProtocolClient, fake_openai: FakeOpenAI
) -> None:
    for i in range(4):
        await client.chat(f"turn {i}")
    fake_openai.script(Error.context_length(), Text("- notes"), Text("summary"), Text("recovered"))
    with override_settings(OPENCLAW_COMPACTION_KEEP_TURNS=1):
        end, _ = await client.chat("one more")
    assert end["data"]["text"] == "recovered"


async def test_daily_token_budget_refuses_new_turns_once_spent(
    client: ProtocolClient, fake_openai: FakeOpenAI
) -> None:
    await client.chat("spend some tokens")
    await configure(daily_token_budget=1)
    end, _ = await client.chat("more")
    assert end["data"]["code"] == "budget_exhausted"
    assert "daily budget" in end["data"]["message"]


async def test_usage_is_recorded_per_session_and_per_day(
    client: ProtocolClient, fake_openai: FakeOpenAI
) -> None:
    await client.chat("count me")
    await client.chat(
        "/help"
    )  # a later request: the turn's bookkeeping, which follows chat.final, is done
    session = await database_sync_to_async(Session.objects.get)(key=MAIN, status="active")
    assert session.turns == 1
    assert session.tokens_in > 0
    usage = await database_sync_to_async(
        lambda: list(session.agent.usage.values("turns", "model"))
    )()
    assert usage == [{"turns": 1, "model": "gpt-fake"}]


async def test_past_the_queue_cap_messages_fold_into_the_last_turn(
    client: ProtocolClient, fake_openai: FakeOpenAI
) -> None:
    await configure(queue_mode="followup", queue_cap=2)
    fake_openai.script(Text(["busy ", "busy"], chunk_delay=0.2))
    results = [(await client.request("chat.send", {"text": f"m{i}"}))["result"] for i in range(5)]
    assert [r["queued"] for r in results] == ["queued", "queued", "queued", "merged", "merged"]
    assert results[4]["run"] == results[2]["run"]
    await client.until_event({"chat.final"}, results[2]["run"])
    users = user_texts(fake_openai.requests[-1].body)
    assert users[-3:] == ["m2", "m3", "m4"]


async def test_a_client_that_disconnects_mid_turn_leaves_the_lane_free(
    client: ProtocolClient, fake_openai: FakeOpenAI
) -> None:
    from channels.testing import WebsocketCommunicator

    from openclaw.asgi import build_application
    from tests.wsclient import CommunicatorSocket

    fake_openai.script(Text(["slow ", "answer"], chunk_delay=0.2), Text("still here"))
    leaver = WebsocketCommunicator(build_application(), "/ws/gateway/?token=test-gateway-token")
    assert (await leaver.connect())[0]
    gone = ProtocolClient(CommunicatorSocket(leaver))
    await gone.request("chat.send", {"text": "start something"})
    await leaver.disconnect()
    end, _ = await client.chat("anyone?")
    assert end["data"]["text"] == "still here"
    history = await client.request("sessions.history", {"session": MAIN})
    contents = [e["content"] for e in history["result"]["entries"]]
    assert "slow answer" in contents


async def test_sessions_send_runs_a_turn_in_another_session_once(
    client: ProtocolClient, fake_openai: FakeOpenAI
) -> None:
    send = ToolCall("sessions_send", '{"session": "agent:main:notes", "text": "remember milk"}')

    def reply(body: dict[str, Any]) -> Text | ToolCalls:
        # The two sessions' runs race for the script: answer by what each request holds.
        last = body["messages"][-1]
        if last["role"] == "tool":
            return Text("sent it")
        return Text("noted: milk") if said(last["content"]) == "remember milk" else ToolCalls(send)

    fake_openai.script(reply, reply, reply)
    end, _ = await client.chat("tell my notes session about milk")
    assert end["data"]["text"] == "sent it"
    other = await client.request("sessions.history", {"session": "agent:main:notes"})
    for _ in range(100):
        entries = other["result"]["entries"]
        if any(e.get("content") == "noted: milk" for e in entries):
            break
        await asyncio.sleep(0.05)
        other = await client.request("sessions.history", {"session": "agent:main:notes"})
    contents = [e["content"] for e in other["result"]["entries"]]
    assert contents == ["remember milk", "noted: milk"]
    # Provenance: kept on the entry (every UI shows it) and in the stamp the model reads.
    origin = f"sessions_send from {MAIN}"
    assert other["result"]["entries"][0]["meta"]["origin"] == origin
    [notes_call] = [
        r.body
        for r in fake_openai.requests
        if r.body["messages"][-1]["role"] == "user"
        and said(r.body["messages"][-1]["content"]) == "remember milk"
    ]
    assert f"· from {origin}] remember milk" in notes_call["messages"][-1]["content"]


async def test_a_run_started_by_sessions_send_cannot_send_further() -> None:
    from agents.services import AgentConfig, SessionRef
    from agents.tools.base import ToolContext, ToolError
    from agents.tools.messaging import SessionsSendTool

    agent = AgentConfig("main", "Main", "m", "", "OPENAI_API_KEY", "", None, 100, 1000, "unused")
    ctx = ToolContext("r", SessionRef(1, "agent:main:notes", "s", agent, "unused.jsonl"))
    with pytest.raises(ToolError, match="cannot send further"):
        await SessionsSendTool().run({"session": "agent:main:main", "text": "ping"}, ctx)
    with pytest.raises(ToolError, match="not one of this agent's sessions"):
        await SessionsSendTool().run({"session": "agent:other:main", "text": "ping"}, ctx)
