"""The web chat in headless Chromium (Debian's /usr/bin/chromium, driven by Playwright) against a
real `manage.py gateway` and the fake model: log in, streamed Markdown with a code block and
tool activity, an exec approval, abort, a dropped socket mid-answer, sessions, a phone screen.

Screenshots go to test-artifacts/ (kept by CI)."""

import contextlib
import sqlite3

import pytest
from playwright.sync_api import Browser, Page, expect

from agents.models import Agent
from tests.conftest import GatewayFactory
from tests.fakes.openai_server import FakeOpenAI, Hang, Text, ToolCall, ToolCalls
from tests.gateway_process import TOKEN, Gateway
from tests.webchat.conftest import ARTIFACTS

pytestmark = [pytest.mark.e2e]

WAIT_MS = 15_000

MARKDOWN = [
    "## Result\n\n",
    "Here is **bold**, `inline code`, a [safe link](https://example.com/docs) ",
    "and a [bad link](javascript:alert(1)).\n\n",
    "- first item\n- second item\n\n",
    "```python\nprint('hi')\n",
    "```\n\n",
    '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">\n',
]
COUNT = [f"w{i} " for i in range(60)]


def enable_exec(gateway: Gateway) -> None:
    """The default agent may run shell commands, each approved by an operator (set in the
    gateway's SQLite database before it starts: a `manage.py shell` costs seconds)."""
    meta = Agent._meta
    columns = [meta.get_field(name).column for name in ("exec_enabled", "exec_approval", "slug")]  # type: ignore[union-attr]  # plain fields
    with contextlib.closing(sqlite3.connect(gateway.home / "openclaw.sqlite3")) as db, db:
        changed = db.execute(
            f"UPDATE {meta.db_table} SET {columns[0]} = 1, {columns[1]} = 1 WHERE {columns[2]} = ?",  # noqa: S608  # names from the model
            ("main",),
        ).rowcount
    assert changed == 1


def send(page: Page, text: str) -> None:
    page.locator("#input").fill(text)
    page.locator("#input").press("Enter")


def last_answer(page: Page):  # type: ignore[no-untyped-def]  # a Playwright Locator
    return page.locator(".msg.assistant").last


