"""Gateway records in the admin: secrets never shown or stored as options, the inbound journal
and the audit trail read-only."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from pytest_django.fixtures import Settings

from agents.services import ensure_default_agent
from gateway.models import ChannelAccount, ExecApproval, InboundRecord
from openclaw.audit.models import AuditEvent
from openclaw.audit.services import audit

pytestmark = pytest.mark.django_db

SECRET = "xoxb-0000-secret-bot-token"


def _account_form(**changes: str) -> dict[str, str]:
    agent = ensure_default_agent()
    form = {
        "channel": "slack",
        "account_id": "T123",
        "name": "Team",
        "agent": str(agent.pk),
        "enabled": "on",
        "credentials": '{"bot_token": "SLACK_BOT_TOKEN"}',
        "options": "{}",
        "dm_policy": "pairing",
        "allow_from": "[]",
        "owner_ids": "[]",
        "group_policy": "allowlist",
        "group_allowlist": "[]",
        "group_sender_allowlist": "[]",
        "require_mention": "on",
        "mention_patterns": "[]",
        "rate_per_sender": "",
        "rate_per_account": "",
    }
    return {**form, **changes}


def test_a_secret_in_account_options_is_refused(admin_client: Client) -> None:
    url = reverse("admin:gateway_channelaccount_add")
    refused = admin_client.post(url, _account_form(options=f'{{"bot_token": "{SECRET}"}}'))
    assert refused.status_code == 200
    assert "bot_token looks like a secret" in refused.text
    assert not ChannelAccount.objects.exists()
    saved = admin_client.post(url, _account_form(options='{"phone_number_id": "123"}'))
    assert saved.status_code == 302
    assert ChannelAccount.objects.get().options == {"phone_number_id": "123"}


def test_a_secret_quoted_in_a_connection_error_is_masked(
    admin_client: Client, settings: Settings
) -> None:
    settings.OPENCLAW_CHANNEL_ENV = {"SLACK_BOT_TOKEN": SECRET}  # as the settings collect it
    account = ChannelAccount.objects.create(
        channel="slack",
        account_id="T9",
        agent=ensure_default_agent(),
        connection_state="error",
        last_error=f"invalid_auth for token {SECRET}",
    )
    for url in (
        reverse("admin:gateway_channelaccount_changelist"),
        reverse("admin:gateway_channelaccount_change", args=[account.pk]),
    ):
        page = admin_client.get(url).text
        assert "invalid_auth for token [redacted]" in page and SECRET not in page


def test_the_inbound_journal_is_listed_filtered_and_read_only(admin_client: Client) -> None:
    record = InboundRecord.objects.create(
        channel="telegram",
        account_id="bot1",
        message_id="m1",
        chat_id="c1",
        sender_id="alice",
        text="hello there",
        status=InboundRecord.Status.DELIVERED,
    )
    listing = reverse("admin:gateway_inboundrecord_changelist")
    page = admin_client.get(listing, {"status__exact": "delivered", "channel": "telegram"})
    assert page.status_code == 200 and "hello there" in page.text
    assert "alice" not in admin_client.get(listing, {"status__exact": "accepted"}).text
    assert admin_client.get(reverse("admin:gateway_inboundrecord_add")).status_code == 403
    change = reverse("admin:gateway_inboundrecord_change", args=[record.pk])
    detail = admin_client.get(change)
    assert detail.status_code == 200 and 'name="_save"' not in detail.text
    delete = reverse("admin:gateway_inboundrecord_delete", args=[record.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    assert InboundRecord.objects.filter(pk=record.pk).exists()


def test_audit_events_show_their_detail_read_only_and_masked(
    admin_client: Client, settings: Settings
) -> None:
    settings.OPENCLAW_CHANNEL_ENV = {"SLACK_BOT_TOKEN": SECRET}  # as the settings collect it
    event = audit("cli:alice", "exec.approved", "exec #1", command=f"echo {SECRET} <b>")
    page = admin_client.get(reverse("admin:audit_auditevent_change", args=[event.pk])).text
    assert "echo [redacted] &lt;b&gt;" in page and SECRET not in page
    assert 'name="_save"' not in page
    delete = reverse("admin:audit_auditevent_delete", args=[event.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_a_secret_in_a_command_awaiting_approval_is_masked(
    admin_client: Client, settings: Settings
) -> None:
    settings.OPENCLAW_CHANNEL_ENV = {"SLACK_BOT_TOKEN": SECRET}  # as the settings collect it
    approval = ExecApproval.objects.create(
        run_id="r1",
        session_key="agent:main:main",
        agent_slug="main",
        command=f"curl -H 'Authorization: {SECRET}' https://slack.com/api/auth.test",
        expires_at=timezone.now() + timedelta(minutes=5),
    )
    for url in (
        reverse("admin:gateway_execapproval_changelist"),
        reverse("admin:gateway_execapproval_change", args=[approval.pk]),
        reverse("admin:index"),
    ):
        page = admin_client.get(url).text
        assert "curl -H &#x27;Authorization: [redacted]&#x27;" in page, url
        assert SECRET not in page, url
