"""The cron tool through the real gateway consumer, lanes and agent loop, driven by the scripted
fake model: jobs created in the agent's time zone, listed, deleted; bad specs come back to the
model as tool errors; the per-agent cap; who gets the tool at all."""

import json
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from channels.db import database_sync_to_async
from django.test import override_settings
from django.utils import timezone

from agents.models import Agent, ScheduledJob
from agents.services import AgentConfig, SessionRef
from gateway.runs import tools_for
from tests.fakes.openai_server import FakeOpenAI, Text, ToolCall, ToolCalls
from tests.wsclient import ProtocolClient

pytestmark = [pytest.mark.django_db(transaction=True)]
MAIN = "agent:main:main"


def cron(**args: Any) -> ToolCalls:
    return ToolCalls(ToolCall("cron", json.dumps(args)))


def tool_result(fake: FakeOpenAI) -> str:
    """What the last tool call returned to the model (the newest request's tool message)."""
    messages = fake.requests[-1].body["messages"]
    content: str = [m for m in messages if m["role"] == "tool"][-1]["content"]
    return content


def _jobs() -> list[ScheduledJob]:
    return list(ScheduledJob.objects.filter(purpose="reminder").order_by("pk"))


async def jobs() -> list[ScheduledJob]:
    found: list[ScheduledJob] = await database_sync_to_async(_jobs)()
    return found


async def test_create_a_daily_job_in_the_agents_time_zone(
    client: ProtocolClient, fake_openai: FakeOpenAI
) -> None:
    await database_sync_to_async(Agent.objects.filter(slug="main").update)(timezone="Europe/Berlin")
    fake_openai.script(
        cron(action="create", kind="cron", schedule="0 9 * * *", text="Plan the day", name="am"),
        Text("Done."),
    )
    end, _ = await client.chat("every morning at 9 help me plan")
    assert end["data"]["text"] == "Done."
    [job] = await jobs()
    assert (job.kind, job.spec, job.text, job.name) == ("cron", "0 9 * * *", "Plan the day", "am")
    assert (job.session_key, job.channel, job.created_by) == (MAIN, "web", MAIN)
    assert job.enabled and not job.delete_after_run and job.timezone == ""
    assert job.next_run_at is not None and job.next_run_at > timezone.now()
    local = job.next_run_at.astimezone(ZoneInfo("Europe/Berlin"))
    assert (local.hour, local.minute) == (9, 0)
    result = tool_result(fake_openai)
    assert result.startswith(f"Created job {job.pk} (cron 0 9 * * *, Europe/Berlin); next run ")
    assert local.strftime("%Y-%m-%d 09:00") in result


async def test_a_one_shot_after_a_delay_is_deleted_after_it_runs(
    client: ProtocolClient, fake_openai: FakeOpenAI
) -> None:
    fake_openai.script(
        cron(action="create", kind="at", schedule="+20m", text="Take the cake out"), Text("Ok.")
    )
    before = timezone.now()
    await client.chat("remind me in 20 minutes")
    [job] = await jobs()
    assert job.kind == "at" and job.delete_after_run
    assert job.next_run_at is not None
    assert timedelta(minutes=19) < job.next_run_at - before < timedelta(minutes=21)


async def test_list_then_delete(client: ProtocolClient, fake_openai: FakeOpenAI) -> None:
    fake_openai.script(
        cron(action="create", kind="every", schedule="2h", text="Drink water"),
        Text("Created."),
        cron(action="list"),
        Text("Listed."),
    )
    await client.chat("every two hours remind me to drink")
    await client.chat("what is scheduled?")
    [job] = await jobs()
    listing = tool_result(fake_openai)
    assert f"#{job.pk} | every 2h (UTC) | next " in listing
    assert f"| {MAIN} | Drink water" in listing
    fake_openai.script(cron(action="delete", id=job.pk), Text("Deleted."))
    await client.chat("stop that")
    assert tool_result(fake_openai) == f"Deleted job {job.pk}."
    assert await jobs() == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"kind": "cron", "schedule": "61 9 * * *"}, "is not a cron expression"),
        ({"kind": "cron", "schedule": "* * * * *"}, "runs too often"),
        ({"kind": "every", "schedule": "2m"}, "the shortest interval is 300 s"),
        ({"kind": "at", "schedule": "2020-01-01T09:00"}, "is in the past (it is now "),
        ({"kind": "at", "schedule": "next tuesday"}, "is not a time"),
        ({"kind": "hourly", "schedule": "1"}, "Unknown kind"),
        ({"kind": "cron", "schedule": "0 9 * * *", "timezone": "Moon/Base"}, "IANA"),
        ({"kind": "cron", "schedule": "0 9 * * *", "text": " "}, "text must not be empty"),
        ({"kind": "cron", "schedule": "0 9 * * *", "session": "agent:other:main"}, "not one of"),
    ],
)
async def test_bad_requests_come_back_as_tool_errors_and_nothing_is_saved(
    client: ProtocolClient, fake_openai: FakeOpenAI, args: dict[str, Any], message: str
) -> None:
    fake_openai.script(cron(**{"action": "create", "text": "do it", **args}), Text("I could not."))
    with override_settings(OPENCLAW_CRON_MIN_INTERVAL_SECONDS=300):
        end, _ = await client.chat("schedule something odd")
    assert end["data"]["text"] == "I could not."
    assert message in tool_result(fake_openai)
    assert await jobs() == []


async def test_the_per_agent_cap(client: ProtocolClient, fake_openai: FakeOpenAI) -> None:
    with override_settings(OPENCLAW_CRON_MAX_JOBS=1):
        fake_openai.script(
            cron(action="create", kind="every", schedule="1h", text="one"),
            cron(action="create", kind="every", schedule="1h", text="two"),
            Text("One only."),
        )
        await client.chat("two jobs please")
    assert "already has 1 jobs (the limit is 1)" in tool_result(fake_openai)
    assert [j.text for j in await jobs()] == ["one"]


async def test_the_heartbeat_cannot_be_deleted_by_the_tool(
    client: ProtocolClient, fake_openai: FakeOpenAI
) -> None:
    from agents.scheduled_jobs import sync_heartbeats

    await database_sync_to_async(Agent.objects.filter(slug="main").update)(heartbeat_enabled=True)
    await database_sync_to_async(sync_heartbeats)()
    beat = await database_sync_to_async(ScheduledJob.objects.get)(purpose="heartbeat")
    fake_openai.script(cron(action="delete", id=beat.pk), Text("Cannot."))
    await client.chat("delete the heartbeat")
    assert "switched off in the agent's settings" in tool_result(fake_openai)


def _session(*, profile: str = "full", is_group: bool = False) -> SessionRef:
    agent = AgentConfig(
        slug="main",
        name="Main",
        model="m",
        base_url="",
        api_key_env="OPENAI_API_KEY",
        instructions="",
        temperature=None,
        max_output_tokens=100,
        context_window=1000,
        workspace="/tmp/none",  # noqa: S108  # never touched
        tool_profile=profile,
    )
    return SessionRef(pk=1, key=MAIN, session_id="0", agent=agent, transcript="", is_group=is_group)


def test_cron_is_offered_in_private_full_sessions_only() -> None:
    assert "cron" in {t.name for t in tools_for(_session())}
    assert "cron" not in {t.name for t in tools_for(_session(is_group=True))}
    assert "cron" not in {t.name for t in tools_for(_session(profile="messaging"))}
    assert "cron" not in {t.name for t in tools_for(_session(profile="minimal"))}