def test_web_chat_end_to_end(
    gateway_factory: GatewayFactory, fake_openai: FakeOpenAI, browser: Browser
) -> None:
    gateway = gateway_factory(start=False)
    enable_exec(gateway)
    gateway.start()
    fake_openai.script(
        ToolCalls(
            [
                ToolCall("read_file", '{"path": "SOUL.md"}'),
                ToolCall("exec", '{"command": "echo approved-run"}'),
            ],
            content=["Let me look. "],
        ),
        Text(MARKDOWN, chunk_delay=0.05),
        Hang(partial=["Thinking ", "hard "]),
        Text(COUNT, chunk_delay=0.05),
    )
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=gateway.url)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    # Log in: without a token the page asks for one.
    page.goto(gateway.url + "/")
    expect(page.locator("#token-form")).to_be_visible()
    page.locator("#token-input").fill(TOKEN)
    page.locator("#token-form button[type=submit]").click()
    expect(page.locator("#status")).to_have_attribute("data-state", "connected", timeout=WAIT_MS)

    # Keyboard: Shift+Enter is a new line, Enter sends.
    page.locator("#input").press("a")
    page.locator("#input").press("Shift+Enter")
    page.locator("#input").press("b")
    assert page.locator("#input").input_value() == "a\nb"

    # Tool activity while it runs, and the exec approval prompt.
    send(page, "Show me Markdown")
    answer = last_answer(page)
    approval = answer.locator(".approval")
    expect(approval).to_be_visible(timeout=WAIT_MS)
    expect(approval.locator(".approval-command")).to_have_text("echo approved-run")
    running = answer.locator('.tool[data-status="running"]')
    expect(running).to_have_count(1)
    expect(running.locator(".tool-name")).to_have_text("exec")
    assert running.evaluate("node => node.open") is True  # shown while it runs
    approval.locator("button.approve").click()
    expect(approval).to_have_attribute("data-status", "approved", timeout=WAIT_MS)

    # The streamed answer, rendered: a code block, safe links, model HTML shown as text.
    expect(answer).not_to_have_attribute("data-state", "streaming", timeout=WAIT_MS)
    body = answer.locator(".body")
    expect(body.locator("pre code")).to_have_text("print('hi')")
    expect(body.locator(".md-h")).to_have_text("Result")
    expect(body.locator("strong")).to_have_text("bold")
    expect(body.locator("li")).to_have_count(2)
    expect(body.locator("a")).to_have_count(1)
    expect(body.locator("a")).to_have_attribute("href", "https://example.com/docs")
    expect(body).to_contain_text("[bad link](javascript:alert(1))")
    expect(body).to_contain_text("<script>window.__pwned = 1</script>")
    assert body.locator("script, img").count() == 0
    assert page.evaluate("window.__pwned") is None
    tools = answer.locator(".tool")
    expect(tools).to_have_count(2)
    expect(tools.locator(".tool-name")).to_have_text(["read_file", "exec"])
    expect(answer.locator('.tool[data-status="done"]')).to_have_count(2)
    assert tools.evaluate_all("nodes => nodes.map(n => n.open)") == [False, False]  # folded
    answer.locator(".tool").nth(1).locator("summary").click()
    expect(answer.locator(".tool").nth(1).locator(".tool-result")).to_contain_text("approved-run")
    body.locator("button.copy").click()
    expect(body.locator("button.copy")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == "print('hi')"
    page.screenshot(path=str(ARTIFACTS / "webchat-desktop.png"), full_page=True)

    # Abort: Stop ends the answer, keeping what was written.
    send(page, "Think hard")
    answer = last_answer(page)
    expect(answer.locator(".body")).to_have_text("Thinking hard", timeout=WAIT_MS)
    expect(page.locator("#stop")).to_be_visible()
    page.locator("#stop").click()
    expect(answer).to_have_attribute("data-stop", "aborted", timeout=WAIT_MS)
    expect(page.locator("#stop")).to_be_hidden()

    # A dropped socket mid-answer: the page re-attaches and shows the whole answer, once.
    send(page, "Count")
    expect(last_answer(page).locator(".body")).to_contain_text("w3", timeout=WAIT_MS)
    page.evaluate("window.openclawChat.socket.close()")
    expect(page.locator("#status")).not_to_have_attribute("data-state", "connected")
    expect(page.locator("#status")).to_have_attribute("data-state", "connected", timeout=WAIT_MS)
    answer = last_answer(page)
    expect(answer).not_to_have_attribute("data-state", "streaming", timeout=WAIT_MS)
    expect(answer.locator(".body")).to_have_text("".join(COUNT).strip())
    expect(page.locator(".msg.user")).to_have_count(3)
    expect(page.locator(".msg.assistant")).to_have_count(3)

    # A message written while the socket is down is sent once it is back (idempotency key).
    page.evaluate("window.openclawChat.socket.close()")
    send(page, "sent while offline")
    expect(last_answer(page).locator(".body")).to_have_text(
        "echo: sent while offline", timeout=WAIT_MS
    )
    expect(page.locator(".msg.user", has_text="sent while offline")).to_have_count(1)

    # A new chat appears in the session list; the old one is still there with its history.
    page.locator("#new-chat").click()
    assert "session=agent%3Amain%3Aweb-" in page.url
    expect(page.locator(".msg")).to_have_count(0)
    send(page, "hello there")
    expect(last_answer(page).locator(".body")).to_have_text("echo: hello there", timeout=WAIT_MS)
    current = page.locator('.session[aria-current="page"] .session-title')
    expect(current).to_have_text("hello there", timeout=WAIT_MS)
    expect(page.locator(".session")).to_have_count(2)
    page.locator('.session[data-key="agent:main:main"]').click()
    expect(page.locator(".msg.user")).to_have_count(4, timeout=WAIT_MS)
    expect(page.locator(".msg.assistant .body pre code")).to_have_text("print('hi')")
    expect(page.locator(".msg.assistant").first.locator(".tool")).to_have_count(2)

    # /new restarts the session: an empty conversation, the old transcript kept on disk.
    send(page, "/new")
    expect(page.locator(".msg.notice")).to_contain_text("Started a new session", timeout=WAIT_MS)
    expect(page.locator(".msg.user, .msg.assistant")).to_have_count(0)
    assert errors == []
    context.close()

    on_a_phone(browser, gateway, fake_openai)


def on_a_phone(browser: Browser, gateway: Gateway, fake_openai: FakeOpenAI) -> None:
    """A 390x844 screen: the composer stays visible, the session list slides in."""
    fake_openai.script(Text(["Short answer with `code`.\n\n", "```\nls -la\n```"]))
    context = browser.new_context(
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    page = context.new_page()
    page.goto(f"{gateway.url}/?session=agent:main:phone#token={TOKEN}")
    expect(page.locator("#status")).to_have_attribute("data-state", "connected", timeout=WAIT_MS)
    assert "token" not in page.url  # taken out of the address bar at once
    send(page, "Hi from a phone")
    expect(last_answer(page).locator("pre code")).to_have_text("ls -la", timeout=WAIT_MS)

    # The composer stays on screen, the session list is folded away behind the menu button.
    box = page.locator("#input").bounding_box()
    assert box is not None and box["y"] + box["height"] <= 844 and box["width"] > 200
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scroll
    expect(page.locator("#menu")).to_be_visible()
    assert not page.locator("#sidebar").evaluate("n => n.getBoundingClientRect().right > 0")
    page.screenshot(path=str(ARTIFACTS / "webchat-phone.png"))
    page.locator("#menu").click()
    expect(page.locator("#menu")).to_have_attribute("aria-expanded", "true")
    expect(page.locator('.session[aria-current="page"]')).to_be_in_viewport()
    # The drawer slides in (0.2 s): wait until it is all on screen, not half-way.
    page.wait_for_function(
        "() => { const r = document.getElementById('sidebar').getBoundingClientRect();"
        " return r.left === 0 && r.right <= innerWidth; }",
        timeout=WAIT_MS,
    )
    expect(page.locator("#sidebar .brand")).to_be_in_viewport(ratio=1)
    expect(page.locator('.session[aria-current="page"]')).to_be_in_viewport(ratio=1)
    page.screenshot(path=str(ARTIFACTS / "webchat-phone-sessions.png"))
    page.locator("#scrim").click(position={"x": 370, "y": 400})
    expect(page.locator("#menu")).to_have_attribute("aria-expanded", "false")
    context.close()
