"""The built-in tools: one fresh instance of each, for the catalog to select from."""

from agents.tools.base import Tool
from agents.tools.files import EditFileTool, ListDirTool, ReadFileTool, WriteFileTool
from agents.tools.sessions import SessionsHistoryTool, SessionsListTool
from agents.tools.shell import ExecTool
from agents.tools.web import WebFetchTool


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
