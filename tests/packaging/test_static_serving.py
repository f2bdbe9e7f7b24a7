"""Static files not collected yet (tests, a checkout started without `make run`) are served
from their app's folder through WhiteNoise's responses: validators, conditional requests,
HEAD, ranges, and only GET and HEAD (the collected, hashed case: tests/packaging/test_wheel.py)."""

from typing import Any

import pytest
from channels.testing import ApplicationCommunicator

from openclaw.asgi import build_application

pytestmark = [pytest.mark.django_db]


async def request(
    path: str, method: str = "GET", **headers: str
) -> tuple[int, dict[bytes, bytes], bytes]:
    scope: dict[str, Any] = {
        "type": "http",
        "http_version": "1.1",
        "method": method,
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(b"host", b"localhost")]
        + [(k.replace("_", "-").lower().encode(), v.encode()) for k, v in headers.items()],
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
    return start["status"], {k.lower(): v for k, v in start["headers"]}, body


async def test_uncollected_file_has_validators_and_a_short_cache() -> None:
    status, headers, body = await request("/static/gateway/chat.js")
    assert status == 200 and body
    assert headers[b"cache-control"] == b"max-age=60, public"
    assert int(headers[b"content-length"]) == len(body)
    status, _, empty = await request(
        "/static/gateway/chat.js", If_None_Match=headers[b"etag"].decode()
    )
    assert (status, empty) == (304, b"")


async def test_head_range_and_other_methods() -> None:
    _, full_headers, full = await request("/static/gateway/chat.js")
    status, headers, body = await request("/static/gateway/chat.js", method="HEAD")
    assert (status, body) == (200, b"") and headers[b"content-length"] == full_headers[
        b"content-length"
    ]
    status, headers, body = await request("/static/gateway/chat.js", Range="bytes=0-9")
    assert (status, body) == (206, full[:10])
    assert headers[b"content-range"] == f"bytes 0-9/{len(full)}".encode()
    status, headers, _ = await request("/static/gateway/chat.js", method="POST")
    assert status == 405 and headers[b"allow"] == b"GET, HEAD"


async def test_a_file_larger_than_one_chunk_arrives_whole() -> None:
    status, headers, body = await request("/static/admin/js/vendor/jquery/jquery.js")
    assert status == 200 and len(body) == int(headers[b"content-length"]) > 256 * 1024
