"""The admin shows which environment variables a channel account uses and whether each is set,
never a value; bindings are managed there, validated and audited."""

import re

import pytest
from django.test import Client
from django.urls import reverse
from pytest_django.fixtures import Settings

from agents.models import Agent
from agents.services import ensure_default_agent
from gateway.models import Binding, ChannelAccount
from openclaw.audit.models import AuditEvent

pytestmark = pytest.mark.django_db

SECRET = "123456:telegram-secret-token-value"


def rows(page: str) -> list[list[str]]:
    """The environment table's rows, cell texts without tags."""
    table = page.split("environment variables", 1)[1].split("</table>", 1)[0]
    return [
        [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td>(.*?)</td>", row)]
        for row in re.findall(r"<tr>(.*?)</tr>", table)
        if "<td>" in row
    ]


def test_the_account_page_names_its_variables_and_whether_they_are_set(
    admin_client: Client, settings: Settings
) -> None:
    settings.OPENCLAW_CHANNEL_ENV = {"TELEGRAM_BOT_TOKEN": SECRET, "SLACK_BOT_TOKEN": SECRET}
    default = ChannelAccount.objects.create(
        channel="telegram",
        account_id="default",
        agent=ensure_default_agent(),
        credentials={"bot_token": "TELEGRAM_BOT_TOKEN"},
    )
    page = admin_client.get(reverse("admin:gateway_channelaccount_change", args=[default.pk])).text
    assert SECRET not in page
    assert rows(page) == [
        ["TELEGRAM_BOT_TOKEN", "bot_token", "set"],
        # The default account takes the conventional variable at the next start once set.
        ["TELEGRAM_WEBHOOK_SECRET", "webhook_secret", "not set: taken at the next start once set"],
    ]

    team = ChannelAccount.objects.create(
        channel="slack",
        account_id="T123",
        agent=ensure_default_agent(),
        credentials={"bot_token": "SLACK_BOT_TOKEN", "app_token": "SLACK_TEAM_APP_TOKEN"},
    )
    page = admin_client.get(reverse("admin:gateway_channelaccount_change", args=[team.pk])).text
    assert SECRET not in page
    assert rows(page) == [
        ["SLACK_BOT_TOKEN", "bot_token", "set"],
        ["SLACK_TEAM_APP_TOKEN", "app_token", "not set"],
    ]


def test_a_binding_is_added_in_the_admin_checked_and_audited(admin_client: Client) -> None:
    account = ChannelAccount.objects.create(
        channel="telegram", account_id="bot", agent=ensure_default_agent()
    )
    helper = Agent.objects.create(slug="helper", name="Helper")
    url = reverse("admin:gateway_binding_add")
    form = {"account": str(account.pk), "group": "", "thread": "7", "peer": "", "agent": ""}
    refused = admin_client.post(url, {**form, "agent": str(helper.pk)})
    assert refused.status_code == 200
    assert "A thread binding needs the group the thread is in." in refused.text
    saved = admin_client.post(url, {**form, "group": "-100", "agent": str(helper.pk)})
    assert saved.status_code == 302
    binding = Binding.objects.get()
    assert (binding.group, binding.thread, binding.agent) == ("-100", "7", helper)
    assert AuditEvent.objects.filter(action="binding.added").exists()
    listing = admin_client.get(reverse("admin:gateway_binding_changelist")).text
    assert "group -100 thread 7" in listing
