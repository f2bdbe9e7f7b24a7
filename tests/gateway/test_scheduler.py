"""The gateway scheduler in-process (real consumer, lanes, loop, fake model), one tick at a time:
due jobs run once as turns in their session and reach its sockets; heartbeats stay quiet when
all is well; a failing job is recorded and does not stop the others."""

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.conf import settings
from django.utils import timezone

from agents import scheduled_jobs as jobs
from agents.models import Agent, ScheduledJob, Session
from gateway import job_runner as scheduler
from tests.fakes.openai_server import FakeOpenAI, Text, user_texts
from tests.wsclient import ProtocolClient

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.services]
MAIN = "agent:main:main"
BEAT = "agent:main:heartbeat"


async def create(kind: str, spec: str, text: str, key: str = MAIN, channel: str = "web") -> int:
    info: jobs.JobInfo = await database_sync_to_async(jobs.create_job)(
        agent_slug="main", kind=kind, spec=spec, text=text, session_key=key, channel=channel
    )
    return info.pk


async def make_due(pk: int, ago: timedelta = timedelta(0)) -> None:
    when = timezone.now() - ago
    await database_sync_to_async(ScheduledJob.objects.filter(pk=pk).update)(next_run_at=when)


async def job(pk: int) -> ScheduledJob:
    found: ScheduledJob = await database_sync_to_async(ScheduledJob.objects.get)(pk=pk)
    return found


async def run_tick() -> int:
    tasks = await scheduler.tick()
    for task in tasks:
        await task
    return len(tasks)


def last_user(fake: FakeOpenAI) -> Any:
    return user_texts(fake.requests[-1].body)[-1]


async def transcript(key: str) -> list[dict[str, Any]]:
    session = await database_sync_to_async(Session.objects.get)(key=key, status="active")
    return [json.loads(line) for line in session.transcript_file.read_text().splitlines()]


async def test_a_missed_reminder_runs_once_and_its_answer_reaches_the_socket(
    client: ProtocolClient, fake_openai: FakeOpenAI
) -> None:
    await client.request("sessions.history", {"session": MAIN})  # subscribe to the session
    pk = await create("every", "1h", "Stand up and stretch")
    await make_due(pk, timedelta(hours=5, minutes=10))  # five ticks missed while down
    fake_openai.script(Text("Time to stretch!"))
    assert await run_tick() == 1
    end = await client.until_event({"chat.final"})
    assert end["data"]["text"] == "Time to stretch!" and end["data"]["session"] == MAIN
    assert last_user(fake_openai) == "[Scheduled reminder] Stand up and stretch"
    done = await job(pk)
    assert (done.run_count, done.last_status, done.last_error) == (1, "ok", "")
    assert done.last_run_id == end["data"]["run"]
    assert done.next_run_at is not None
    assert timezone.now() < done.next_run_at <= timezone.now() + timedelta(hours=1)
    assert await run_tick() == 0  # claimed once: nothing is due any more
    assert len(fake_openai.requests) == 1
    answers = [e for e in await transcript(MAIN) if e.get("role") == "assistant"]
    assert [a["content"] for a in answers] == ["Time to stretch!"]


async def test_a_one_shot_is_gone_after_it_ran(
    client: ProtocolClient, fake_openai: FakeOpenAI
) -> None:
    pk = await create("at", "+10m", "Call the bakery")
    await make_due(pk)
    assert await run_tick() == 1
    assert not await database_sync_to_async(ScheduledJob.objects.filter(pk=pk).exists)()
    assert last_user(fake_openai) == "[Scheduled reminder] Call the bakery"


async def heartbeat(checklist: str | None) -> int:
    workspace = Path(settings.OPENCLAW_WORKSPACES) / "main"
    if checklist is not None:
        (workspace / "HEARTBEAT.md").write_text(checklist)
    await database_sync_to_async(Agent.objects.filter(slug="main").update)(
        heartbeat_enabled=True, heartbeat_minutes=30
    )
    await database_sync_to_async(jobs.sync_heartbeats)()
    beat: ScheduledJob = await database_sync_to_async(ScheduledJob.objects.get)(purpose="heartbeat")
    assert (beat.kind, beat.spec, beat.session_key, beat.enabled) == ("every", "1800", BEAT, True)
    return beat.pk


