"""The gateway serves the web chat's static files itself (Daphne serves none): the page's
scripts, versioned so a browser never mixes an old script with a new page, and the admin CSS."""

import re
from urllib.parse import unquote

import pytest
from channels.testing import ApplicationCommunicator

from openclaw.asgi import build_application

pytestmark = [pytest.mark.django_db]


async def get(path: str) -> tuple[int, dict[bytes, bytes], bytes]:
    """One GET through the gateway's ASGI application (all body chunks, even empty ones)."""
    scope = {
        "type": "http",
        "http_version": "1.1",
        "method": "GET",
        "path": unquote(path),
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(b"host", b"localhost")],
    }
    app = ApplicationCommunicator(build_application(), scope)
    await app.send_input({"type": "http.request", "body": b""})
    start = await app.receive_output(10)
    body = b""
    while True:
        chunk = await app.receive_output(10)
        body += chunk.get("body", b"")
        if not chunk.get("more_body", False):
            break
    return start["status"], dict(start.get("headers", [])), body


async def test_page_links_versioned_scripts_that_the_gateway_serves() -> None:
    status, _, page = await get("/")
    assert status == 200
    links = re.findall(rb'(?:src|href)="(/static/gateway/[\w.]+)\?v=([0-9a-f]{12})"', page)
    assert sorted(name for name, _ in links) == [
        b"/static/gateway/attach.js",
        b"/static/gateway/chat.css",
        b"/static/gateway/chat.js",
        b"/static/gateway/markdown.js",
    ]
    for name, _ in links:
        status, headers, body = await get(name.decode())
        assert status == 200 and body
        assert headers[b"Content-Type"].split(b";")[0] in (b"text/javascript", b"text/css")


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/static/admin/css/base.css", 200),
        ("/static/gateway/nope.js", 404),
        ("/static/../openclaw/settings.py", 404),
        ("/static/%2e%2e/%2e%2e/openclaw/settings.py", 404),
    ],
)
async def test_static_paths(path: str, status: int) -> None:
    assert (await get(path))[0] == status
