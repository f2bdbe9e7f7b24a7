"""Agents, sessions, prices and usage are usable in the Django admin."""

import pytest
from django.contrib.auth.models import User
from django.test import Client, RequestFactory
from django.urls import reverse

from agents.models import Agent, DailyUsage, ModelPrice
from agents.services import ensure_default_agent, open_session
from agents.usage import record_turn

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


def test_every_agents_admin_page_renders(admin_client: Client) -> None:
    agent = ensure_default_agent()
    session, _ = open_session("agent:main:main")
    ModelPrice.objects.create(model="gpt-fake", input_per_mtok=1, output_per_mtok=2)
    record_turn(
        session.pk,
        "gpt-fake",
        {"prompt_tokens": 1000, "completion_tokens": 10, "total_tokens": 1010},
    )
    pages = [
        reverse("admin:agents_agent_changelist"),
        reverse("admin:agents_agent_change", args=[agent.pk]),
        reverse("admin:agents_session_changelist"),
        reverse("admin:agents_session_change", args=[session.pk]),
        reverse("admin:agents_modelprice_changelist"),
        reverse("admin:agents_dailyusage_changelist"),
    ]
    for page in pages:
        assert admin_client.get(page).status_code == 200, page
    assert float(DailyUsage.objects.get().cost) == pytest.approx(0.00102)


def test_agent_model_settings_are_edited_in_the_admin_and_keys_are_refused(
    admin_client: Client,
) -> None:
    agent = ensure_default_agent()
    url = reverse("admin:agents_agent_change", args=[agent.pk])
    form = {
        "slug": "main",
        "name": "Main",
        "enabled": "on",
        "instructions": "",
        "timezone": "Europe/Paris",
        "model": "llama3.1",
        "base_url": "http://127.0.0.1:11434/v1",
        "api_key_env": "OLLAMA_API_KEY",
        "fallback_models": '["gpt-4o-mini"]',
        "temperature": "",
        "max_output_tokens": 1000,
        "context_window": 8000,
        "daily_token_budget": "",
        "tool_profile": "full",
        "tools_allow": "[]",
        "tools_deny": "[]",
        "max_tool_rounds": 16,
        "queue_mode": "collect",
        "image_input": "auto",
        "queue_cap": 20,
        "heartbeat_minutes": 30,
    }
    assert admin_client.post(url, form).status_code == 302
    agent.refresh_from_db()
    assert (agent.model, agent.api_key_env, agent.fallback_models) == (
        "llama3.1",
        "OLLAMA_API_KEY",
        ["gpt-4o-mini"],
    )
    # A secret pasted where the variable name belongs is refused, not stored.
    bad = admin_client.post(url, {**form, "api_key_env": "sk-live-abc123"})
    assert bad.status_code == 200
    assert (
        b"sk-live-abc123"
        not in Agent.objects.filter(pk=agent.pk).values_list("api_key_env", flat=True)[0].encode()
    )
    bad_fallbacks = admin_client.post(url, {**form, "fallback_models": '[{"base_url": "x"}]'})
    assert bad_fallbacks.status_code == 200
