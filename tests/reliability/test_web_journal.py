"""Web chat in the inbound journal, in-process (real consumer, lanes and loop, fake model): a
message is journaled before its `res`, a resend with the same idempotency key runs nothing, the
entry closes with the answer, and an entry left open is answered once by `resume_web`."""

from pathlib import Path

import pytest
from channels.db import database_sync_to_async

from agents import services
from agents.transcripts import read_entries
from gateway import journal, resume
from gateway.models import InboundRecord
from tests.fakes.openai_server import FakeOpenAI, Text
from tests.wsclient import ProtocolClient

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.services]


def records() -> list[InboundRecord]:
    return list(InboundRecord.objects.filter(channel="web").order_by("pk"))


async def test_a_resend_with_the_same_key_returns_the_first_run_and_runs_nothing(
    client: ProtocolClient, fake_openai: FakeOpenAI
) -> None:
    fake_openai.script(Text("first answer"))
    first = await client.request("chat.send", {"text": "hello", "idempotencyKey": "k-1"})
    assert first["ok"], first
    run = first["result"]["run"]
    end = await client.until_event({"chat.final"}, run)
    assert end["data"]["text"] == "first answer"

    again = await client.request("chat.send", {"text": "hello", "idempotencyKey": "k-1"})
    assert again["result"] == {"run": run, "session": "agent:main:main", "queued": "duplicate"}
    asked = [r for r in fake_openai.requests if r.path.endswith("/chat/completions")]
    assert len(asked) == 1
    [record] = await database_sync_to_async(records)()
    assert (record.run_id, record.status, record.text) == (run, "delivered", "hello")


async def test_the_same_key_in_another_session_is_another_message(
    client: ProtocolClient, fake_openai: FakeOpenAI
) -> None:
    for session in ("agent:main:main", "agent:main:web:other"):
        res = await client.request(
            "chat.send", {"text": "hi", "session": session, "idempotencyKey": "same"}
        )
        assert res["result"]["queued"] == "queued", res
        await client.until_event({"chat.final"}, res["result"]["run"])
    assert [r.status for r in await database_sync_to_async(records)()] == ["delivered"] * 2


async def test_a_message_without_a_key_is_journaled_too(
    client: ProtocolClient, fake_openai: FakeOpenAI
) -> None:
    end, _ = await client.chat("no key")
    [record] = await database_sync_to_async(records)()
    assert (record.run_id, record.status) == (end["data"]["run"], "delivered")


async def test_a_chat_command_closes_its_entry(
    client: ProtocolClient, fake_openai: FakeOpenAI
) -> None:
    end, _ = await client.chat("/help", idempotencyKey="cmd")
    assert end["data"]["stop_reason"] == "command"
    [record] = await database_sync_to_async(records)()
    assert record.status == "delivered"


async def test_messages_folded_into_a_queued_turn_name_its_run_and_close_with_its_answer(
    client: ProtocolClient, fake_openai: FakeOpenAI
) -> None:
    # The first turn is busy with a slow model; the next two wait, the third folded into the
    # second (queue mode collect): its entry was written with a run id of its own.
    fake_openai.script(Text("first answer", latency=0.5), Text("second answer"))
    sent = [
        (await client.request("chat.send", {"text": text, "idempotencyKey": text}))["result"]
        for text in ("one", "two", "three")
    ]
    assert [s["queued"] for s in sent] == ["queued", "queued", "merged"]
    assert sent[2]["run"] == sent[1]["run"]
    await client.until_event({"chat.final"}, sent[1]["run"])
    journal = await database_sync_to_async(records)()
    assert [(r.text, r.run_id, r.status) for r in journal] == [
        ("one", sent[0]["run"], "delivered"),
        ("two", sent[1]["run"], "delivered"),
        ("three", sent[1]["run"], "delivered"),
    ]


@pytest.mark.parametrize(("key", "code"), [(5, "bad_params"), ("k" * 129, "too_large")])
async def test_a_bad_idempotency_key_is_refused_and_nothing_is_journaled(
    client: ProtocolClient, key: object, code: str
) -> None:
    res = await client.request("chat.send", {"text": "hi", "idempotencyKey": key})
    assert not res["ok"] and res["error"]["code"] == code, res
    assert await database_sync_to_async(records)() == []


def _open_entry(session_key: str, text: str, run: str, sender: str = "token") -> InboundRecord:
    session, _ = services.open_session(session_key)
    return InboundRecord.objects.create(
        channel="web",
        account_id=session.agent.slug,
        message_id=journal.journal_message_id(session_key, text),
        chat_id=session_key,
        sender_id=sender,
        session_key=session_key,
        text=text,
        run_id=run,
    )


async def test_an_open_entry_is_run_once_at_start_and_its_answer_lands_in_the_transcript(
    client: ProtocolClient, fake_openai: FakeOpenAI
) -> None:
    key = "agent:main:main"
    record = await database_sync_to_async(_open_entry)(key, "cut by a crash", "deadrun")
    [pending] = await database_sync_to_async(resume.pending_runs)()
    history = await client.request("sessions.history", {"session": key})  # subscribes
    assert history["ok"]

    await resume.resume_web(pending)
    end = await client.until_event({"chat.final"})
    assert end["data"]["text"] == "echo: cut by a crash"
    await database_sync_to_async(record.refresh_from_db)()
    assert (record.status, record.run_id) == ("delivered", end["data"]["run"])
    # Started again at once: the entry is closed, nothing is pending any more.
    assert await database_sync_to_async(resume.pending_runs)() == []


async def test_an_open_entry_whose_answer_is_in_the_transcript_is_only_closed(
    client: ProtocolClient, fake_openai: FakeOpenAI
) -> None:
    end, _ = await client.chat("answered before the crash")
    run = end["data"]["run"]
    # As if the process died after writing the answer, before closing the entry.
    await database_sync_to_async(InboundRecord.objects.update)(status="accepted")
    [pending] = await database_sync_to_async(resume.pending_runs)()
    assert pending.run_id == run

    await resume.resume_web(pending)
    [record] = await database_sync_to_async(records)()
    assert record.status == "delivered"
    asked = [r for r in fake_openai.requests if r.path.endswith("/chat/completions")]
    assert len(asked) == 1
    session = await database_sync_to_async(services.find_session)("agent:main:main")
    finals = [e for e in read_entries(Path(session.transcript)) if e.get("stop_reason")]
    assert len(finals) == 1


async def test_a_hook_message_cut_by_a_crash_runs_again_with_its_origin_never_as_a_command(
    client: ProtocolClient, fake_openai: FakeOpenAI
) -> None:
    key = "agent:main:main"
    record = await database_sync_to_async(_open_entry)(key, "/new", "deadrun", "hook:alerts")
    [pending] = await database_sync_to_async(resume.pending_runs)()
    assert pending.senders == ("hook:alerts",)
    history = await client.request("sessions.history", {"session": key})  # subscribes
    assert history["ok"]

    await resume.resume_web(pending)
    end = await client.until_event({"chat.final"})
    assert end["data"]["text"] == "echo: /new"  # a turn, not the /new command
    await database_sync_to_async(record.refresh_from_db)()
    assert (record.status, record.run_id) == ("delivered", end["data"]["run"])
    session = await database_sync_to_async(services.find_session)(key)
    [said] = [
        e
        for e in read_entries(Path(session.transcript))
        if e.get("role") == "user" and e.get("content") == "/new"
    ]
    assert said["meta"]["origin"] == "hook: alerts"
