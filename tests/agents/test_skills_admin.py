"""The operator sees each agent's skills, where each comes from and why one is not offered: on
the admin's Agent page and with `manage.py skills list`."""

import io
import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from pytest_django.fixtures import Settings

from agents.models import Agent
from agents.services import ensure_default_agent
from tests.agents.test_admin import admin_client as admin_client
from tests.agents.test_skills import write_skill

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent(settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Agent:
    monkeypatch.delenv("SKILL_TEST_TOKEN", raising=False)
    settings.OPENCLAW_HOME = tmp_path / "home"
    settings.OPENCLAW_WORKSPACES = tmp_path / "home" / "workspaces"
    agent = ensure_default_agent()
    agent.skills_deny = ["gamma"]
    agent.save()
    own, shared = agent.workspace / "skills", tmp_path / "home" / "skills"
    write_skill(own, "alpha", "name: alpha\ndescription: Mine & <b>bold</b>.")
    write_skill(own, "broken", "name: broken")
    write_skill(
        shared, "deploy", "name: deploy\ndescription: d\nrequires:\n  env: SKILL_TEST_TOKEN"
    )
    write_skill(shared, "gamma", "name: gamma\ndescription: d")
    return agent


def skills_list(*args: str) -> str:
    out = io.StringIO()
    call_command("skills", "list", *args, stdout=out)
    return out.getvalue()


def test_skills_list_shows_each_skill_and_why_one_is_unavailable(agent: Agent) -> None:
    lines = skills_list("--agent", "main").splitlines()
    assert lines[0].startswith("Shared skills: ")
    assert lines[1] == ""
    assert lines[2].startswith("Agent main (workspace skills: ")
    rows = [line.split(None, 3) for line in lines[4:]]
    assert [row[:3] for row in rows] == [
        ["alpha", "workspace", "available"],
        ["broken", "workspace", "malformed"],
        ["deploy", "shared", "unavailable"],
        ["gamma", "shared", "denied"],
    ]
    assert "description is missing" in lines[5]
    assert "needs environment variable SKILL_TEST_TOKEN" in lines[6]
    assert "in the agent's skills deny list" in lines[7]


def test_skills_list_json_and_an_unknown_agent(agent: Agent) -> None:
    data = json.loads(skills_list("--json"))
    assert [row["name"] for row in data["main"]] == ["alpha", "broken", "deploy", "gamma"]
    assert data["main"][0]["path"] == "skills/alpha/SKILL.md"
    with pytest.raises(CommandError, match="No agent 'nobody'"):
        skills_list("--agent", "nobody")


def test_the_agent_page_lists_its_skills_escaped(admin_client: Client, agent: Agent) -> None:
    page = admin_client.get(reverse("admin:agents_agent_change", args=[agent.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "<td>alpha</td><td>workspace</td><td>available</td>" in html
    assert "Mine &amp; &lt;b&gt;bold&lt;/b&gt;." in html
    assert "needs environment variable SKILL_TEST_TOKEN" in html
    assert "description is missing" in html
    add = admin_client.get(reverse("admin:agents_agent_add"))
    assert "Shown once the agent is saved." in add.content.decode()
