"""Scheduled jobs in the Django admin: listed, written with validation, run now, enabled and
disabled; the heartbeat follows the agent's settings."""

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import User
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone

from agents.models import Agent, ScheduledJob
from agents.services import ensure_default_agent

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client() -> Client:
    User.objects.create_superuser("admin", "admin@example.com", "pw-for-tests-only")
    client = Client()
    client.login(
        request=RequestFactory().post("/admin/login/"),
        username="admin",
        password="pw-for-tests-only",
    )
    return client


def job_form(agent: Agent, **fields: str) -> dict[str, str]:
    return {
        "agent": str(agent.pk),
        "name": "standup",
        "purpose": "reminder",
        "enabled": "on",
        "text": "Time for the standup",
        "kind": "cron",
        "spec": "0  9 * * 1-5",
        "timezone": "America/New_York",
        "next_run_at_0": "",
        "next_run_at_1": "",
        "session_key": "agent:main:main",
        "channel": "web",
        "account_id": "",
        "chat_id": "",
        "thread_id": "",
        **fields,
    }


def test_a_job_written_in_the_admin_gets_its_next_run(admin_client: Client) -> None:
    agent = ensure_default_agent()
    response = admin_client.post(reverse("admin:agents_scheduledjob_add"), job_form(agent))
    assert response.status_code == 302, response.content.decode()[:2000]
    job = ScheduledJob.objects.get()
    assert job.spec == "0 9 * * 1-5" and job.created_by == "admin:admin"
    assert job.next_run_at is not None and job.next_run_at > timezone.now()
    local = job.next_run_at.astimezone(ZoneInfo("America/New_York"))
    assert (local.hour, local.minute, local.weekday() < 5) == (9, 0, True)
    listing = admin_client.get(reverse("admin:agents_scheduledjob_changelist"))
    assert listing.status_code == 200 and b"standup" in listing.content
    page = admin_client.get(reverse("admin:agents_scheduledjob_change", args=[job.pk]))
    assert page.status_code == 200


def test_a_bad_schedule_is_refused_with_its_reason(admin_client: Client) -> None:
    agent = ensure_default_agent()
    url = reverse("admin:agents_scheduledjob_add")
    response = admin_client.post(url, job_form(agent, spec="every morning"))
    assert response.status_code == 200
    assert b"is not a cron expression" in response.content
    assert not ScheduledJob.objects.exists()


def test_run_now_enable_and_disable_actions(admin_client: Client) -> None:
    agent = ensure_default_agent()
    later = timezone.now() + timedelta(days=1)
    job = ScheduledJob.objects.create(
        agent=agent, kind="every", spec="3600", session_key="agent:main:main", next_run_at=later
    )
    url = reverse("admin:agents_scheduledjob_changelist")
    selected = {"_selected_action": [str(job.pk)]}
    admin_client.post(url, {"action": "disable", **selected})
    job.refresh_from_db()
    assert not job.enabled
    admin_client.post(url, {"action": "run_now", **selected})
    job.refresh_from_db()
    assert job.enabled and job.next_run_at is not None and job.next_run_at <= timezone.now()
    admin_client.post(url, {"action": "enable", **selected})
    job.refresh_from_db()
    assert job.enabled and job.next_run_at is not None and job.next_run_at > timezone.now()


def test_the_heartbeat_follows_the_agent_settings_saved_in_the_admin(
    admin_client: Client,
) -> None:
    agent = ensure_default_agent()
    url = reverse("admin:agents_agent_change", args=[agent.pk])
    form = {
        "slug": "main",
        "name": "Main",
        "enabled": "on",
        "api_key_env": "OPENAI_API_KEY",
        "fallback_models": "[]",
        "max_output_tokens": 1000,
        "context_window": 8000,
        "tool_profile": "full",
        "tools_allow": "[]",
        "tools_deny": "[]",
        "max_tool_rounds": 16,
        "queue_mode": "collect",
        "image_input": "auto",
        "queue_cap": 20,
        "heartbeat_enabled": "on",
        "heartbeat_minutes": 15,
    }
    assert admin_client.post(url, form).status_code == 302
    beat = ScheduledJob.objects.get(purpose="heartbeat")
    assert (beat.kind, beat.spec, beat.enabled) == ("every", "900", True)
    assert beat.session_key == "agent:main:heartbeat"
    page = admin_client.get(reverse("admin:agents_scheduledjob_change", args=[beat.pk]))
    assert page.status_code == 200
    del form["heartbeat_enabled"]
    assert admin_client.post(url, form).status_code == 302
    beat.refresh_from_db()
    assert not beat.enabled and beat.next_run_at is None
