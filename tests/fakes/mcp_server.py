"""A real MCP server for tests, written with the official SDK (`mcp.server.mcpserver.MCPServer`).

Run it over stdio (what the gateway spawns): ``python tests/fakes/mcp_server.py stdio``, or over
streamable HTTP on 127.0.0.1: ``python tests/fakes/mcp_server.py http --port N [--token T]``
(with a token, every request must carry ``Authorization: Bearer T``, else 401).

Five tools:

* ``echo(text)`` -- ``"echo: <text>"``
* ``add(a, b)`` -- the sum
* ``slow(seconds)`` -- sleeps, then ``"slept <seconds>"``
* ``crash()`` -- the process exits at once, mid-call (no answer ever comes)
* ``info(name="")`` -- JSON: this process's pid and the value of environment variable ``name``

With ``--grow``, a sixth: ``grow()`` adds a tool ``grown`` and sends
``notifications/tools/list_changed``.
"""

import argparse
import asyncio
import json
import os
import sys
from typing import Any

from mcp.server.mcpserver import Context, MCPServer

server = MCPServer("fake-tools")


@server.tool()
def echo(text: str) -> str:
    """Repeat the text."""
    return f"echo: {text}"


@server.tool()
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@server.tool()
async def slow(seconds: float) -> str:
    """Sleep for a while, then answer."""
    await asyncio.sleep(seconds)
    return f"slept {seconds:g}"


@server.tool()
def crash() -> str:
    """Exit the server process mid-call."""
    sys.stdout.flush()
    os._exit(3)


@server.tool()
def info(name: str = "") -> str:
    """This server's process id and one environment variable."""
    return json.dumps({"pid": os.getpid(), "value": os.environ.get(name) if name else None})


async def grow(ctx: Context) -> str:
    """Add a tool, and tell the client its tool list changed."""

    def grown() -> str:
        """A tool that was not there at first."""
        return "grown"

    server.add_tool(grown)
    await ctx.session.send_tool_list_changed()
    return "grew"


def _guarded(app: Any, token: str) -> Any:
    """The app behind a bearer-token check (what a header passed from the gateway must carry)."""

    async def guarded(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            headers = dict(scope.get("headers") or [])
            if headers.get(b"authorization", b"").decode() != f"Bearer {token}":
                await send({"type": "http.response.start", "status": 401, "headers": []})
                await send({"type": "http.response.body", "body": b"unauthorized"})
                return
        await app(scope, receive, send)

    return guarded


def _serve_http(port: int, token: str) -> None:
    import uvicorn

    app = server.streamable_http_app()
    if token:
        app = _guarded(app, token)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("transport", choices=["stdio", "http"])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--token", default="")
    parser.add_argument("--grow", action="store_true")
    args = parser.parse_args()
    if args.grow:
        server.add_tool(grow)
    if args.transport == "stdio":
        server.run("stdio")
    else:
        _serve_http(args.port, args.token)


if __name__ == "__main__":
    main()
