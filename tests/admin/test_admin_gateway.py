"""End to end: the admin served by a real `manage.py gateway` shows the running gateway on its
dashboard and a real turn (with a tool call) in the transcript viewer."""

import asyncio
import http.cookiejar
import re
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request

import pytest

from tests.conftest import GatewayFactory
from tests.fakes.openai_server import FakeOpenAI, Text, ToolCall, ToolCalls
from tests.gateway_process import ROOT, Gateway
from tests.wsclient import ProtocolClient

pytestmark = pytest.mark.e2e

PASSWORD = "admin-e2e-password"


class Browser:
    """A cookie-keeping HTTP client that logs into the admin like a person does."""

    def __init__(self, gateway: Gateway) -> None:
        self.base = gateway.url
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )

    def get(self, path: str) -> str:
        with self.opener.open(self.base + path, timeout=10) as response:
            return str(response.read().decode())

    def login(self, username: str, password: str) -> None:
        form = self.get("/admin/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form)
        assert token, form
        data = urllib.parse.urlencode(
            {
                "username": username,
                "password": password,
                "csrfmiddlewaretoken": token.group(1),
                "next": "/admin/",
            }
        ).encode()
        with self.opener.open(self.base + "/admin/login/", data, timeout=10) as response:
            assert response.url.endswith("/admin/"), response.url


def _create_admin(gateway: Gateway) -> None:
    subprocess.run(
        [
            sys.executable,
            "manage.py",
            "createsuperuser",
            "--noinput",
            "--username",
            "root",
            "--email",
            "root@example.com",
        ],
        cwd=ROOT,
        env={**gateway.env, "DJANGO_SUPERUSER_PASSWORD": PASSWORD},
        check=True,
        timeout=60,
        capture_output=True,
    )


async def test_dashboard_and_transcript_of_a_real_turn(
    gateway_factory: GatewayFactory, fake_openai: FakeOpenAI
) -> None:
    gateway = gateway_factory(start=False)
    _create_admin(gateway)
    gateway.start()
    fake_openai.script(
        ToolCalls(ToolCall("list_dir", "{}")), Text("Your workspace has a **SOUL.md**.")
    )
    async with gateway.connect() as ws:
        end, _ = await ProtocolClient(ws).chat("what is in my workspace? <script>x</script>")
    assert end["event"] == "chat.final"

    browser = Browser(gateway)
    await asyncio.to_thread(browser.login, "root", PASSWORD)
    dashboard = await asyncio.to_thread(browser.get, "/admin/")
    assert "Gateway running in this process" in dashboard
    sessions_today = re.search(r'id="dash-sessions-today">(\d+)<', dashboard)
    assert sessions_today and sessions_today.group(1) == "1"
    tokens_today = re.search(r'id="dash-tokens-today"><span class="figure">([\d,]+)<', dashboard)
    assert tokens_today and int(tokens_today.group(1).replace(",", "")) > 0

    listing = await asyncio.to_thread(browser.get, "/admin/agents/session/")
    link = re.search(r'href="(/admin/agents/session/\d+/transcript/\?page=last)"', listing)
    assert link, listing
    transcript = await asyncio.to_thread(browser.get, link.group(1))
    assert "Tool list_dir" in transcript
    assert re.search(r"<details>\s*<summary><span class=\"who\">Tool list_dir", transcript)
    assert "SOUL.md" in transcript.split("Tool list_dir", 1)[1]  # the listing, folded
    assert "Your workspace has a <strong>SOUL.md</strong>." in transcript
    assert "&lt;script&gt;x&lt;/script&gt;" in transcript and "<script>x" not in transcript
    assert re.search(r"Turn 1\s*<span class=\"usage\">· in [\d,]+", transcript)


def test_the_gateway_keeps_logging_after_the_admin_lists_celery_tasks(
    gateway_factory: GatewayFactory,
) -> None:
    """django-celery-beat's task form makes Celery run django.setup() again inside the running
    gateway, which sets logging up anew: records must still reach the gateway's stderr."""
    gateway = gateway_factory(start=False)
    _create_admin(gateway)
    gateway.start()
    browser = Browser(gateway)
    browser.login("root", PASSWORD)
    assert "Task (registered)" in browser.get("/admin/django_celery_beat/periodictask/add/")
    with pytest.raises(urllib.error.HTTPError) as refused:  # no token: logged as a warning
        urllib.request.urlopen(gateway.url + "/metrics", timeout=10)  # our gateway
    assert refused.value.code == 401
    assert gateway.terminate() == 0
    log = gateway.output()
    assert "Unauthorized: /metrics" in log
    assert "Gateway runtime stopped" in log
