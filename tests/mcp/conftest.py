"""The fake MCP server (tests/fakes/mcp_server.py) as stdio configs and as a running HTTP server."""

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from agents.mcp.config import ServerConfig
from tests.gateway_process import free_port

FAKE = str(Path(__file__).resolve().parent.parent / "fakes" / "mcp_server.py")
HTTP_TOKEN = "mcp-http-token-5521"


def stdio_config(
    name: str = "fake",
    timeout: float = 5.0,
    args: tuple[str, ...] = (FAKE, "stdio"),
    **fields: object,
) -> ServerConfig:
    return ServerConfig(
        name=name,
        transport="stdio",
        command=sys.executable,
        args=args,
        timeout=timeout,
        **fields,  # type: ignore[arg-type]  # the remaining ServerConfig fields
    )


@dataclass
class HttpServer:
    url: str
    proc: subprocess.Popen[bytes]


def start_http(port: int, token: str = HTTP_TOKEN) -> "subprocess.Popen[bytes]":
    """The fake over streamable HTTP on 127.0.0.1:`port`, requiring `Bearer <token>` if any."""
    proc = subprocess.Popen(
        [sys.executable, FAKE, "http", "--port", str(port), "--token", token],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return proc
        time.sleep(0.05)
    proc.kill()
    raise AssertionError("the fake MCP HTTP server did not start")


@pytest.fixture(scope="module")
def http_server() -> Iterator[HttpServer]:
    """The fake over streamable HTTP on 127.0.0.1, requiring `Bearer HTTP_TOKEN`."""
    port = free_port()
    proc = start_http(port)
    try:
        yield HttpServer(f"http://127.0.0.1:{port}/mcp", proc)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
