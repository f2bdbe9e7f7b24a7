"""web_fetch reads public pages as text and refuses private, local and metadata addresses."""

import asyncio
import ipaddress
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from pytest_django.fixtures import Settings

from agents.tools.base import ToolContext, ToolError
from agents.tools.readable import html_to_text
from agents.tools.web import WebFetchTool, is_public_address
from tests.agents.tool_context import make_ctx

PAGE = """<!doctype html><html><head><title>Test  page</title>
<style>body { color: red }</style><script>alert("owned")</script></head>
<body><nav><a href="/">Home</a> | <a href="/about">About</a></nav>
<h1>Main heading</h1><p>First   paragraph with <a href="/x">a link</a>.</p>
<ul><li>one</li><li>two</li></ul><pre>  indented
    code</pre><noscript>enable js</noscript></body></html>"""


async def _page(request: web.Request) -> web.Response:
    return web.Response(text=PAGE, content_type="text/html")


async def _plain(request: web.Request) -> web.Response:
    return web.Response(text=f"host={request.host}", content_type="text/plain")


async def _missing(request: web.Request) -> web.Response:
    return web.Response(status=404, text="no such page")


async def _png(request: web.Request) -> web.Response:
    return web.Response(body=b"\x89PNG\r\n\x1a\n\x00\x00", content_type="image/png")


async def _big(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "text/plain"})
    await response.prepare(request)
    for _ in range(200):  # 6.4 MB offered; the client must stop long before
        await response.write(b"y" * 32_768)
    return response


async def _trickle(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "text/plain"})
    await response.prepare(request)
    for _ in range(600):  # a minute of one byte every 0.1 s, unless the client leaves
        await response.write(b".")
        await asyncio.sleep(0.1)
    return response


def _redirect(location: str) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handler(request: web.Request) -> web.Response:
        raise web.HTTPFound(location)

    return handler


@pytest.fixture
async def server() -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_get("/page", _page)
    app.router.add_get("/plain", _plain)
    app.router.add_get("/png", _png)
    app.router.add_get("/big", _big)
    app.router.add_get("/trickle", _trickle)
    app.router.add_get("/missing", _missing)
    for path, target in {
        "/to-page": "/page",
        "/to-metadata": "http://169.254.169.254/latest/meta-data/",
        "/to-private": "http://10.1.2.3/",
        "/to-file": "file:///etc/passwd",
        "/loop": "/loop",
    }.items():
        app.router.add_get(path, _redirect(target))
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


@pytest.fixture
def ctx(tmp_path: Path) -> ToolContext:
    return make_ctx(tmp_path)


@pytest.fixture
def allow_local(settings: Settings) -> None:
    settings.OPENCLAW_WEB_FETCH_ALLOW_HOSTS = ["127.0.0.1"]


async def _fetch(ctx: ToolContext, url: str, **args: object) -> str:
    return await WebFetchTool().run({"url": url, **args}, ctx)


@pytest.mark.usefixtures("allow_local")
async def test_html_becomes_readable_text_marked_untrusted(server: str, ctx: ToolContext) -> None:
    out = await _fetch(ctx, f"{server}/page")
    first, *rest = out.splitlines()
    assert first.startswith("[Untrusted external content from http://127.0.0.1:")
    body = "\n".join(rest)
    assert "Title: Test page" in body
    assert "# Main heading" in body
    assert "First paragraph with a link." in body
    assert "- one\n- two" in body
    assert "  indented\n    code" in body
    for hidden in ("alert", "color: red", "About", "enable js"):
        assert hidden not in body


@pytest.mark.usefixtures("allow_local")
async def test_redirects_are_followed(server: str, ctx: ToolContext) -> None:
    out = await _fetch(ctx, f"{server}/to-page")
    assert out.startswith(f"[Untrusted external content from {server}/page:")
    assert "Main heading" in out


@pytest.mark.usefixtures("allow_local")
async def test_plain_text_is_returned_as_is_with_the_original_host_header(
    server: str, ctx: ToolContext
) -> None:
    out = await _fetch(ctx, f"{server}/plain")
    assert out.splitlines()[1] == f"host={server.removeprefix('http://')}"


async def test_a_named_host_is_pinned_to_its_vetted_address_with_its_host_header(
    server: str, ctx: ToolContext, settings: Settings
) -> None:
    settings.OPENCLAW_WEB_FETCH_ALLOW_HOSTS = ["localhost"]
    url = server.replace("127.0.0.1", "localhost")
    out = await _fetch(ctx, f"{url}/plain")
    assert out.splitlines()[1] == f"host={url.removeprefix('http://')}"


def _fake_dns(monkeypatch: pytest.MonkeyPatch, answers: dict[str, list[str]]) -> None:
    """Answer for made-up host names on this test's loop (the system resolver knows none)."""
    loop = asyncio.get_running_loop()
    real = loop.getaddrinfo

    async def getaddrinfo(host: str, port: int, **kwargs: Any) -> list[Any]:
        if host not in answers:
            return await real(host, port, **kwargs)
        return [
            (
                socket.AF_INET6 if ":" in ip else socket.AF_INET,
                socket.SOCK_STREAM,
                6,
                "",
                (ip, port),
            )
            for ip in answers[host]
        ]

    monkeypatch.setattr(loop, "getaddrinfo", getaddrinfo)


