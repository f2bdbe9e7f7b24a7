"""Provenance in the web chat, in headless Chromium against a real gateway: a message no person
typed in a session (another session's `sessions_send`, a scheduled reminder) is shown with its
origin, never as the reader's own words ("You")."""

import json
import time

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.conftest import GatewayFactory
from tests.fakes.openai_server import FakeOpenAI, Text, ToolCall, ToolCalls
from tests.gateway_process import TOKEN, Gateway, manage
from tests.webchat.conftest import ARTIFACTS

pytestmark = [pytest.mark.e2e]

WAIT_MS = 15_000
NOTES, REMINDERS = "agent:main:notes", "agent:main:reminders"
SENT = "remember the oat milk"
REMINDER = "water the basil"


def asked_in(model: FakeOpenAI, session: str) -> bool:
    """Whether a model call was made for a turn of `session` (its key is in the prompt)."""
    return any(f"Session: {session}." in json.dumps(r.body) for r in model.requests)


def wait_until(condition: object, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]  # a callable
        assert time.monotonic() < deadline, "not in time"
        time.sleep(0.1)


def open_session(page: Page, gateway: Gateway, session: str) -> None:
    page.goto(f"{gateway.url}/?session={session}")
    expect(page.locator("#status")).to_have_attribute("data-state", "connected", timeout=WAIT_MS)


def test_injected_messages_show_their_origin_never_you(
    gateway_factory: GatewayFactory, fake_openai: FakeOpenAI, browser: Browser
) -> None:
    # A reminder due as the gateway starts: a turn in its session that no person typed.
    code = (
        "from datetime import timedelta\n"
        "from django.utils import timezone\n"
        "from agents.scheduled_jobs import create_job\n"
        "create_job(agent_slug='main', kind='at', spec=(timezone.now() + timedelta(seconds=1))"
        f".isoformat(), text={REMINDER!r}, session_key={REMINDERS!r}, channel='web')\n"
    )
    manage(gateway_factory.home, {}, "shell", "-c", code)
    time.sleep(1.2)
    gateway = gateway_factory(start=True)
    wait_until(lambda: asked_in(fake_openai, REMINDERS))

    # The owner asks, in the main session, for a note in another session: sessions_send.
    send = ToolCall("sessions_send", json.dumps({"session": NOTES, "text": SENT}))
    fake_openai.script(ToolCalls([send]), Text("Sent it to your notes."))
    page = browser.new_context(viewport={"width": 1100, "height": 800}).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(gateway.url + "/")
    page.locator("#token-input").fill(TOKEN)
    page.locator("#token-form button[type=submit]").click()
    expect(page.locator("#status")).to_have_attribute("data-state", "connected", timeout=WAIT_MS)
    page.locator("#input").fill("put the milk in my notes")
    page.locator("#input").press("Enter")
    expect(page.locator(".msg.assistant").last).to_contain_text("Sent it", timeout=WAIT_MS)
    mine = page.locator(".msg.user").last
    expect(mine).to_have_text("You: put the milk in my notes")  # the reader's own words
    wait_until(lambda: asked_in(fake_openai, NOTES))

    open_session(page, gateway, NOTES)
    injected = page.locator(".msg.user", has_text=SENT)
    expect(injected).to_have_count(1, timeout=WAIT_MS)
    expect(injected).to_have_class("msg user injected")
    expect(injected.locator(".origin")).to_have_text("From sessions_send from agent:main:main: ")
    expect(injected).not_to_contain_text("You")
    expect(page.locator(".msg.assistant").last).to_contain_text(f"echo: {SENT}")
    page.screenshot(path=str(ARTIFACTS / "webchat-injected-origin.png"), full_page=True)

    open_session(page, gateway, REMINDERS)
    reminder = page.locator(".msg.user", has_text=REMINDER)
    expect(reminder).to_have_count(1, timeout=WAIT_MS)
    expect(reminder).to_have_class("msg user injected")
    expect(reminder.locator(".origin")).to_have_text("From reminder (scheduled job #1): ")
    expect(reminder).not_to_contain_text("You")
    assert errors == []
