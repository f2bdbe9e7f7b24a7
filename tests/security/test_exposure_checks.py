"""`doctor --security` flags as critical what would let an outsider in: admin form posts trusted
from a foreign origin, web_fetch allowed onto this machine or its network, and shell commands
anyone in an open group could run without an operator's approval."""

import pytest
from django.test import override_settings

from agents.models import Agent
from gateway.operator.doctor import security_findings
from tests.security.conftest import make_account


def _critical(text: str) -> list[str]:
    return [f.what for f in security_findings() if f.severity == "critical" and text in f.what]


@pytest.mark.django_db
def test_a_foreign_trusted_origin_is_critical() -> None:
    with override_settings(
        ALLOWED_HOSTS=["claw.example.com"],
        CSRF_TRUSTED_ORIGINS=["https://claw.example.com", "https://evil.example.net"],
    ):
        found = _critical("CSRF_TRUSTED_ORIGINS")
    assert len(found) == 1 and "evil.example.net" in found[0]


@pytest.mark.django_db
@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "10.0.0.5", "[::1]", "169.254.169.254"])
def test_web_fetch_allowed_onto_this_machine_or_network_is_critical(host: str) -> None:
    with override_settings(OPENCLAW_WEB_FETCH_ALLOW_HOSTS=["docs.example.com", host]):
        found = _critical("OPENCLAW_WEB_FETCH_ALLOW_HOSTS")
    assert len(found) == 1 and "docs.example.com" not in found[0]
    with override_settings(OPENCLAW_WEB_FETCH_ALLOW_HOSTS=["docs.example.com"]):
        assert _critical("OPENCLAW_WEB_FETCH_ALLOW_HOSTS") == []


@pytest.mark.django_db
def test_unapproved_exec_open_to_any_group_is_critical() -> None:
    account = make_account(group_policy="open")
    agent = Agent.objects.filter(pk=account.agent_id)
    agent.update(exec_enabled=True, exec_approval=False, group_tools=["exec"])
    assert len(_critical("without approval")) == 1
    agent.update(exec_approval=True)
    assert _critical("without approval") == []
