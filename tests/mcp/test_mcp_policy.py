"""Which MCP tools a turn may use (`agents.mcp.policy`, pure), and the call-time check the tool
runner asks of them (`agents.tools.policy.permitted` with a `Guarded` tool)."""

import dataclasses
from pathlib import Path

import pytest

from agents.mcp.config import ServerConfig
from agents.mcp.connection import ServerConnection
from agents.mcp.policy import mcp_allowed, named
from agents.mcp.tools import MCPTool
from agents.services import AgentConfig
from agents.tools.policy import permitted
from agents.trust import Trust
from tests.agents.tool_context import make_ctx

AGENT = make_ctx(Path("unused")).agent  # no file is touched


def agent(**fields: object) -> AgentConfig:
    return dataclasses.replace(AGENT, **fields)  # type: ignore[arg-type]  # AgentConfig fields


def server(*, allow_in_groups: bool = False, allow_paired: bool = False) -> ServerConfig:
    return ServerConfig(
        name="fake",
        transport="stdio",
        command="x",
        allow_in_groups=allow_in_groups,
        allow_paired=allow_paired,
    )


@pytest.mark.parametrize(
    ("fields", "flags", "trust", "tool", "expected"),
    [
        # The owner: the full profile offers every MCP tool; the narrower profiles none.
        ({}, {}, "owner", "fake__echo", True),
        ({"tool_profile": "minimal"}, {}, "owner", "fake__echo", False),
        ({"tool_profile": "messaging"}, {}, "owner", "fake__echo", False),
        ({"tool_profile": "bogus"}, {}, "owner", "fake__echo", False),
        # An allow list replaces the profile: a tool by name, or a whole server.
        ({"tool_profile": "minimal", "tools_allow": ("fake__*",)}, {}, "owner", "fake__add", True),
        ({"tools_allow": ("fake__echo",)}, {}, "owner", "fake__echo", True),
        ({"tools_allow": ("fake__echo",)}, {}, "owner", "fake__add", False),
        ({"tools_allow": ("read_file",)}, {}, "owner", "fake__echo", False),
        ({"tools_allow": ("fakeother__*",)}, {}, "owner", "fake__echo", False),
        # Deny wins.
        ({"tools_deny": ("fake__*",)}, {}, "owner", "fake__echo", False),
        ({"tools_deny": ("fake__add",)}, {}, "owner", "fake__echo", True),
        # Strangers and groups: only when the server allows them, and still under the lists.
        ({}, {}, "paired", "fake__echo", False),
        ({}, {"allow_paired": True}, "paired", "fake__echo", True),
        ({}, {"allow_in_groups": True}, "paired", "fake__echo", False),
        ({}, {}, "group", "fake__echo", False),
        ({"group_tools": ("fake__echo",)}, {}, "group", "fake__echo", False),
        ({}, {"allow_in_groups": True}, "group", "fake__echo", True),
        ({"tools_deny": ("fake__echo",)}, {"allow_in_groups": True}, "group", "fake__echo", False),
        ({}, {"allow_in_groups": True, "allow_paired": True}, "stranger", "fake__echo", False),
    ],
)
def test_mcp_allowed(
    fields: dict[str, object], flags: dict[str, bool], trust: Trust, tool: str, expected: bool
) -> None:
    assert mcp_allowed(tool, server(**flags), agent(**fields), trust) is expected


def test_a_wildcard_names_its_own_server_only() -> None:
    assert named("fake__echo", ["fake__*"])
    assert not named("fake__echo", ["fak__*", "*", "fake_*", "fake__ech"])


def test_the_tool_runner_asks_the_mcp_tool_for_a_group_turn(tmp_path: Path) -> None:
    tool = MCPTool("fake__echo", "", {"type": "object"}, "echo", ServerConnection(server()))
    owner = make_ctx(tmp_path)
    group = dataclasses.replace(
        owner, session=dataclasses.replace(owner.session, key="agent:main:tg:group:1")
    )
    assert permitted("fake__echo", owner, tool)
    assert not permitted("fake__echo", group, tool)
    allowed = MCPTool("fake__echo", "", {}, "echo", ServerConnection(server(allow_in_groups=True)))
    assert permitted("fake__echo", group, allowed)
    # Built-in tools keep their own rule (group: only what group_tools lists).
    assert not permitted("read_file", group)
