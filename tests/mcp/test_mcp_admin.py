"""MCP servers in the admin: the pages render, a server is added through the form, and bad
input (a name that cannot prefix tools, a gateway variable outside MCP_, a transport without
its command or URL) is refused with a clear error, nothing saved."""

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.test import Client, RequestFactory
from django.urls import reverse

from agents.mcp.config import ServerConfig, servers_for_agent
from agents.mcp.models import MCPServer
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


def _form(**fields: str) -> dict[str, str]:
    base = {
        "name": "notes",
        "enabled": "on",
        "transport": "stdio",
        "command": "/usr/bin/python3",
        "args": '["-m", "notes"]',
        "env": '{"NOTES_TOKEN": "MCP_NOTES_TOKEN"}',
        "url": "",
        "headers": "{}",
        "timeout": "30",
    }
    return base | fields


def test_a_server_is_added_in_the_admin_and_used_by_its_agent(admin_client: Client) -> None:
    agent = ensure_default_agent()
    add = reverse("admin:mcp_mcpserver_add")
    assert admin_client.get(add).status_code == 200
    response = admin_client.post(add, _form(agents=str(agent.pk)))
    assert response.status_code == 302, response.content.decode()[:2000]
    server = MCPServer.objects.get(name="notes")
    assert admin_client.get(reverse("admin:mcp_mcpserver_changelist")).status_code == 200
    change = reverse("admin:mcp_mcpserver_change", args=[server.pk])
    assert admin_client.get(change).status_code == 200
    [config] = servers_for_agent(agent.slug)
    assert config.env == (("NOTES_TOKEN", "MCP_NOTES_TOKEN"),)
    assert config.missing == ("MCP_NOTES_TOKEN",)  # not set in this environment


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"name": "Notes"}, "name", "Lower-case letters"),
        ({"name": "my__notes"}, "name", "no '__'"),
        ({"name": "x" * 25}, "name", "at most 24"),
        ({"env": '{"NOTES_TOKEN": "OPENAI_API_KEY"}'}, "env", "starting with MCP_"),
        ({"env": '["MCP_NOTES_TOKEN"]'}, "env", "An object mapping"),
        ({"args": '"-m notes"'}, "args", "A list of strings"),
        ({"command": ""}, "command", "needs a command"),
        ({"transport": "http", "url": ""}, "url", "needs a URL"),
        ({"transport": "http", "url": "http://x/mcp", "headers": '{"Bad Header": "MCP_A"}'},
         "headers", "An object mapping"),
        ({"timeout": "0.5"}, "timeout", "greater than or equal to 1"),
    ],
)  # fmt: skip
def test_bad_input_is_refused_and_nothing_is_saved(
    admin_client: Client, fields: dict[str, str], field: str, message: str
) -> None:
    response = admin_client.post(reverse("admin:mcp_mcpserver_add"), _form(**fields))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert message in " ".join(errors[field])
    assert not MCPServer.objects.exists()


def test_model_validation_outside_the_admin() -> None:
    server = MCPServer(name="web", transport="http", url="")
    with pytest.raises(ValidationError, match="needs a URL"):
        server.full_clean()
    assert ServerConfig.from_model(MCPServer(name="x", command="run")).target == "run"