async def test_heartbeat_ok_is_not_delivered_and_an_alert_is(
    client: ProtocolClient, fake_openai: FakeOpenAI
) -> None:
    await client.request("sessions.history", {"session": MAIN})
    pk = await heartbeat("# Checks\n- Is the nightly build green?\n")
    await make_due(pk)
    fake_openai.script(Text("HEARTBEAT_OK"))
    assert await run_tick() == 1
    assert (await job(pk)).last_status == "suppressed"
    request = fake_openai.requests[-1].body["messages"]
    assert "- Is the nightly build green?" in last_user(fake_openai)
    assert "HEARTBEAT_OK" in last_user(fake_openai)
    assert "nightly build" not in request[0]["content"]  # never in the system prompt

    await make_due(pk)
    fake_openai.script(Text("The nightly build is red."))
    assert await run_tick() == 1
    # The first answer the main session's socket sees is the alert: the OK never came.
    end = await client.until_event({"chat.final", "chat.delta"})
    assert end["event"] == "chat.final" and end["data"]["session"] == MAIN
    assert end["data"]["text"] == "The nightly build is red."
    assert (await job(pk)).last_status == "ok"
    main = [e["content"] for e in await transcript(MAIN) if e["type"] == "message"]
    assert main == ["The nightly build is red."]  # the OK turns stay in the heartbeat session
    beats = [e["content"] for e in await transcript(BEAT) if e.get("role") == "assistant"]
    assert beats == ["HEARTBEAT_OK", "The nightly build is red."]


async def test_a_heartbeat_with_nothing_to_check_costs_no_model_call(
    client: ProtocolClient, fake_openai: FakeOpenAI
) -> None:
    pk = await heartbeat(None)  # the template: headings and comments only
    await make_due(pk)
    assert await run_tick() == 1
    done = await job(pk)
    assert done.last_status == "skipped" and "HEARTBEAT.md is empty" in done.last_error
    assert fake_openai.requests == []


async def test_turning_the_heartbeat_off_disables_its_job(
    client: ProtocolClient, fake_openai: FakeOpenAI
) -> None:
    pk = await heartbeat("- anything?")
    await database_sync_to_async(Agent.objects.filter(slug="main").update)(heartbeat_enabled=False)
    await database_sync_to_async(jobs.sync_heartbeats)()
    beat = await job(pk)
    assert not beat.enabled and beat.next_run_at is None


async def test_a_failing_job_is_recorded_and_the_others_still_run(
    client: ProtocolClient, fake_openai: FakeOpenAI
) -> None:
    broken = await create("every", "1h", "nobody hears this", "agent:main:telegram:dm:42")
    await database_sync_to_async(ScheduledJob.objects.filter(pk=broken).update)(
        channel="telegram", account_id="default", chat_id="42"
    )
    fine = await create("every", "1h", "all good")
    await make_due(broken)
    await make_due(fine)
    assert await run_tick() == 2
    failed, ok = await job(broken), await job(fine)
    assert failed.last_status == "error" and "telegram:default is not running" in failed.last_error
    assert failed.next_run_at is not None and failed.next_run_at > timezone.now()
    assert ok.last_status == "ok"
    assert last_user(fake_openai) == "[Scheduled reminder] all good"


def test_a_due_job_is_claimed_by_one_of_many_concurrent_claims() -> None:
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection

    from agents.services import ensure_default_agent

    ensure_default_agent()
    info = jobs.create_job(
        agent_slug="main", kind="every", spec="1h", text="once", session_key=MAIN, channel="web"
    )
    ScheduledJob.objects.filter(pk=info.pk).update(next_run_at=timezone.now())
    now = timezone.now()

    def claim() -> int:
        try:
            return len(jobs.claim_due(now))
        finally:
            connection.close()

    with ThreadPoolExecutor(4) as pool:
        claimed = list(pool.map(lambda _: claim(), range(4)))
    assert sorted(claimed) == [0, 0, 0, 1]
    assert ScheduledJob.objects.get(pk=info.pk).run_count == 1
