"""Argument checking and output capping shared by the tool families."""

from typing import Any

from agents.tools.base import ToolError


def str_arg(args: dict[str, Any], name: str, *, required: bool = True, default: str = "") -> str:
    """A string argument; ToolError if it is required and missing, or not a string."""
    value = args.get(name)
    if value is None:
        if required:
            raise ToolError(f"Missing required argument {name!r}.")
        return default
    if not isinstance(value, str):
        raise ToolError(f"Argument {name!r} must be a string.")
    return value


def int_arg(args: dict[str, Any], name: str, default: int, *, low: int, high: int) -> int:
    """An integer argument (digit strings accepted), clamped to [low, high]."""
    value = args.get(name)
    if value is None:
        return default
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ToolError(f"Argument {name!r} must be an integer.")
    return max(low, min(high, value))


def cap_text(text: str, limit: int, hint: str = "") -> str:
    """`text` cut to `limit` characters, with a visible notice when it was cut."""
    if len(text) <= limit:
        return text
    more = f"; {hint}" if hint else ""
    return f"{text[:limit]}\n[truncated: showing {limit} of {len(text)} characters{more}]"
