"""The admin index is the operator dashboard: channel states, sessions, tokens and cost today and
this week, what waits for a decision, recent errors; correct figures in a bounded number of
queries, with data and with an empty database, and every other admin page still there."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib import admin
from django.db import connection
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from pytest_django.fixtures import Settings

from agents.models import Agent, DailyUsage, ModelPrice, Session
from agents.services import ensure_default_agent, open_session
from agents.transcripts import append_entries, make_entry
from gateway.models import ChannelAccount, ExecApproval, InboundRecord, PairingRequest

pytestmark = pytest.mark.django_db

SECRET = "123456:telegram-secret-token-value"


def _figure(html: str, element_id: str) -> str:
    match = re.search(rf'id="{element_id}"[^>]*>(.*?)</td>', html, re.S)
    assert match, f"no #{element_id} on the dashboard"
    return " ".join(re.sub(r"<[^>]+>", " ", match.group(1)).split())


def _account(agent: Agent, account_id: str, **fields: object) -> ChannelAccount:
    return ChannelAccount.objects.create(
        channel="telegram", account_id=account_id, agent=agent, **fields
    )


def _populate() -> Agent:
    """A little of everything the dashboard counts."""
    agent = ensure_default_agent()
    now = timezone.now()
    today = timezone.localdate()
    week_start = today - timedelta(days=today.weekday())
    _account(agent, "bot-ok", connection_state="connected")
    broken = _account(
        agent,
        "bot-broken",
        connection_state="error",
        last_error=f"401 from https://api.telegram.org/bot{SECRET}/getMe",
        state_changed_at=now - timedelta(minutes=5),
    )
    for n in range(2):
        open_session(f"agent:main:telegram:dm:u{n}", channel="telegram")
    Session.objects.filter(key="agent:main:telegram:dm:u0").update(
        last_active_at=now - timedelta(days=3)
    )
    archived = Session.objects.create(
        key="agent:main:old", agent=agent, status=Session.Status.ARCHIVED, transcript_path="x"
    )
    assert archived.last_active_at >= now  # archived sessions do not count as active
    failing = Session.objects.get(key="agent:main:telegram:dm:u1")
    append_entries(
        failing.transcript_file,
        [
            make_entry("message", role="user", content="hello"),
            make_entry("error", content="The model answered 503.", meta={"code": "unavailable"}),
        ],
    )
    ModelPrice.objects.create(model="gpt-priced", input_per_mtok=1, output_per_mtok=2)
    DailyUsage.objects.create(
        agent=agent,
        day=today,
        model="gpt-priced",
        turns=3,
        prompt_tokens=1000,
        completion_tokens=200,
        cached_tokens=400,
        cost=Decimal("0.0014"),
    )
    DailyUsage.objects.create(
        agent=agent,
        day=week_start,
        model="llama-free",
        turns=2,
        prompt_tokens=500,
        completion_tokens=100,
    )
    DailyUsage.objects.create(
        agent=agent,
        day=week_start - timedelta(days=1),
        model="gpt-priced",
        turns=9,
        prompt_tokens=9000,
        completion_tokens=900,
        cost=Decimal("1"),
    )
    for n in range(2):
        PairingRequest.objects.create(
            account=broken,
            sender_id=f"s{n}",
            display_name=f"Sender {n}",
            code=f"CODE{n:04d}",
            expires_at=now + timedelta(hours=1),
        )
    PairingRequest.objects.create(
        account=broken, sender_id="late", code="EXPIRED1", expires_at=now - timedelta(minutes=1)
    )
    ExecApproval.objects.create(
        run_id="r1",
        session_key="agent:main:main",
        agent_slug="main",
        command="rm -rf build",
        expires_at=now + timedelta(minutes=5),
    )
    for n, age in enumerate([timedelta(hours=2), timedelta(minutes=1)]):
        InboundRecord.objects.create(
            channel="telegram",
            account_id="bot-broken",
            message_id=f"m{n}",
            chat_id="c",
            sender_id="s",
            received_at=now - age,
        )
    return agent


def test_empty_database_renders_the_dashboard_and_the_app_list(admin_client: Client) -> None:
    page = admin_client.get(reverse("admin:index"))
    assert page.status_code == 200
    html = page.text
    assert "No channel accounts yet" in html
    assert _figure(html, "dash-sessions-today") == "0"
    assert _figure(html, "dash-tokens-today") == "0 tokens"
    assert _figure(html, "dash-pairings") == "0" and _figure(html, "dash-exec") == "0"
    assert "Nothing recorded lately." in html
    for name in ("memory_workingmemory", "agents_session", "gateway_inboundrecord"):
        assert reverse(f"admin:{name}_changelist") in html


def test_dashboard_figures_are_correct(admin_client: Client, settings: Settings) -> None:
    settings.OPENCLAW_CHANNEL_ENV = {"TELEGRAM_BOT_TOKEN": SECRET}  # masked wherever it appears
    _populate()
    html = admin_client.get(reverse("admin:index")).text
    today = timezone.localdate()
    monday = today == today - timedelta(days=today.weekday())
    assert "telegram:bot-ok" in html and "connected" in html
    assert "telegram:bot-broken" in html
    assert SECRET not in html and "[redacted]" in html
    assert _figure(html, "dash-sessions-today") == "1"  # u1; u0 was 3 days ago, old is archived
    assert "of 2 open" in html
    if monday:  # the week started today: the week_start row is today's too
        assert _figure(html, "dash-tokens-today") == "1,800 tokens"
    else:
        assert _figure(html, "dash-tokens-today") == "1,200 tokens"
    assert _figure(html, "dash-cost-today") == (
        "cost 0.0014 · 5 turns" if monday else "cost 0.0014 · 3 turns"
    )
    assert _figure(html, "dash-tokens-week") == "1,800 tokens"
    assert _figure(html, "dash-cost-week") == "cost 0.0014 · 5 turns"
    assert "No <a" in html and "llama-free: their cost counts as 0" in html
    assert _figure(html, "dash-pairings") == "2"  # the expired one is not waiting
    assert "CODE0000" in html and "EXPIRED1" not in html
    assert _figure(html, "dash-exec") == "1" and "rm -rf build" in html
    errors = html[html.index('id="dash-errors"') :]
    assert "The model answered 503." in errors and "unavailable" in errors
    assert "1 platform message accepted but not answered" in errors
    assert (
        reverse(
            "admin:gateway_channelaccount_change",
            args=[ChannelAccount.objects.get(account_id="bot-broken").pk],
        )
        in errors
    )


def test_dashboard_query_count_is_bounded_and_does_not_grow_with_the_data(
    admin_client: Client,
) -> None:
    _populate()
    url = reverse("admin:index")
    admin_client.get(url)  # warm caches (content types, sessions)
    with CaptureQueriesContext(connection) as small:
        assert admin_client.get(url).status_code == 200
    _populate_more()
    with CaptureQueriesContext(connection) as large:
        assert admin_client.get(url).status_code == 200
    assert len(small) <= 20, [q["sql"] for q in small]
    assert len(large) == len(small)


def _populate_more() -> None:
    agent = Agent.objects.get(slug="main")
    now = timezone.now()
    account = ChannelAccount.objects.get(account_id="bot-broken")
    for n in range(30):
        open_session(f"agent:main:web:dm:more{n}")
        PairingRequest.objects.create(
            account=account,
            sender_id=f"more{n}",
            code=f"MORE{n:04d}",
            expires_at=now + timedelta(hours=1),
        )
        _account(agent, f"more-{n}", connection_state="connected")


def test_curation_runs_awaiting_review_and_failed_ones_are_shown(admin_client: Client) -> None:
    from memory.models import CurationRun

    agent = ensure_default_agent()
    today = timezone.localdate()
    CurationRun.objects.create(agent=agent, day=today - timedelta(days=1), status="pending")
    CurationRun.objects.create(agent=agent, day=today - timedelta(days=2), status="applied")
    CurationRun.objects.create(
        agent=agent, day=today - timedelta(days=3), status="failed", error="model said garbage"
    )
    html = admin_client.get(reverse("admin:index")).text
    assert _figure(html, "dash-curation") == "1"
    assert reverse("admin:memory_curationrun_changelist") + "?status__exact=pending" in html
    errors = html[html.index('id="dash-errors"') :]
    assert "model said garbage" in errors


def test_non_staff_do_not_see_the_dashboard() -> None:
    from django.contrib.auth.models import User

    User.objects.create_user("visitor", password="pw")
    client = Client()
    client.login(request=RequestFactory().post("/admin/login/"), username="visitor", password="pw")
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_every_admin_list_renders_with_its_search_and_filters(admin_client: Client) -> None:
    _populate()
    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        assert admin_client.get(url).status_code == 200, url
        if model_admin.search_fields:
            assert admin_client.get(url, {"q": "main"}).status_code == 200, url
        if model_admin.date_hierarchy:
            year = timezone.localdate().year
            field = model_admin.date_hierarchy
            assert admin_client.get(url, {f"{field}__year": year}).status_code == 200, url