async def test_the_connection_goes_to_the_vetted_address_not_a_new_lookup(
    server: str, ctx: ToolContext, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Only the vetting lookup knows rebind.test: success means the client never resolved it again.
    _fake_dns(monkeypatch, {"rebind.test": ["127.0.0.1"]})
    settings.OPENCLAW_WEB_FETCH_ALLOW_HOSTS = ["rebind.test"]
    url = server.replace("127.0.0.1", "rebind.test")
    out = await _fetch(ctx, f"{url}/plain")
    assert out.splitlines()[1] == f"host={url.removeprefix('http://')}"


async def test_a_name_with_any_private_address_is_refused(
    ctx: ToolContext, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_dns(monkeypatch, {"mixed.test": ["93.184.216.34", "10.0.0.5"]})
    settings.OPENCLAW_WEB_FETCH_ALLOW_HOSTS = []
    with pytest.raises(ToolError, match=r"mixed\.test resolves to 10\.0\.0\.5"):
        await _fetch(ctx, "http://mixed.test/")


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://localhost/",
        "http://[::1]/",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/",
        "http://192.168.1.1/",
        "http://100.64.0.1/",
        "http://0.0.0.0/",
        "http://[::ffff:127.0.0.1]/",
        "http://[fd00:ec2::254]/",
        "http://2130706433/",  # 127.0.0.1 as one number
        "http://0x7f.1/",
        "file:///etc/passwd",
        "ftp://example.com/",
        "gopher://127.0.0.1:70/",
        "http://user:pw@example.com/",
        "not a url",
    ],
)
async def test_private_local_and_non_http_urls_are_refused(
    url: str, ctx: ToolContext, settings: Settings
) -> None:
    settings.OPENCLAW_WEB_FETCH_ALLOW_HOSTS = []
    with pytest.raises(ToolError, match="Refused"):
        await _fetch(ctx, url)


@pytest.mark.usefixtures("allow_local")
@pytest.mark.parametrize("path", ["/to-metadata", "/to-private", "/to-file"])
async def test_a_redirect_to_a_private_address_is_refused_at_the_hop(
    server: str, ctx: ToolContext, path: str
) -> None:
    with pytest.raises(ToolError, match="Refused"):
        await _fetch(ctx, f"{server}{path}")


@pytest.mark.usefixtures("allow_local")
async def test_redirect_loops_stop_after_five_hops(server: str, ctx: ToolContext) -> None:
    with pytest.raises(ToolError, match="more than 5 redirects"):
        await _fetch(ctx, f"{server}/loop")


@pytest.mark.usefixtures("allow_local")
async def test_binary_content_and_http_errors_are_refused(server: str, ctx: ToolContext) -> None:
    with pytest.raises(ToolError, match="image/png"):
        await _fetch(ctx, f"{server}/png")
    with pytest.raises(ToolError, match="HTTP 404"):
        await _fetch(ctx, f"{server}/missing")


@pytest.mark.usefixtures("allow_local")
async def test_download_stops_at_the_size_cap_and_output_at_max_chars(
    server: str, ctx: ToolContext, settings: Settings
) -> None:
    settings.OPENCLAW_WEB_FETCH_MAX_BYTES = 100_000
    out = await _fetch(ctx, f"{server}/big", max_chars=1000)
    assert "[download stopped after 100000 bytes" in out
    assert "[truncated: showing 1000 of 100000 characters" in out
    assert len(out) < 1400


@pytest.mark.usefixtures("allow_local")
async def test_a_server_that_trickles_for_ever_times_out(
    server: str, ctx: ToolContext, settings: Settings
) -> None:
    settings.OPENCLAW_WEB_FETCH_TIMEOUT = 1.0
    started = time.monotonic()
    with pytest.raises(ToolError, match="Timed out after 1 s"):
        await _fetch(ctx, f"{server}/trickle")
    assert time.monotonic() - started < 3


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("93.184.216.34", True),
        ("2606:4700::1111", True),
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.0.1", False),
        ("100.64.0.1", False),
        ("169.254.169.254", False),
        ("224.0.0.1", False),
        ("0.0.0.0", False),
        ("::1", False),
        ("::", False),
        ("fe80::1", False),
        ("fc00::1", False),
        ("fd00:ec2::254", False),
        ("ff02::1", False),
        ("::ffff:10.0.0.1", False),
        ("::ffff:169.254.169.254", False),
        ("2002:7f00:1::", False),  # 6to4 wrapping 127.0.0.1
    ],
)
def test_is_public_address(address: str, public: bool) -> None:
    assert is_public_address(ipaddress.ip_address(address)) is public


def test_html_to_text_drops_scripts_and_keeps_structure() -> None:
    assert html_to_text("<p>a <b>b</b></p><script>x()</script><p>c</p>") == "a b\n\nc"
    assert html_to_text("<ol><li></li><li>x</li></ol>") == "- x"
