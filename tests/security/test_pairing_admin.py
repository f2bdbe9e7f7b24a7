"""Approve and deny from `manage.py pairing` and from admin actions; admin edits are audited."""

from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth.models import Permission, User
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from gateway import approvals, pairing
from gateway.models import ChannelAccount, ExecApproval, PairingRequest
from openclaw.audit.models import AuditEvent

pytestmark = pytest.mark.services


def run(*args: str) -> str:
    out = StringIO()
    call_command("pairing", *args, stdout=out)
    return out.getvalue()


def test_list_shows_pending_requests_as_a_table(account: ChannelAccount) -> None:
    assert "No pending pairing requests." in run("list")
    code = pairing.request_pairing(account, "u-1", "Ann\x1b[31m").code
    lines = run("list").splitlines()
    assert lines[0].split() == ["CODE", "CHANNEL", "ACCOUNT", "SENDER", "NAME", "STATUS", "EXPIRES"]
    assert lines[1].split()[:6] == [
        code,
        "telegram",
        account.account_id,
        "u-1",
        "Ann?[31m",
        "pending",
    ]
    pairing.deny(code, "cli:x")
    assert "No pending" in run("list")
    assert code in run("list", "--all")


def test_approve_and_deny_by_command(account: ChannelAccount) -> None:
    first = pairing.request_pairing(account, "u-1").code
    second = pairing.request_pairing(account, "u-2").code
    assert f"{first}: approved u-1" in run("approve", first.lower())
    assert f"{second}: denied u-2" in run("deny", second)
    assert pairing.is_approved(account, "u-1") and not pairing.is_approved(account, "u-2")
    actors = set(
        AuditEvent.objects.filter(action__in=["pairing.approved", "pairing.denied"]).values_list(
            "actor", flat=True
        )
    )
    assert all(a.startswith("cli") for a in actors)


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("unknown", "No pairing request"),
        ("expired", "has expired"),
        ("decided", "already approved"),
    ],
)
def test_command_refuses_bad_codes_with_a_clear_message(
    account: ChannelAccount, setup: str, message: str
) -> None:
    code = "ABCDEFGH"
    if setup == "expired":
        past = timezone.now() - timedelta(hours=2)
        code = pairing.request_pairing(account, "u", now=past).code
    elif setup == "decided":
        code = pairing.request_pairing(account, "u").code
        pairing.approve(code, "cli:x")
    with pytest.raises(CommandError, match=message):
        run("approve", code)


@pytest.fixture
def admin_client(db: None) -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("root", "root@example.com", "pw"))
    return client


def _post_action(client: Client, model: str, action: str, pks: list[int]) -> None:
    response = client.post(
        f"/admin/gateway/{model}/",
        {"action": action, "_selected_action": [str(pk) for pk in pks]},
    )
    assert response.status_code == 302, response.content[:500]


def test_admin_actions_approve_and_deny_pairing_requests(
    admin_client: Client, account: ChannelAccount
) -> None:
    a = pairing.request_pairing(account, "u-a").code
    b = pairing.request_pairing(account, "u-b").code
    pk_a = PairingRequest.objects.get(code=a).pk
    pk_b = PairingRequest.objects.get(code=b).pk
    _post_action(admin_client, "pairingrequest", "approve_selected", [pk_a])
    _post_action(admin_client, "pairingrequest", "deny_selected", [pk_b])
    assert PairingRequest.objects.get(pk=pk_a).status == "approved"
    assert PairingRequest.objects.get(pk=pk_b).status == "denied"
    assert pairing.is_approved(account, "u-a")
    event = AuditEvent.objects.get(action="pairing.approved")
    assert event.actor == "user:root"
    assert PairingRequest.objects.get(pk=pk_a).decided_by == "user:root"
    page = admin_client.get("/admin/gateway/pairingrequest/").content.decode()
    assert "Approve selected pairing requests" in page


def test_view_only_staff_cannot_approve(account: ChannelAccount) -> None:
    user = User.objects.create_user("viewer", password="pw", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_pairingrequest"))
    client = Client()
    client.force_login(user)
    code = pairing.request_pairing(account, "u").code
    pk = PairingRequest.objects.get(code=code).pk
    client.post(
        "/admin/gateway/pairingrequest/",
        {"action": "approve_selected", "_selected_action": [str(pk)]},
    )
    assert PairingRequest.objects.get(pk=pk).status == "pending"


def test_admin_actions_decide_exec_approvals(admin_client: Client) -> None:
    ok = approvals.request_exec_approval(run_id="r1", session_key="agent:x:main", command="ls")
    no = approvals.request_exec_approval(
        run_id="r2", session_key="agent:x:main", command="rm -rf /"
    )
    _post_action(admin_client, "execapproval", "approve_selected", [ok.id])
    _post_action(admin_client, "execapproval", "deny_selected", [no.id])
    assert ExecApproval.objects.get(pk=ok.id).status == "approved"
    assert ExecApproval.objects.get(pk=no.id).status == "denied"
    assert AuditEvent.objects.get(action="exec.denied").actor == "user:root"


def _account_form(account: ChannelAccount, **changes: str) -> dict[str, str]:
    form = {
        "channel": account.channel,
        "account_id": account.account_id,
        "name": account.name,
        "agent": str(account.agent_id),
        "enabled": "on",
        "dm_policy": account.dm_policy,
        "allow_from": "[]",
        "owner_ids": "[]",
        "group_policy": account.group_policy,
        "group_allowlist": "[]",
        "group_sender_allowlist": "[]",
        "require_mention": "on",
        "mention_patterns": "[]",
        "rate_per_sender": "",
        "rate_per_account": "",
    }
    form.update(changes)
    return form


def test_policy_changes_in_the_admin_are_audited_with_the_user(
    admin_client: Client, account: ChannelAccount
) -> None:
    url = f"/admin/gateway/channelaccount/{account.pk}/change/"
    response = admin_client.post(url, _account_form(account, dm_policy="open", allow_from='["u9"]'))
    assert response.status_code == 302
    account.refresh_from_db()
    assert account.dm_policy == "open" and account.allow_from == ["u9"]
    event = AuditEvent.objects.get(action="channelaccount.changed")
    assert event.actor == "user:root"
    assert {"Direct-message policy", "Allow from"} <= set(event.detail["fields"])


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("mention_patterns", '["(unclosed"]', "does not compile"),
        ("mention_patterns", '["' + "a" * 201 + '"]', "patterns of up to"),
        ("allow_from", '"u1"', "JSON list of ids"),
        ("allow_from", "[1, 2]", "JSON list of ids"),
        ("rate_per_sender", "lots", "Enter a rate"),
    ],
)
def test_the_admin_rejects_invalid_account_settings(
    admin_client: Client, account: ChannelAccount, field: str, value: str, error: str
) -> None:
    url = f"/admin/gateway/channelaccount/{account.pk}/change/"
    response = admin_client.post(url, _account_form(account, **{field: value}))
    assert response.status_code == 200
    assert error in response.content.decode()
