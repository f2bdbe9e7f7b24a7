"""The built-in tools, and the names an agent gets when its policy does not say otherwise."""

from typing import Final

from agents.tools.base import Tool
from agents.tools.files import EditFileTool, ListDirTool, ReadFileTool, WriteFileTool
from agents.tools.sessions import SessionsHistoryTool, SessionsListTool
from agents.tools.shell import ExecTool
from agents.tools.web import WebFetchTool

# exec is left out: it is enabled per agent.
DEFAULT_TOOL_NAMES: Final = (
    "read_file",
    "write_file",
    "edit_file",
    "list_dir",
    "web_fetch",
    "sessions_list",
    "sessions_history",
)


def builtin_tools() -> list[Tool]:
    """Fresh instances of every built-in tool, exec included (policy selects from them)."""
    return [
        ReadFileTool(),
        WriteFileTool(),
        EditFileTool(),
        ListDirTool(),
        WebFetchTool(),
        SessionsListTool(),
        SessionsHistoryTool(),
        ExecTool(),
    ]
