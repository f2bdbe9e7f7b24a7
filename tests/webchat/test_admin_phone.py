"""The admin pages an operator checks from a phone (dashboard, sessions, a transcript with a
long file path and a code block, the memory editor) fit a 390 px screen: no sideways scroll."""

import subprocess
import sys

import pytest
from playwright.sync_api import Browser

from tests.admin.test_admin_gateway import PASSWORD, _create_admin
from tests.conftest import GatewayFactory
from tests.fakes.openai_server import FakeOpenAI, Text
from tests.gateway_process import ROOT
from tests.webchat.conftest import ARTIFACTS

pytestmark = [pytest.mark.e2e]


def test_admin_pages_fit_a_phone(
    gateway_factory: GatewayFactory, fake_openai: FakeOpenAI, browser: Browser
) -> None:
    gateway = gateway_factory(start=False)
    _create_admin(gateway)
    gateway.start()
    fake_openai.script(Text("Here:\n\n```python\nprint('a fairly long line of code here')\n```\n"))
    subprocess.run(
        [sys.executable, "manage.py", "chat", "--url", gateway.ws_url(), "--message", "code?"],
        cwd=ROOT,
        env=gateway.env,
        check=True,
        timeout=60,
        capture_output=True,
    )
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    page.goto(f"{gateway.url}/admin/login/")
    page.fill("#id_username", "root")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{gateway.url}/admin/")
    pages = {
        "dashboard": "/admin/",
        "sessions": "/admin/agents/session/",
        "transcript": "/admin/agents/session/1/transcript/?page=last",
        "memory": "/admin/memory/workingmemory/",
    }
    for name, path in pages.items():
        page.goto(gateway.url + path)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"{name}: {width} px wide"
    page.goto(gateway.url + pages["transcript"])
    assert page.locator("pre").first.is_visible()
    page.screenshot(path=str(ARTIFACTS / "admin-phone-transcript.png"), full_page=True)
    context.close()
